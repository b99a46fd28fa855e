# shellcheck shell=bash
# ensure_dsrkit_user: the daemons' default user (global.user = dsrkit) must
# exist for the tests that load or run a configuration without `user`.
# As root it is created once, the way `make install` does (make
# install-user: systemd-sysusers, else useradd); idempotent. Unprivileged,
# a missing user is reported once on stderr and the call returns 1.
ensure_dsrkit_user() {
	local top
	getent passwd dsrkit >/dev/null && return 0
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	if [ "$(id -u)" = 0 ]; then
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$top" install-user >&2 &&
			getent passwd dsrkit >/dev/null && return 0
		echo "could not create the system user dsrkit (make install-user)" >&2
		return 1
	fi
	echo "no system user dsrkit, which the tests' configurations run as: run the tests as root once, or make install-user as root" >&2
	return 1
}
