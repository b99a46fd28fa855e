#!/usr/bin/env python3
"""The soak's sampler (tests/soak/soak.sh): one long-lived process, so that
watching costs no fork per sample (under TCG every exec reads its binary
over 9p and stalls the VM a little).

    sampler.py OUT PERIOD_S VIP CLIENT_NS TAG=NS[:CONF[:LOG]]...

Every PERIOD_S it writes one line
    S MS HOLDERS RSLO
HOLDERS has a digit per director (TAG=NS:CONF with CONF ending in .ini and
the tag starting with "lb"), 1 when the VIP is a local address of its
namespace; RSLO a digit per real server (tag starting with "rs"), 1 when
the VIP is on its lo. It follows the daemons by their command line (the
binary's name and "-f CONF"): for a director, the parent (whose own parent
is not a directord of the same file) and its direct children (the engines);
for a real server, "rs-agent -f CONF run". Each change is a line
    N MS TAG ROLE PID      a process appeared (ROLE parent, engine, agent)
    X MS TAG ROLE PID      it is gone
and every 5 s, per process,
    R MS TAG ROLE PID RSS_KB FDS
    W MS TAG ROLE PID STATE WCHAN SYSCALL   where it waits (/proc: its
                                            state, kernel function, call)
and every line a daemon's LOG gains, as it comes (for the timeline around
a violation: the VM and its logs are gone once the run ends),
    L MS TAG LINE
From CLIENT_NS, a thread asks GET / of VIP:80 once a second (the short
requests), each a line
    Q MS ok|err DETAIL
It stops when OUT.stop exists.
"""
import ctypes, os, socket, struct, sys, threading, time

CLONE_NEWNET, RTM_GETADDR, RTM_NEWADDR, NLMSG_DONE, NLMSG_ERROR = 0x40000000, 22, 20, 3, 2
IFA_ADDRESS, IFA_LOCAL = 1, 2
libc = ctypes.CDLL(None, use_errno=True)

out_path, period, vip, client_ns = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
targets = []	# (tag, ns, conf)
logs = {}	# tag: [path, offset read]
for a in sys.argv[5:]:
    tag, rest = a.split("=", 1)
    ns, conf, log = (rest.split(":", 2) + ["", ""])[:3]
    targets.append((tag, ns, conf))
    if log:
        logs[tag] = [log, 0]
out = open(out_path, "a", buffering=1)
lock = threading.Lock()


def emit(line):
    with lock:
        out.write(line + "\n")


def setns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            sys.exit("setns %s: %s" % (name, os.strerror(ctypes.get_errno())))
    finally:
        os.close(fd)


socks = {}
for tag, ns, _ in targets:	# a netlink socket belongs to the namespace it was made in
    setns(ns)
    socks[tag] = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    socks[tag].settimeout(2)
setns(client_ns)	# from here on, new sockets (the requests) are the client's
seq = 0


def addresses(s):
    """{(ifindex, address)} of the namespace of s."""
    global seq
    seq += 1
    s.send(struct.pack("=IHHII", 24, RTM_GETADDR, 0x301, seq, 0) + struct.pack("=BBBBI", 0, 0, 0, 0, 0))
    found = set()
    while True:
        data = s.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            length, kind, _, mseq, _ = struct.unpack_from("=IHHII", data, off)
            if length < 16 or kind in (NLMSG_DONE, NLMSG_ERROR):
                return found
            if kind == RTM_NEWADDR and mseq == seq:
                family, ifindex = data[off + 16], struct.unpack_from("=I", data, off + 20)[0]
                a = off + 24
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype in (IFA_ADDRESS, IFA_LOCAL):
                        found.add((ifindex, socket.inet_ntop(family, data[a + 4:a + alen])))
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3


def holds(tag, on_lo):
    try:
        have = addresses(socks[tag])
    except OSError:
        return "?"
    # lo is ifindex 1 in every namespace
    return "1" if any(a == vip and (i == 1) == on_lo for i, a in have) else "0"


