# Shared helpers for the root tests. Each test script sources this file,
# creates its namespaces with ns_new, and leaves cleanup to the EXIT trap:
# processes started with bg_in are killed, namespaces and temp files removed,
# on every exit path. Addresses: 198.18.0.0/15, 192.0.2.0/24, 2001:db8::/32.
set -u

BUILD=${BUILD:?BUILD must point at the build directory}
# shellcheck source=../dsrkit-user.sh
. "$(dirname "${BASH_SOURCE[0]}")/../dsrkit-user.sh"
# The daemons' configurations here leave `user` at its default, dsrkit.
ensure_dsrkit_user || { echo "FAIL $(basename "$0" .sh): no system user dsrkit to run the daemons as"; exit 1; }
RS_AGENT=$BUILD/rs-agent
TOOLS=$BUILD/tools
TEST_ID="dsrt$$"
TMP=$(mktemp -d /tmp/dsrkit-test.XXXXXX)
chmod 755 "$TMP"		# the daemon's unprivileged user must reach its state dir
NAMESPACES=()
BG_PIDS=()
FAILED=0

cleanup() {
	local pid ns
	for pid in "${BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${NAMESPACES[@]}"; do
		# Anything still running inside goes with the namespace.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
skip() { echo "SKIP $*"; }

# ns_new SHORT -> creates "$TEST_ID-SHORT", prints nothing; name in NS_<SHORT>
ns_new() {
	local name="$TEST_ID-$1"
	ip netns add "$name" || { echo "FAIL creating namespace $name"; exit 1; }
	NAMESPACES+=("$name")
	ip -n "$name" link set lo up
	printf -v "NS_$1" '%s' "$name"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# link_pair NS1 ADDR1/LEN NS2 ADDR2/LEN: a veth pair named eth0 on both
# sides, addressed and up.
link_pair() {
	local ns1=$1 a1=$2 ns2=$3 a2=$4 tmp1="v$TEST_ID" tmp2="w$TEST_ID"
	ip link add "$tmp1" type veth peer name "$tmp2"
	ip link set "$tmp1" netns "$ns1"
	ip link set "$tmp2" netns "$ns2"
	in_ns "$ns1" ip link set "$tmp1" name eth0
	in_ns "$ns2" ip link set "$tmp2" name eth0
	in_ns "$ns1" ip addr add "$a1" dev eth0
	in_ns "$ns2" ip addr add "$a2" dev eth0
	in_ns "$ns1" ip link set eth0 up
	in_ns "$ns2" ip link set eth0 up
}

# bg_in NS LOGFILE cmd... : start in background, remember the pid.
bg_in() {
	local ns=$1 log=$2; shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	BG_PIDS+=($!)
	LAST_PID=$!
}

# wait_until SECONDS cmd... : poll every 50 ms, bounded by time.
wait_until() {
	local limit=$1; shift
	local tries=$((limit * 20)) i
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# check DESCRIPTION cmd... : PASS when the command succeeds.
check() {
	local desc=$1; shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

sysctl_in() { in_ns "$1" cat "/proc/sys/net/ipv4/conf/$2/$3"; }

# write_rs_config FILE NS VIPS [extra ini text...]: a config whose state,
# socket and pid file live in this test's temp dir.
write_rs_config() {
	local file=$1 tag=$2 vips=$3; shift 3
	mkdir -p "$TMP/$tag"
	chmod 755 "$TMP/$tag"
	{
		echo "[global]"
		echo "vips = $vips"
		echo "state_dir = $TMP/$tag/state"
		echo "control_socket = $TMP/$tag/ctl.sock"
		echo "pid_file = $TMP/$tag/rs-agent.pid"
		printf '%s\n' "$@"
	} >"$file"
	chmod 644 "$file"
}

# start_agent NS CONFIG LOG: run the daemon in NS, wait for its control socket.
start_agent() {
	local ns=$1 conf=$2 log=$3
	bg_in "$ns" "$log" "$RS_AGENT" -f "$conf" run
	AGENT_PID=$LAST_PID
	if ! wait_until 10 in_ns "$ns" "$RS_AGENT" -f "$conf" status; then
		echo "rs-agent did not start:"; cat "$log"
		return 1
	fi
}

stop_agent() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	return 1
}

finish() { exit $FAILED; }
