#!/usr/bin/env bash
# Run a script as root inside a small qemu VM whose kernel has IPVS.
#
#   tests/vm/vm.sh [-b BUILD_DIR] [-t TIMEOUT_S] [-c CPUS] [-e NAME=VALUE]... [-v]
#                  SCRIPT [ARGS...]
#   tests/vm/vm.sh [-b BUILD_DIR] --prepare
#
# The VM runs Debian's linux-image-amd64 kernel with an initramfs of
# busybox-static (tests/vm/init is its /init), sees the host's root file
# system read-only over 9p, and runs `bash SCRIPT ARGS...` chrooted into it,
# with cwd = this repository, tmpfs on /tmp, /run and /var/tmp, this
# repository and BUILD_DIR mounted read-only at their own paths (so a
# checkout under /tmp or /var/tmp works too), and in the
# environment BUILD=<absolute build dir>, DSRKIT_VM=1 and each -e NAME=VALUE
# (nothing else of the caller's environment). SCRIPT's output (stdout and
# stderr) is printed live on stdout; -v adds the timings on stderr.
# -t bounds the whole VM run (default 600 s); -c sets the vCPUs (default 1,
# as fast as 2 under TCG here; also VM_CPUS), VM_MEM the MiB (default 1024).
# Kernel, modules and initramfs are cached in BUILD_DIR/vm (default build/vm)
# and rebuilt only when missing or when the kernel (or busybox) package
# version, the init or the module list changes. Missing host tools are
# installed with apt-get when running as root. Details: tests/vm/README.md.
#
# Exit status: SCRIPT's own, or
#   125  the VM failed: could not be built or booted, timed out, or never
#        reported SCRIPT's status
#    77  the VM cannot run on this machine (tools missing and not installable);
#        the reason is the last line on stderr
#     2  usage error
# --prepare only installs what is missing and builds the cache (0, 77 or 125).
set -u

EXIT_VMFAIL=125
EXIT_CANNOT=77
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# Host packages: qemu runs the VM, kmod orders modules (depmod, modprobe
# --show-depends), cpio packs the initramfs; the rest is what tests/vm/*.sh
# use inside the VM (it runs the host's root file system).
VM_HOST_DEPS="qemu-system-x86 kmod cpio ipvsadm iproute2 python3 procps"
# Loaded by /init in this order with their dependencies; names this kernel
# lacks (or has built in) are skipped. crc32c_generic must precede libcrc32c.
VM_MODULES="virtio_pci virtio_rng 9pnet_virtio 9p
crc32c_generic crc32c_intel libcrc32c nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack
ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_twos
veth bridge macvlan sch_netem ipip dummy"
VM_MEM=${VM_MEM:-1024}

build=build
timeout_s=600
cpus=${VM_CPUS:-1}
verbose=0
prepare_only=0
envs=()

usage() {
	sed -n '2,/^set -u/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}
say() { echo "vm.sh: $*" >&2; }
cannot() { say "$*"; exit $EXIT_CANNOT; }
vmfail() { say "$*"; exit $EXIT_VMFAIL; }

while [ $# -gt 0 ]; do
	case $1 in
	-b) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	-t) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
	-c) [ $# -ge 2 ] || usage; cpus=$2; shift 2 ;;
	-e) [ $# -ge 2 ] || usage
		case $2 in [A-Za-z_]*=*) ;; *) usage ;; esac
		envs+=("$2"); shift 2 ;;
	-v) verbose=1; shift ;;
	--prepare) prepare_only=1; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $timeout_s in ''|*[!0-9]*) usage ;; esac
