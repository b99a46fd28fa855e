# dsrkit — build, test, install.
#
#   make                 build everything (installs missing Debian build deps as root)
#   make check           unit tests, sanitizer unit tests, fuzz smoke runs, root netns tests, VM tests
#   make vm              IPVS tests in a qemu VM (tests/vm; installs qemu and fetches a kernel as root)
#   make demo            the whole DR cluster in namespaces (in a VM without IPVS); demo-realserver: rs-agent alone
#   make bench           benchmarks (bench/BENCHMARKS.md); bench-director, bench-lvs, bench-failover, bench-isolation-host: one part
#   make soak            the fault matrix for SOAK_SECONDS (1800) in the VM: bench/results-soak.md, a section of bench/BENCHMARKS.md
#   make deb             Debian packages dsrkit-director, dsrkit-rs-agent and the source package in $(BUILD)/deb (lintian-clean)
#   make install DESTDIR=... PREFIX=...   (also creates the daemons' user dsrkit, unless DESTDIR is set)
#   make install-user    only create the user dsrkit (idempotent; root)

PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/dsrkit
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
SYSUSERS   ?= systemd-sysusers
DESTDIR    ?=

CC      ?= cc
BUILD   ?= build
SANITIZE ?=

PKGS     := libnl-3.0 libnl-route-3.0 libnl-genl-3.0 libcap libssl libcrypto
DEB_BUILD_DEPS := build-essential pkg-config libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libiniparser-dev libcap-dev libssl-dev
DEB_TEST_DEPS  := clang libclang-rt-14-dev iproute2 haproxy keepalived tcpdump arping python3 procps psmisc valgrind systemd-container openssl prometheus nftables bird2 frr

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
CPPFLAGS += -D_GNU_SOURCE -Icommon -I/usr/include/iniparser
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
ifneq ($(SANITIZE),)
CFLAGS   := -std=gnu11 $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS       = $(PKG_LIBS) -liniparser -pthread
# Each program's link line names what it uses: rs-agent no generic
# netlink (IPVS) nor threads, directorctl none of the daemon's libraries
# but libcap (the doctor keeps CAP_NET_RAW alone).
# The daemons load OpenSSL when a configuration has an https check
# (common/tls_openssl.h); the tests link it for their own TLS servers.
DAEMON_LIBS  = $(filter-out -lssl -lcrypto,$(LIBS))
RSAGENT_LIBS = $(shell pkg-config --libs libnl-3.0 libnl-route-3.0 libcap 2>/dev/null) -liniparser
CTL_LIBS     = $(shell pkg-config --libs libcap 2>/dev/null) -liniparser

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB := $(BUILD)/libdsrkit-common.a
RSAGENT_SRC := $(wildcard realserver/*.c)
RSAGENT_OBJ := $(RSAGENT_SRC:%.c=$(BUILD)/%.o)
# director/: what both engines share; vrrp/, lvs/, config/, parent/ by role.
DIRECTOR_DIRS := director director/vrrp director/lvs director/config director/parent
DIRECTOR_INC := $(DIRECTOR_DIRS:%=-I%)
DIRECTOR_SRC := $(foreach d,$(DIRECTOR_DIRS),$(wildcard $(d)/*.c))
DIRECTOR_OBJ := $(DIRECTOR_SRC:%.c=$(BUILD)/%.o)
# directord objects other than main(), linked into unit tests of its logic.
DIRECTOR_LIBOBJ := $(filter-out $(BUILD)/director/parent/main.o,$(DIRECTOR_OBJ))
# directorctl and the keepalived converter: their own folder, common/ and
# director/proto.h, nothing of the daemon.
CTL_SRC    := $(wildcard director/ctl/*.c)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/%.o)
CTL_LIBOBJ := $(filter-out $(BUILD)/director/ctl/directorctl.o,$(CTL_OBJ))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
TOOLS_SRC  := $(wildcard tests/tools/*.c)
TOOLS_BIN  := $(TOOLS_SRC:tests/tools/%.c=$(BUILD)/tools/%)
# rs-agent objects other than main(), linked into unit tests of its logic.
RSAGENT_LIBOBJ := $(filter-out $(BUILD)/realserver/main.o,$(RSAGENT_OBJ))

.PHONY: all deps deps-test check unit asan fuzz netns vm demo install install-user uninstall clean bench bench-director bench-lvs bench-failover bench-aa bench-isolation-host demo-realserver soak
.DEFAULT_GOAL := all

all: deps $(BUILD)/rs-agent $(BUILD)/directord $(BUILD)/directorctl $(UNIT_BIN) $(TOOLS_BIN) $(BUILD)/tools/ipvs-probe $(BUILD)/tools/lvs-mem

# Install what is missing, once, when running as root; otherwise say what to install.
deps:
	@missing=""; \
	pkg-config --exists $(PKGS) 2>/dev/null || missing="$(DEB_BUILD_DEPS)"; \
	[ -f /usr/include/iniparser/iniparser.h ] || missing="$$missing libiniparser-dev"; \
	command -v $(firstword $(CC)) >/dev/null 2>&1 || missing="$$missing build-essential"; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt-install PKGLIST="$$missing"; fi

deps-test: deps
	@missing=""; \
	for p in $(DEB_TEST_DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt-install PKGLIST="$$missing"; fi

apt-install:
	@if [ "$$(id -u)" != 0 ]; then echo "missing Debian packages:$(PKGLIST) (run make as root to install them)" >&2; exit 1; fi
	@echo "installing Debian packages:$(PKGLIST)"
	@export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -q --no-install-recommends $(PKGLIST) >/dev/null 2>&1 || \
	{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $(PKGLIST); }

# The programs' default file paths follow SYSCONFDIR: the objects that
# compile them in are rebuilt when it changes (the stamp is rewritten only
# then), so `make install SYSCONFDIR=...` installs programs that look there.
CONFDIR     = $(SYSCONFDIR)/dsrkit
CONFDIR_OBJ = $(BUILD)/director/parent/main.o $(BUILD)/director/ctl/directorctl.o $(BUILD)/realserver/main.o
$(CONFDIR_OBJ): CPPFLAGS += -DDSRKIT_CONFDIR='"$(CONFDIR)"'
$(CONFDIR_OBJ): $(BUILD)/confdir.stamp
$(BUILD)/confdir.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CONFDIR)' | cmp -s - $@ || echo '$(CONFDIR)' >$@
.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(COMMON_LIB): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/rs-agent: $(RSAGENT_OBJ) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(RSAGENT_LIBS)

$(BUILD)/directord: $(BUILD)/director/parent/main.o $(DIRECTOR_LIBOBJ) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/directorctl: $(CTL_OBJ) $(COMMON_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

$(BUILD)/director/%.o: director/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DIRECTOR_INC) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/director/ctl/%.o: director/ctl/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Idirector $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Unit tests of common/ link only the library; test_rs_* also link rs-agent's logic.
$(BUILD)/tests/test_rs_%: tests/unit/test_rs_%.c $(RSAGENT_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Irealserver -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_vrrp_%: tests/unit/test_vrrp_%.c $(DIRECTOR_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DIRECTOR_INC) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_kaconf $(BUILD)/tests/test_doctor: $(BUILD)/tests/%: tests/unit/%.c $(CTL_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Idirector/ctl -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_ipvs $(BUILD)/tests/test_check $(BUILD)/tests/test_director_state $(BUILD)/tests/test_parent $(BUILD)/tests/test_parent_engines $(BUILD)/tests/test_engine_proc $(BUILD)/tests/test_config_image: $(BUILD)/tests/%: tests/unit/%.c $(DIRECTOR_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DIRECTOR_INC) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_lvs_%: tests/unit/test_lvs_%.c $(DIRECTOR_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DIRECTOR_INC) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Drivers of the director's kernel interfaces, for the VM tests.
$(BUILD)/tools/ipvs-probe: tests/vmtools/ipvs-probe.c $(DIRECTOR_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DIRECTOR_INC) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The LVS engine's memory against a kernel that holds nothing (bench/BENCHMARKS.md).
$(BUILD)/tools/lvs-mem: bench/lvs-mem.c $(DIRECTOR_LIBOBJ) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DIRECTOR_INC) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# libFuzzer targets: clang only, built from sources with the sanitizers.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon -Irealserver -I/usr/include/iniparser
RSAGENT_LIBSRC := $(filter-out realserver/main.c,$(RSAGENT_SRC))
$(BUILD)/fuzz/fuzz_rs_%: tests/fuzz/fuzz_rs_%.c $(COMMON_SRC) $(RSAGENT_LIBSRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(LIBS)

DIRECTOR_LIBSRC := $(filter-out director/parent/main.c,$(DIRECTOR_SRC))
CTL_LIBSRC := $(filter-out director/ctl/directorctl.c,$(CTL_SRC))
$(BUILD)/fuzz/fuzz_kaconf $(BUILD)/fuzz/fuzz_doctor_pkt $(BUILD)/fuzz/fuzz_doctor_targets: $(BUILD)/fuzz/%: tests/fuzz/%.c $(COMMON_SRC) $(CTL_LIBSRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Idirector/ctl $(PKG_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/fuzz/fuzz_vrrp_%: tests/fuzz/fuzz_vrrp_%.c $(COMMON_SRC) $(DIRECTOR_LIBSRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(DIRECTOR_INC) $(PKG_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/fuzz/fuzz_lvs_%: tests/fuzz/fuzz_lvs_%.c $(COMMON_SRC) $(DIRECTOR_LIBSRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(DIRECTOR_INC) $(PKG_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/fuzz/fuzz_ipvs $(BUILD)/fuzz/fuzz_director_ini $(BUILD)/fuzz/fuzz_config_image: $(BUILD)/fuzz/%: tests/fuzz/%.c $(COMMON_SRC) $(DIRECTOR_LIBSRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(DIRECTOR_INC) $(PKG_CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(COMMON_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(LIBS)

unit: all
	@tests/run-unit.sh $(BUILD)/tests

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 all
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run-unit.sh build/asan/tests asan

fuzz: deps-test $(FUZZ_BIN)
	@tests/run-fuzz.sh $(BUILD)/fuzz

netns: all
	@tests/run-netns.sh $(BUILD)

# tests/vm/vm.sh installs its own host packages (qemu, kmod, cpio, ipvsadm)
# and reports SKIP when it cannot; its cache is $(BUILD)/vm.
vm: all
	@tests/run-vm.sh $(BUILD)

# The README's test command.
check: deps-test
	@tests/run.sh

demo: all
	@tests/demo/cluster-demo.sh $(BUILD)

demo-realserver: all
	@tests/demo/realserver-demo.sh $(BUILD)

# Benchmarks (root; they assert nothing): rs-agent's, then directord's
# against keepalived. Both run even when the first reports a problem.
bench: all
	@s=0; bench/run.sh $(BUILD) || s=1; bench/director.sh $(BUILD) || s=1; bench/lvs.sh $(BUILD) || s=1; bench/failover.sh $(BUILD) || s=1; bench/aa.sh $(BUILD) || s=1; bench/isolation-host.sh $(BUILD) || s=1; exit $$s

bench-director: all
	@bench/director.sh $(BUILD)

bench-lvs: all
	@bench/lvs.sh $(BUILD)

bench-failover: all
	@bench/failover.sh $(BUILD)

bench-aa: all
	@bench/aa.sh $(BUILD)

bench-isolation-host: all
	@bench/isolation-host.sh $(BUILD)

# The soak (tests/soak): SOAK_SECONDS of random faults, seed SOAK_SEED
# (printed; replay with it), in the VM; its two-minute version is
# tests/vm/27-soak-short.sh in make check.
SOAK_SECONDS ?= 1800
soak: all
	@SOAK_SECONDS=$(SOAK_SECONDS) tests/soak/run.sh $(BUILD)

# The programs only: installing needs no unit tests or test tools.
install: $(BUILD)/rs-agent $(BUILD)/directord $(BUILD)/directorctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(CONFDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 common/dsrkit-sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/dsrkit.conf
	install -m 0755 $(BUILD)/rs-agent $(DESTDIR)$(SBINDIR)/rs-agent
	install -m 0644 man/rs-agent.8 $(DESTDIR)$(MANDIR)/man8/rs-agent.8
	install -m 0644 man/rs-agent.ini.5 $(DESTDIR)$(MANDIR)/man5/rs-agent.ini.5
	# Not copied to rs-agent.ini: its sample VIPs would go on this host's loopback.
	install -m 0644 realserver/rs-agent.ini.example $(DESTDIR)$(CONFDIR)/rs-agent.ini.example
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@CONFDIR@|$(CONFDIR)|g' realserver/rs-agent.service.in > $(DESTDIR)$(UNITDIR)/rs-agent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rs-agent.service
	install -m 0755 $(BUILD)/directord $(BUILD)/directorctl $(DESTDIR)$(SBINDIR)/
	install -m 0644 man/directord.8 man/directorctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/director.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/dsrkit.7 $(DESTDIR)$(MANDIR)/man7/dsrkit.7
	# Not copied to director.ini: it would bring VIPs up on this host's interfaces.
	install -m 0644 director/director.ini.example $(DESTDIR)$(CONFDIR)/director.ini.example
	sed 's|@SBINDIR@|$(SBINDIR)|g; s|@CONFDIR@|$(CONFDIR)|g' director/directord.service.in > $(DESTDIR)$(UNITDIR)/directord.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/directord.service
	# Examples for Prometheus and Grafana (directord(8), METRICS).
	install -d $(DESTDIR)$(DOCDIR)/prometheus
	install -m 0644 contrib/prometheus/dsrkit-alerts.yml contrib/prometheus/dsrkit-dashboard.json \
		$(DESTDIR)$(DOCDIR)/prometheus/
	@$(MAKE) --no-print-directory install-user

# The daemons' user (their default global.user), once: from the sysusers
# file with systemd-sysusers, else with useradd. Into a DESTDIR (a package,
# an image) only the file is installed: the target's systemd-sysusers
# creates the user there at boot, and this host's passwd is left alone.
install-user:
	@if [ -n "$(DESTDIR)" ]; then \
		echo "DESTDIR is set: not creating the user dsrkit on this host ($(SYSUSERSDIR)/dsrkit.conf creates it on the target)"; \
	elif getent passwd dsrkit >/dev/null; then \
		echo "the user dsrkit exists"; \
	elif command -v $(SYSUSERS) >/dev/null 2>&1; then \
		echo "creating the system user dsrkit: $(SYSUSERS) $(CURDIR)/common/dsrkit-sysusers.conf"; \
		$(SYSUSERS) $(CURDIR)/common/dsrkit-sysusers.conf; \
	else \
		echo "creating the system user dsrkit: useradd (no $(SYSUSERS))"; \
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
			$$(getent group dsrkit >/dev/null && echo --gid dsrkit) dsrkit; \
	fi

# What install put, with the same variables. The files the operator wrote
# (director.ini, rs-agent.ini), the state directories and the user dsrkit
# stay: `userdel dsrkit` removes the user.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/directord $(DESTDIR)$(SBINDIR)/directorctl $(DESTDIR)$(SBINDIR)/rs-agent
	rm -f $(DESTDIR)$(MANDIR)/man8/directord.8 $(DESTDIR)$(MANDIR)/man8/directorctl.8 \
		$(DESTDIR)$(MANDIR)/man8/rs-agent.8 $(DESTDIR)$(MANDIR)/man5/director.ini.5 \
		$(DESTDIR)$(MANDIR)/man5/rs-agent.ini.5 $(DESTDIR)$(MANDIR)/man7/dsrkit.7
	rm -f $(DESTDIR)$(CONFDIR)/director.ini.example $(DESTDIR)$(CONFDIR)/rs-agent.ini.example
	rm -f $(DESTDIR)$(UNITDIR)/directord.service $(DESTDIR)$(UNITDIR)/rs-agent.service
	rm -f $(DESTDIR)$(SYSUSERSDIR)/dsrkit.conf
	rm -f $(DESTDIR)$(DOCDIR)/prometheus/dsrkit-alerts.yml $(DESTDIR)$(DOCDIR)/prometheus/dsrkit-dashboard.json
	-rmdir $(DESTDIR)$(DOCDIR)/prometheus $(DESTDIR)$(DOCDIR) 2>/dev/null
	-rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null
	@echo "left in place: your $(CONFDIR)/*.ini, the state directories, the user dsrkit (userdel dsrkit)"

# Debian packages (debian/; README.md, Build and install): dsrkit-director and
# dsrkit-rs-agent, the source package and lintian's report, in $(DEB_DIR).
# dpkg-buildpackage writes beside the tree it builds, so it builds a copy
# in $(DEB_DIR)/src: the files git tracks, as they are in the work tree
# (`git add` a new file first); outside git, the tree less the build
# directory and what .gitignore names. No -dbgsym packages, so that
# `apt install ./dsrkit-*.deb` installs just the two. lintian must find no
# error and no warning.
DEB_PKG_DEPS := debhelper dpkg-dev lintian
DEB_DIR       = $(BUILD)/deb
.PHONY: deb
deb: deps
	@missing=""; \
	for p in $(DEB_PKG_DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt-install PKGLIST="$$missing"; fi
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src/dsrkit
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		git ls-files -z | tar --null --no-recursion --ignore-failed-read -T - -cf -; \
	else \
		tar --exclude-vcs --exclude-vcs-ignores --exclude="./$$(realpath -m --relative-to=. $(BUILD))" -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src/dsrkit
	cd $(DEB_DIR)/src/dsrkit && DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS) noautodbgsym" dpkg-buildpackage -us -uc -Jauto
	find $(DEB_DIR)/src -maxdepth 1 -type f -exec mv -t $(DEB_DIR) {} +
	rm -rf $(DEB_DIR)/src
	@lintian --fail-on error,warning $(DEB_DIR)/dsrkit_*.changes >$(DEB_DIR)/lintian.txt 2>&1; s=$$?; \
	cat $(DEB_DIR)/lintian.txt; [ $$s = 0 ] && echo "lintian: no error, no warning ($(DEB_DIR)/lintian.txt)"; exit $$s
	@ls $(DEB_DIR)

clean:
	rm -rf build

-include $(COMMON_OBJ:.o=.d) $(RSAGENT_OBJ:.o=.d) $(DIRECTOR_OBJ:.o=.d) $(CTL_OBJ:.o=.d)
