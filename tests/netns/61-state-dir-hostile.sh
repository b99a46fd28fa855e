#!/usr/bin/env bash
# What rs-agent's unprivileged user can plant in its state directory gains
# it nothing from root: symbolic links, FIFOs and hard links to root's files,
# and forged `applied` records, in the old layout (state_dir given to that
# user) and in admin.d/ of the new one. Then root runs apply, run, drain and
# remove: no file outside the state directory changes owner, mode or
# content, no foreign address or sysctl is touched, each command says what
# it refused, none hangs.
. "$(dirname "$0")/lib.sh"

ns_new rs
NS=$NS_rs
conf=$TMP/rs.ini
write_rs_config "$conf" rs "198.18.0.10" "[agent]" "enabled = no"
user=$(awk -F' *= *' '$1 == "user" { print $2; exit }' "$conf")
user=${user:-dsrkit}	# the default: global.user unset
uid=$(id -u "$user") gid=$(id -g "$user")
state=$TMP/rs/state

# Someone else's address, on someone else's interface, with its own ARP settings.
in_ns "$NS" ip link add fx0 type veth peer name fx1
in_ns "$NS" ip link set fx0 up
in_ns "$NS" ip addr add 192.0.2.99/32 dev fx0
foreign_sysctls() {
	echo 2 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/fx0/arp_ignore >/dev/null
	echo 1 | in_ns "$NS" tee /proc/sys/net/ipv4/conf/fx0/arp_announce >/dev/null
}
foreign_sysctls

# Root's files outside the state directory. The 0666 one is there because
# fs.protected_hardlinks lets a user hard-link only files it may write.
canary_ro=$TMP/canary-ro canary_rw=$TMP/canary-rw canary_applied=$TMP/canary-applied
echo "root's own" >"$canary_ro"
chmod 644 "$canary_ro"
echo "root's, writable" >"$canary_rw"
chmod 666 "$canary_rw"
printf 'vip-interface lo\n' >"$canary_applied"	# parses as an applied file
chmod 644 "$canary_applied"
snapshot() {
	local f
	for f in "$canary_ro" "$canary_rw" "$canary_applied"; do
		stat -c '%n %u:%g %a %s' "$f"
		md5sum <"$f"
	done
}
BEFORE=$(snapshot)

as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"; }

# The layout before admin.d: state_dir belonged to the daemon user.
old_layout() {
	rm -rf "$state"
	mkdir -m 755 "$state"
	chown "$uid:$gid" "$state"
}

plant() {	# plant KIND DIR NAME...: as the user, at DIR/NAME
	local kind=$1 dir=$2 name
	shift 2
	for name; do
		case $kind in
		symlink) as_user ln -s "$([ "$name" = applied ] && echo "$canary_applied" || echo "$canary_ro")" "$dir/$name" ;;
		fifo) as_user mkfifo "$dir/$name" ;;
		hardlink) as_user ln "$canary_rw" "$dir/$name" ;;
		esac || return 1
	done
}

# cmd NAME...: one-shot command, bounded; output in OUT, exit code in RC.
cmd() { OUT=$(timeout 10 ip netns exec "$NS" "$RS_AGENT" -f "$conf" "$@" 2>&1); RC=$?; }

# daemon: `run` until it answers status (bounded), then stop it; its log in OUT.
daemon() {
	local log=$TMP/run.$RANDOM.log
	bg_in "$NS" "$log" timeout 20 "$RS_AGENT" -f "$conf" run
	if wait_until 10 in_ns "$NS" "$RS_AGENT" -f "$conf" status; then RC=0; else RC=124; fi
	stop_agent "$LAST_PID"
	OUT=$(cat "$log")
}

unchanged() { [ "$(snapshot)" = "$BEFORE" ]; }
root_owned_dir() { [ "$(stat -c '%u %a' "$state")" = "0 755" ]; }

refusal_of() {
	case $1 in
	symlink) echo "a symbolic link: refused" ;;
	fifo) echo "not a regular file" ;;
	hardlink) echo "has other hard links" ;;
	esac
}

# ---- the old layout: each command meets the planted files first ----
for kind in symlink fifo hardlink; do
	for c in apply run drain remove; do
		old_layout
		plant "$kind" "$state" admin applied || { fail "$kind: the user plants them"; continue; }
		if [ "$c" = run ]; then daemon; else cmd "$c"; fi
		what="old layout, $kind at admin and applied: $c"
		check "$what does not hang" [ "$RC" != 124 ]
		check "$what exits 0" [ "$RC" = 0 ]
		check "$what: root's files untouched" unchanged
		check "$what: state_dir taken over (root's, 0755)" root_owned_dir
		check "$what says applied is not trusted" grep -q "applied: another user could have written it: not trusted" <<<"$OUT"
		check "$what says what it made of admin" grep -qE "admin: ($(refusal_of "$kind")|moved to)" <<<"$OUT"
		[ "$RC" = 0 ] || echo "$OUT"
	done
done

