"""A model of the kernel's mh scheduler (net/netfilter/ipvs/ip_vs_mh.c,
Linux 4.18 to 6.x), for tests/vm/33-director-mh-stable.sh: which real
server a new flow gets for a given list of destinations, so that the test
can check the model against the real IPVS and then pick the flows that
show a difference (the kernel's table differs in a few of its 4093 slots).

The kernel: hash keys are constants (generate_hash_secret), hashes are
hsiphash of the u32 offset + port + address (host order), which on 64-bit
is SipHash-1-3 truncated to 32 bits; each destination has an offset and a
skip in the table; the table is filled by walking the destinations in the
order of the kernel's list (the newest first), each taking its next free
preferred slot, weight/gcd turns each; a flow's slot is the hash of its
client address and (mh-port) port.

  mh_model.py map CLIENT DESTS PORT...
      "PORT DEST" for each client port; DESTS = A:P,A:P,... in list order
  mh_model.py differ CLIENT DESTS_A DESTS_B FROM COUNT [SKIP]
      the first COUNT ports from FROM on whose server differs between the
      two lists (and is not SKIP under DESTS_A): "PORT DEST_A DEST_B"
All weights are 1.
"""
import struct
import sys

M64 = (1 << 64) - 1
TABLE = 4093                     # primes[CONFIG_IP_VS_MH_TAB_INDEX (12) - 8]
HASH1 = (2654435761, 2654435761)
HASH2 = (2654446892, 2654446892)


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def sipround(v):
    v0, v1, v2, v3 = v
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    return [v0, v1, v2, v3]


def hsiphash4(word, key):
    """hsiphash() of 4 bytes on a 64-bit kernel: SipHash-1-3, low 32 bits."""
    k0, k1 = key
    v = [0x736f6d6570736575 ^ k0, 0x646f72616e646f6d ^ k1,
         0x6c7967656e657261 ^ k0, 0x7465646279746573 ^ k1]
    b = (4 << 56) | word
    v[3] ^= b
    v = sipround(v)
    v[0] ^= b
    v[2] ^= 0xff
    for _ in range(3):
        v = sipround(v)
    return (v[0] ^ v[1] ^ v[2] ^ v[3]) & 0xffffffff


def hashkey(addr, port, key, offset=0):
    a = struct.unpack(">I", bytes(int(x) for x in addr.split(".")))[0]
    return hsiphash4((offset + port + a) & 0xffffffff, key)


def table(dests):
    """The lookup table of destinations ("A:P" in the kernel's list order)."""
    setup = []
    for d in dests:
        a, p = d.rsplit(":", 1)
        off = hashkey(a, int(p), HASH1) % TABLE
        setup.append([off, hashkey(a, int(p), HASH2) % (TABLE - 1) + 1])
    slots, n = [None] * TABLE, 0
    while n < TABLE:
        for i, s in enumerate(setup):
            while slots[s[0]] is not None:
                s[0] = (s[0] + s[1]) % TABLE
            slots[s[0]] = dests[i]
            n += 1
            if n == TABLE:
                break
    return slots


def server(slots, client, port):
    return slots[hashkey(client, port, HASH1) % TABLE]


def main(argv):
    if argv[1] == "map":
        slots = table(argv[3].split(","))
        for p in argv[4:]:
            print(p, server(slots, argv[2], int(p)))
    elif argv[1] == "differ":
        a, b = table(argv[3].split(",")), table(argv[4].split(","))
        port, left, skip = int(argv[5]), int(argv[6]), (argv[7] if len(argv) > 7 else None)
        while left > 0 and port < 65536:
            sa, sb = server(a, argv[2], port), server(b, argv[2], port)
            if sa != sb and sa != skip:
                print(port, sa, sb)
                left -= 1
            port += 1
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
