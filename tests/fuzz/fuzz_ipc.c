/* libFuzzer: the parent <-> engine message parser. */
#include <stdint.h>
#include <stdlib.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg msg;
	uint8_t fixed[16];

	if (ipc_parse(data, size, &msg) == 0) {
		if (msg.len + sizeof(struct ipc_hdr) != size || msg.payload != data + sizeof(struct ipc_hdr))
			abort();
		(void)ipc_payload_fixed(&msg, fixed, sizeof(fixed));
	}
	return 0;
}