case $cpus in ''|*[!0-9]*) usage ;; esac
if [ $prepare_only = 0 ]; then
	[ $# -ge 1 ] || usage
	script=$1; shift
	[ -f "$script" ] || { say "no such script: $script"; exit 2; }
	script=$(cd "$(dirname "$script")" && pwd)/$(basename "$script")
fi
case $build in /*) ;; *) build=$repo/$build ;; esac
mkdir -p "$build/vm" || vmfail "cannot create $build/vm"
build=$(cd "$build" && pwd)
vmdir=$build/vm
case $vmdir$repo in *"'"*|*$'\n'*) vmfail "the repository and build directory paths must not contain a single quote or a newline" ;; esac
# The VM mounts the repository, and the build directory when it is not
# inside it, at the same paths as here: the VM's own tmpfs on /tmp, /run and
# /var/tmp would hide a checkout there, and a parent directory of mode 0700
# (under /root) does not matter to the 9p share of the checkout itself.
case $build/ in "$repo"/*) build_share="" ;; *) build_share=$build ;; esac

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# Same policy as the Makefile's apt-install: try, then update and retry.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; }
}

ensure_host_deps() {
	local p missing=""
	command -v dpkg-query >/dev/null 2>&1 || cannot "not a Debian system (no dpkg-query)"
	for p in $VM_HOST_DEPS; do installed "$p" || missing="$missing $p"; done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || cannot "missing Debian packages:$missing (run as root to install them)"
	say "installing Debian packages:$missing"
	# shellcheck disable=SC2086
	apt_install $missing || cannot "could not install Debian packages:$missing"
}

# download_deb PKG VERSION: apt-get download into $vmdir, print the file name.
download_deb() {
	local pkg=$1 ver=$2 f
	rm -f "$vmdir/${pkg}"_*.deb
	(cd "$vmdir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null 2>&1) ||
		{ apt-get update -q >/dev/null 2>&1 &&
			(cd "$vmdir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null 2>&1); } ||
		return 1
	f=$(ls "$vmdir/${pkg}"_*.deb 2>/dev/null | head -1)
	[ -n "$f" ] && echo "$f"
}

# candidate_version PKG: the version apt would install ("" when unknown).
candidate_version() {
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

# The concrete kernel package behind the linux-image-amd64 metapackage.
kernel_package() {
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\) (= \([^)]*\)).*/\1 \2/p' | head -1
}

