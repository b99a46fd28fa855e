/* See risefall.h. */
#include <limits.h>

#include "risefall.h"

bool risefall_record(struct risefall *rf, bool pass, unsigned rise, unsigned fall)
{
	bool was_up = rf->up;

	if (rf->known && rf->last_pass == pass)
		rf->in_row += rf->in_row < UINT_MAX;
	else
		rf->in_row = 1;
	rf->last_pass = pass;
	if (!rf->known) {
		rf->known = true;
		rf->up = pass;
		return true;
	}
	if (!rf->up && pass && rf->in_row >= (rise ? rise : 1))
		rf->up = true;
	else if (rf->up && !pass && rf->in_row >= (fall ? fall : 1))
		rf->up = false;
	return rf->up != was_up;
}