# ---- the new layout: the user cannot write state_dir, only admin.d ----
cmd apply
check "apply into a fresh layout" [ "$RC" = 0 ]
check "admin.d belongs to $user" [ "$(stat -c %u "$state/admin.d")" = "$uid" ]
check "applied is root's, 0644" [ "$(stat -c '%u %a %h' "$state/applied")" = "0 644 1" ]
check "the user cannot replace applied" bash -c "! setpriv --reuid=$uid --regid=$gid --clear-groups -- ln -sf $canary_applied $state/applied 2>/dev/null"
check "the user cannot add to state_dir" bash -c "! setpriv --reuid=$uid --regid=$gid --clear-groups -- touch $state/x 2>/dev/null"
for kind in symlink fifo hardlink; do
	rm -f "$state/admin.d/admin"
	plant "$kind" "$state/admin.d" admin || { fail "$kind: the user plants them in admin.d"; continue; }
	daemon
	what="admin.d/admin a $kind: run"
	check "$what does not hang" [ "$RC" != 124 ]
	check "$what refuses it" grep -q "admin.d/admin: $(refusal_of "$kind")" <<<"$OUT"
	check "$what: root's files untouched" unchanged
	as_user rm -f "$state/admin.d/admin"
	plant "$kind" "$state/admin.d" admin
	cmd drain
	what="admin.d/admin a $kind: drain"
	check "$what does not hang" [ "$RC" != 124 ]
	check "$what saves the admin state" grep -q "saved" <<<"$OUT"
	check "$what replaces it with a regular file" bash -c "[ -f $state/admin.d/admin ] && [ ! -L $state/admin.d/admin ] && [ \$(stat -c %h $state/admin.d/admin) = 1 ]"
	check "$what: root's files untouched" unchanged
	cmd ready
done
cmd remove
check "remove in the new layout" [ "$RC" = 0 ]

# ---- forged records: nothing foreign is removed or reset ----
forge() {
	old_layout
	as_user sh -c "printf 'vip-interface fx0\nvip 192.0.2.99/32\nsysctl fx0 0 0\nsysctl all 0 0\n' >$state/applied"
}
foreign_untouched() {
	ip -n "$NS" -4 addr show dev fx0 | grep -q 'inet 192.0.2.99/32' &&
		[ "$(sysctl_in "$NS" fx0 arp_ignore) $(sysctl_in "$NS" fx0 arp_announce)" = "2 1" ]
}
foreign_sysctls
forge
cmd remove
check "forged applied (old layout): remove exits 0" [ "$RC" = 0 ]
check "forged applied (old layout): remove says it is not trusted" grep -q "not trusted, moved to" <<<"$OUT"
check "forged applied: remove leaves 192.0.2.99/32 on fx0 and fx0's ARP settings alone" foreign_untouched
# apply sets ARP on every interface; remove must put fx0 back to its own
# values, not to the forged ones.
foreign_sysctls
forge
cmd apply
check "forged applied (old layout): apply exits 0" [ "$RC" = 0 ]
check "forged applied (old layout): apply says it is not trusted" grep -q "not trusted, moved to" <<<"$OUT"
cmd remove
check "forged applied: remove after apply exits 0" [ "$RC" = 0 ]
check "forged applied: after apply and remove, fx0 has its own address and ARP settings" foreign_untouched

# A root-owned record naming an address rs-agent did not label: left alone.
foreign_sysctls
printf 'vip-interface fx0\nvip 192.0.2.99/32 fx0\n' >"$state/applied"
chmod 644 "$state/applied"
cmd remove
check "a record of an unlabelled address: remove exits 0" [ "$RC" = 0 ]
check "a record of an unlabelled address: remove says it left it alone" \
	grep -q "vip 192.0.2.99 on fx0 left alone: recorded label 'fx0' is not one rs-agent sets" <<<"$OUT"
check "a record of an unlabelled address: still on fx0" bash -c "ip -n $NS -4 addr show dev fx0 | grep -q 'inet 192.0.2.99/32'"

# A malformed record: refused whole, with FILE:LINE, nothing done.
printf 'vip-interface fx0\nvip 192.0.2.99/32 fx0:dsr\nsysctl fx0 0\n' >"$state/applied"
cmd remove
check "a malformed record: remove exits 1" [ "$RC" = 1 ]
check "a malformed record: refused naming FILE:LINE" grep -q "$state/applied:3: not a line rs-agent writes" <<<"$OUT"
check "a malformed record: 192.0.2.99/32 still on fx0" bash -c "ip -n $NS -4 addr show dev fx0 | grep -q 'inet 192.0.2.99/32'"
check "a malformed record: fx0's sysctls untouched" \
	[ "$(sysctl_in "$NS" fx0 arp_ignore) $(sysctl_in "$NS" fx0 arp_announce)" = "2 1" ]
rm -rf "$state"
check "root's files outside the state directory: owner, mode, content and link count as before" \
	[ "$(stat -c %h "$canary_ro" "$canary_rw" "$canary_applied" | tr '\n' ' ')" = "1 1 1 " ]
finish