prepare_kernel() {
	local kp pkg ver key deb kver
	kp=$(kernel_package)
	[ -n "$kp" ] || { apt-get update -q >/dev/null 2>&1; kp=$(kernel_package); }
	if [ -z "$kp" ]; then
		if [ -f "$vmdir/kernel.stamp" ] && [ -d "$vmdir/kernel" ]; then
			say "apt knows no linux-image-amd64; using the cached $(head -1 "$vmdir/kernel.stamp")"
			return 1
		fi
		cannot "cannot resolve Debian's linux-image-amd64 (apt-get update failed?) and no kernel is cached"
	fi
	pkg=${kp% *}; ver=${kp#* }; key="$pkg=$ver"
	if [ -f "$vmdir/kernel.stamp" ] && [ "$(head -1 "$vmdir/kernel.stamp")" = "$key" ] && [ -d "$vmdir/kernel" ]; then
		return 0
	fi
	say "fetching $key"
	rm -f "$vmdir"/linux-image-*.deb
	deb=$(download_deb "$pkg" "$ver") || {
		if [ -d "$vmdir/kernel" ]; then say "cannot download $key; keeping the cached kernel"; return 1; fi
		cannot "cannot download $key"
	}
	rm -rf "$vmdir/kernel.new"
	dpkg -x "$deb" "$vmdir/kernel.new" || vmfail "dpkg -x $deb failed"
	kver=$(ls "$vmdir/kernel.new/lib/modules" | head -1)
	[ -n "$kver" ] && [ -f "$vmdir/kernel.new/boot/vmlinuz-$kver" ] || vmfail "$deb has no kernel image"
	depmod -b "$vmdir/kernel.new" "$kver" || vmfail "depmod failed"
	rm -rf "$vmdir/kernel"
	mv "$vmdir/kernel.new" "$vmdir/kernel"
	printf '%s\n%s\n' "$key" "$kver" >"$vmdir/kernel.stamp"
}

prepare_busybox() {
	local ver deb
	ver=$(candidate_version busybox-static)
	if [ -f "$vmdir/busybox.stamp" ] && [ -x "$vmdir/busybox" ] &&
		{ [ -z "$ver" ] || [ "$(cat "$vmdir/busybox.stamp")" = "$ver" ]; }; then
		return 0
	fi
	[ -n "$ver" ] || cannot "apt knows no busybox-static and none is cached"
	say "fetching busybox-static=$ver"
	deb=$(download_deb busybox-static "$ver") || {
		if [ -x "$vmdir/busybox" ]; then say "cannot download busybox-static=$ver; keeping the cached one"; return 1; fi
		cannot "cannot download busybox-static=$ver"
	}
	rm -rf "$vmdir/busybox.x"
	dpkg -x "$deb" "$vmdir/busybox.x" || vmfail "dpkg -x $deb failed"
	install -m 755 "$vmdir/busybox.x/bin/busybox" "$vmdir/busybox" || vmfail "no bin/busybox in $deb"
	rm -rf "$vmdir/busybox.x" "$deb"
	echo "$ver" >"$vmdir/busybox.stamp"
}

prepare_initramfs() {
	local kver key work m f line
	kver=$(sed -n 2p "$vmdir/kernel.stamp")
	key="$(head -1 "$vmdir/kernel.stamp") busybox=$(cat "$vmdir/busybox.stamp") $(cat "$here/init" | md5sum | cut -c1-12) $(echo "$VM_MODULES" | md5sum | cut -c1-12)"
	if [ -f "$vmdir/initramfs.stamp" ] && [ "$(cat "$vmdir/initramfs.stamp")" = "$key" ] && [ -f "$vmdir/initramfs.img" ]; then
		return 0
	fi
	say "building the initramfs for $kver"
	work=$(mktemp -d /tmp/dsrkit-vm-initramfs.XXXXXX)
	mkdir -p "$work"/{bin,sbin,dev,proc,sys,newroot,lib/modules}
	cp "$vmdir/busybox" "$work/bin/busybox"
	cp "$here/init" "$work/init"
	chmod 755 "$work/init"
	: >"$work/modules.list"
	for m in $VM_MODULES; do
		if ! out=$(modprobe -d "$vmdir/kernel" -S "$kver" --show-depends "$m" 2>/dev/null); then
			[ $verbose = 1 ] && say "module $m: not in this kernel, skipped"
			continue
		fi
		while read -r line; do
			case $line in insmod\ *) ;; *) continue ;; esac
			f=${line#insmod }; f=${f%% *}
			[ -f "$work/lib/modules/$(basename "$f")" ] && continue
			cp "$f" "$work/lib/modules/" && basename "$f" >>"$work/modules.list"
		done <<<"$out"
	done
	(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) >"$vmdir/initramfs.img.new" ||
		{ rm -rf "$work"; vmfail "cpio failed"; }
	rm -rf "$work"
	mv "$vmdir/initramfs.img.new" "$vmdir/initramfs.img"
	echo "$key" >"$vmdir/initramfs.stamp"
}

