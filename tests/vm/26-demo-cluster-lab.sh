#!/usr/bin/env bash
# The lab of `make demo` (tests/demo/cluster-lab.sh), run by make check as
# well: the README's main command must keep working.
exec bash "$(dirname "$0")/../demo/cluster-lab.sh"
