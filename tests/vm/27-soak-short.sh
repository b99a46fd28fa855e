#!/usr/bin/env bash
# The soak of tests/soak/soak.sh, two minutes of faults (make check): two
# directors, two real servers with rs-agent, a client with streams and
# requests, a random schedule of faults drawn from a seed that is printed
# (replay: tests/vm/vm.sh -e SOAK_SEED=N tests/vm/27-soak-short.sh).
# The whole run, boot included, takes about four minutes under TCG.
# SOAK_* settings passed with vm.sh -e are honoured.
export SOAK_SECONDS=${SOAK_SECONDS:-120}
exec bash "$(dirname "$0")/../soak/soak.sh"