# Asking apt for versions costs a second or two, so it is done again only
# when apt's package lists have changed since the last check.
apt_lists_sig() { stat -c '%Y %n' /var/lib/apt/lists /var/lib/apt/lists/*_Packages* 2>/dev/null | md5sum | cut -c1-16; }

prepare() {
	local sig fresh
	ensure_host_deps
	# One builder at a time per cache; concurrent runs wait here.
	exec 9>"$vmdir/.lock"
	flock -w 900 9 || vmfail "timed out waiting for the lock on $vmdir"
	sig=$(apt_lists_sig)
	if [ "$(cat "$vmdir/apt.stamp" 2>/dev/null)" != "$sig" ] || [ ! -f "$vmdir/kernel.stamp" ] ||
		[ ! -d "$vmdir/kernel" ] || [ ! -f "$vmdir/busybox.stamp" ] || [ ! -x "$vmdir/busybox" ]; then
		# When either had to keep a stale copy, ask apt again next time.
		fresh=1
		prepare_kernel || fresh=0
		prepare_busybox || fresh=0
		if [ $fresh = 1 ]; then
			apt_lists_sig >"$vmdir/apt.stamp"	# again: a download may have run apt-get update
		else
			rm -f "$vmdir/apt.stamp"
		fi
	fi
	prepare_initramfs
	exec 9>&-
}

prepare
[ $prepare_only = 1 ] && exit 0
# The tests' daemons run as dsrkit, which the VM's read-only root cannot
# gain: create it here first (as root; a test without it says so).
. "$repo/tests/dsrkit-user.sh"
[ "$(id -u)" = 0 ] && { ensure_dsrkit_user || say "no user dsrkit: tests that run the daemons will fail"; }
t_ready=$(elapsed "$t_start")

kver=$(sed -n 2p "$vmdir/kernel.stamp")
tmp=$(mktemp -d /tmp/dsrkit-vm.XXXXXX)
qpid=""
cleanup() {
	[ -n "$qpid" ] && kill -TERM "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

job=$tmp/job
mkdir -p "$job"
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf "NONCE='%s'\nKROOT='%s'\nREPO='%s'\nBUILDDIR='%s'\n" "$nonce" "$vmdir/kernel" "$repo" "$build_share" >"$job/env"
# /tmp, /run, /var/tmp, /dev, /proc and /sys are the VM's own: a script kept
# there on the host, outside the repository and the build directory, is
# copied into the job directory and run from the copy.
run_path=$script
case $script in
"$repo"/*|"${build_share:-/nonexistent}"/*) ;;
/tmp/*|/run/*|/var/tmp/*|/dev/*|/proc/*|/sys/*|/var/run/*)
	cp "$script" "$job/script.sh"
	run_path=/run/dsrkit-vm/job/script.sh ;;
esac
{
	printf 'export BUILD=%q\n' "$build"
	for e in "${envs[@]}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
	printf 'cd %q || exit 125\n' "$repo"
	printf 'exec bash %q' "$run_path"
	printf ' %q' "$@"
	printf '\n'
} >"$job/job.sh"

mkfifo "$tmp/console"
qemu=(qemu-system-x86_64 -accel tcg -machine pc -cpu max -smp "$cpus" -m "$VM_MEM"
	-nodefaults -no-user-config -display none -no-reboot -nic none
	-kernel "$vmdir/kernel/boot/vmlinuz-$kver" -initrd "$vmdir/initramfs.img"
	-append "console=ttyS0 loglevel=3 quiet panic=-1 8250.nr_uarts=1 random.trust_cpu=on"
	-chardev stdio,id=con,signal=off -serial chardev:con
	-device virtio-rng-pci
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$job,mount_tag=job,security_model=none,multidevs=remap"
	-virtfs "local,path=${repo//,/,,},mount_tag=repo,security_model=none,readonly=on,multidevs=remap")
[ -n "$build_share" ] &&
	qemu+=(-virtfs "local,path=${build_share//,/,,},mount_tag=build,security_model=none,readonly=on,multidevs=remap")
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$tmp/console" 2>"$tmp/qemu.err" &
qpid=$!

rc=""
booted=""
t_boot=""
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	# After the status only the kernel's power-off messages follow.
	[ -n "$rc" ] && continue
	case $line in
	"DSRKIT-VM-START $nonce")
		booted=1; t_boot=$(elapsed "$t_start") ;;
	*"DSRKIT-VM-EXIT $nonce "*)
		# The script's last output may lack its newline.
		pre=${line%%"DSRKIT-VM-EXIT $nonce "*}
		[ -n "$pre" ] && printf '%s\n' "$pre"
		rc=${line##* } ;;
	"DSRKIT-VM-EXIT - 125"|DSRKIT-VM-ERROR*)
		printf '%s\n' "$line" >&2 ;;
	*)
		printf '%s\n' "$line" ;;
	esac
done <"$tmp/console"
wait "$qpid"
qrc=$?
qpid=""

if [ -z "$rc" ] && [ -f "$job/status" ]; then rc=$(cat "$job/status"); fi
[ $verbose = 1 ] && say "kernel $kver, cache ready ${t_ready}s, booted ${t_boot:-?}s, total $(elapsed "$t_start")s"
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	vmfail "the VM timed out after ${timeout_s}s${booted:+ (the script was running)}"
fi
if [ -z "$rc" ]; then
	sed 's/^/qemu: /' "$tmp/qemu.err" >&2
	if [ -z "$booted" ]; then vmfail "the VM did not boot (qemu exit $qrc)"; fi
	vmfail "the VM stopped before the script reported its status (qemu exit $qrc)"
fi
case $rc in ''|*[!0-9]*) vmfail "bad status from the VM: $rc" ;; esac
exit "$rc"