def procs():
    """{pid: (tag, role)} of the daemons followed."""
    info = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        info[int(d)] = ([x.decode(errors="replace") for x in argv if x], ppid)
    found = {}
    for tag, _, conf in targets:
        if not conf:
            continue
        agent = tag.startswith("rs")
        mine = {p for p, (argv, _) in info.items()
                if argv and os.path.basename(argv[0]) == ("rs-agent" if agent else "directord")
                and "-f" in argv and conf in argv and (not agent or argv[-1] == "run")}
        for p in mine:
            if agent:
                found[p] = (tag, "agent")
            elif info[p][1] not in mine:
                found[p] = (tag, "parent")
            elif info[info[p][1]][1] not in mine:	# a direct child of the parent
                found[p] = (tag, "engine")
    return found


def resources(pid):
    rss = -1
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None
    return rss, fds


def where(pid):
    """(state, wchan, syscall name or number) of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open("/proc/%d/wchan" % pid) as f:
            wchan = f.read().strip() or "0"
        with open("/proc/%d/syscall" % pid) as f:
            call = f.read().split()
    except (OSError, IndexError):
        return None
    nr = call[0] if call else "?"
    return state, wchan, SYSCALLS.get(nr, nr)


SYSCALLS = {"0": "read", "1": "write", "7": "poll", "23": "select", "45": "recvfrom", "46": "sendmsg",
            "47": "recvmsg", "61": "wait4", "202": "futex", "232": "epoll_wait", "257": "openat",
            "281": "epoll_pwait", "running": "running", "-1": "none"}	# x86_64, the VM's


def new_log_lines(ms):
    for tag, st in logs.items():
        try:
            with open(st[0], "rb") as f:
                if os.fstat(f.fileno()).st_size < st[1]:
                    st[1] = 0	# started again on a new file
                f.seek(st[1])
                data = f.read(1 << 20)
        except OSError:
            continue
        end = data.rfind(b"\n")
        if end < 0:
            continue
        st[1] += end + 1
        for line in data[:end].split(b"\n"):
            emit("L %d %s %s" % (ms, tag, line.decode(errors="replace").strip()))


def requests():
    while not os.path.exists(out_path + ".stop"):
        t0 = time.time()
        try:
            s = socket.create_connection((vip, 80), timeout=4)
            s.settimeout(4)
            s.sendall(b"GET / HTTP/1.0\r\nHost: soak\r\n\r\n")
            data = b""
            while len(data) < 65536:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            s.close()
            head, _, body = data.partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200"):
                emit("Q %d ok %s" % (t0 * 1000, body.decode(errors="replace").strip().replace(" ", "_")))
            else:
                emit("Q %d err status_%s" % (t0 * 1000, head.split(b"\r\n")[0].decode(errors="replace").replace(" ", "_")))
        except OSError as e:
            emit("Q %d err %s" % (t0 * 1000, str(e).replace(" ", "_")))
        time.sleep(max(0.0, 1.0 - (time.time() - t0)))


threading.Thread(target=requests, daemon=True).start()
known, next_res = {}, 0.0
dirs = [t for t, _, _ in targets if t.startswith("lb")]
rss_ = [t for t, _, _ in targets if t.startswith("rs")]
due = time.time()
while not os.path.exists(out_path + ".stop"):
    now = time.time()
    ms = int(now * 1000)
    emit("S %d %s %s" % (ms, "".join(holds(t, False) for t in dirs), "".join(holds(t, True) for t in rss_)))
    cur = procs()
    for p, (tag, role) in cur.items():
        if p not in known:
            emit("N %d %s %s %d" % (ms, tag, role, p))
    for p, (tag, role) in known.items():
        if p not in cur:
            emit("X %d %s %s %d" % (ms, tag, role, p))
    known = cur
    if now >= next_res:
        next_res = now + 5
        for p, (tag, role) in sorted(known.items()):
            r = resources(p)
            if r:
                emit("R %d %s %s %d %d %d" % (ms, tag, role, p, r[0], r[1]))
            w = where(p)
            if w:
                emit("W %d %s %s %d %s %s %s" % ((ms, tag, role, p) + w))
    new_log_lines(ms)
    due += period
    time.sleep(max(0.0, due - time.time()))
