#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the test guest's control channel (stdlib only).

scripts/guest.sh starts this before QEMU. It listens on a unix socket that
QEMU connects the guest's second serial port (ttyS1) to, and answers one
line per request:

    guest -> host   SEQ COMMAND [ARGS...]\\n
    host -> guest   SEQ ok [PAYLOAD]\\n     or     SEQ err MESSAGE\\n

SEQ is the guest's request number, echoed so the guest can skip a stale
reply. PAYLOAD and MESSAGE are one line. The guest side is `host` in
tests/guest/lib.sh.

Adding a command: write `def cmd_NAME(ctl, rest)` decorated with
`@command("NAME")`. `rest` is the request after the command word, verbatim
(JSON arguments keep their spaces); return the payload string, or raise
CtlError(message) for an err reply. `ctl.disks` maps disk ids to their
--disk specs as dicts (keys id, size, serial, nbd, file, ... as
scripts/guest.sh resolved them), which is where NBD commands find their
export's socket. `ctl.qmp.execute({"execute": ...})` talks to QEMU.

Commands run one at a time in the order the guest sends them, except those
that `after` schedules, which run in threads of their own: QMP and each
nbdkit pause socket have a lock, and a command must not hold one for long
(qmp-wait-event takes the QMP lock for a fraction of a second at a time).
"""

import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time

COMMANDS = {}


class CtlError(Exception):
    pass


class CtlTimeout(CtlError):
    pass


def command(name):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


class Qmp:
    """A QMP client on a unix socket, connected on first use."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buf = b""
        self.events = []
        self.next_id = 0
        self.lock = threading.RLock()
        self.shutdown = None  # the SHUTDOWN event, once QEMU sent it

    def _connect(self):
        if self.sock:
            return
        if not self.path:
            raise CtlError("no QMP socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        self.sock = s
        self._read_msg(30)  # greeting
        self.execute({"execute": "qmp_capabilities"})

    def _read_msg(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CtlTimeout("QMP: no answer within %ss" % timeout)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise CtlError("QMP: connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, req, timeout=60):
        with self.lock:
            self._connect()
            self.next_id += 1
            req = dict(req, id="ctl-%d" % self.next_id)
            self.sock.sendall(json.dumps(req).encode() + b"\n")
            while True:
                msg = self._read_msg(timeout)
                if "event" in msg:
                    self._keep(msg)
                elif msg.get("id") == req["id"]:
                    return msg

    def wait_event(self, name, timeout, match=None):
        """The first event NAME whose data has all of match's items. Holds
        the lock only briefly at a time, so that scheduled commands (after)
        can use QMP meanwhile."""
        match = match or {}
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                self._connect()
                for i, ev in enumerate(self.events):
                    data = ev.get("data", {})
                    if ev["event"] == name and all(str(data.get(k)) == v for k, v in match.items()):
                        return self.events.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CtlError("no %s event within %ss" % (name, timeout))
                try:
                    msg = self._read_msg(min(left, 0.2))
                except CtlTimeout:
                    continue
                if "event" in msg:
                    self._keep(msg)

    def _keep(self, msg):
        self.events.append(msg)
        if msg["event"] == "SHUTDOWN" and not self.shutdown:
            self.shutdown = msg

    def poll_events(self):
        """Take in the events QEMU has sent, without waiting, unless another
        thread is using the connection (it takes them in itself). Raises
        CtlError once QEMU has closed it."""
        if not self.lock.acquire(blocking=False):
            return
        try:
            self._connect()
            self.sock.settimeout(0)
            while True:
                try:
                    data = self.sock.recv(65536)
                except (BlockingIOError, socket.timeout):
                    break
                if not data:
                    raise CtlError("QMP: connection closed")
                self.buf += data
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                if "event" in msg:
                    self._keep(msg)
                # else: the late answer to a request that timed out
        finally:
            if self.sock:
                self.sock.settimeout(None)
            self.lock.release()


class PauseControl:
    """The control socket of an nbdkit pause filter. Each command byte ('p'
    pause, 'r' resume) is acknowledged by its upper case, in order; 'P' only
    once the requests in flight at the pause have finished, and nothing else
    is read meanwhile. The connection stays open while an acknowledgement is
    outstanding and is closed otherwise (the filter serves one connection at
    a time)."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.sent = []  # commands whose acknowledgement has not come yet
        self.lock = threading.Lock()
        self.state = "running"

    def send(self, cmd, timeout):
        """Send cmd; True once it is acknowledged, False if that takes more
        than timeout seconds (it is then still pending)."""
        with self.lock:
            if self.sock is None:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(self.path)
                except OSError as e:
                    s.close()
                    raise CtlError("pause control %s: %s" % (self.path, e))
                self.sock = s
            self.sock.sendall(cmd.encode())
            self.sent.append(cmd)
            self.state = {"p": "pause-pending", "r": "resume-pending"}[cmd]
            return self._read_acks(len(self.sent), timeout)

    def poll(self):
        """Read the acknowledgements that have come; the state."""
        with self.lock:
            if self.sent:
                self._read_acks(len(self.sent), 0)
            return self.state

    def _read_acks(self, count, timeout):
        """Read up to count acknowledgements within timeout seconds; True if
        all came."""
        deadline = time.monotonic() + timeout
        while count > 0:
            self.sock.settimeout(max(deadline - time.monotonic(), 0))
            try:
                ack = self.sock.recv(1).decode("ascii", "replace")
            except (socket.timeout, BlockingIOError):
                if time.monotonic() >= deadline:
                    return False
                continue
            if not ack:
                self.sock.close()
                self.sock = None
                self.sent = []
                raise CtlError("pause control %s: nbdkit closed it" % self.path)
            sent = self.sent.pop(0)
            count -= 1
            if ack != sent.upper():
                raise CtlError("pause control: '%s' answered '%s'" % (sent, ack))
            if not self.sent:
                self.state = {"p": "paused", "r": "running"}[sent]
        if not self.sent:
            self.sock.close()
            self.sock = None
        return True


class Ctl:
    def __init__(self, args):
        self.qmp = Qmp(args.qmp)
        self.disks = {}
        for spec in args.disk or []:
            d = parse_spec(spec)
            self.disks[d.get("id", "d%d" % len(self.disks))] = d
        self.log = open(args.log, "a", buffering=1) if args.log else None
        self.log_lock = threading.Lock()
        self.pause = {}  # disk id -> PauseControl
        self.after_seq = 0

    def note(self, text):
        if self.log:
            with self.log_lock:
                self.log.write("%.3f %s\n" % (time.monotonic(), text))

    def disk(self, ident, key=None, what=None):
        """The spec of disk ident; with key, also its value, which must be
        set (the nbdkit filter `what` provides it)."""
        if ident not in self.disks:
            raise CtlError("no disk '%s' (have: %s)" % (ident, " ".join(self.disks) or "none"))
        d = self.disks[ident]
        if key and not d.get(key):
            raise CtlError("disk %s has no nbdkit %s filter (--disk ...,nbdkit=%s)" % (ident, what, what))
        return d

    def pause_control(self, ident):
        path = self.disk(ident, "pause-control", "pause")["pause-control"]
        if ident not in self.pause:
            self.pause[ident] = PauseControl(path)
        return self.pause[ident]

    def handle(self, line):
        seq, _, req = line.partition(" ")
        name, _, rest = req.strip().partition(" ")
        fn = COMMANDS.get(name)
        try:
            if not fn:
                raise CtlError("unknown command '%s' (try: help)" % name)
            reply = "ok " + one_line(fn(self, rest.strip()))
        except CtlError as e:
            reply = "err " + one_line(str(e))
        except Exception as e:  # a bug here must not kill the channel
            reply = "err %s: %s" % (type(e).__name__, one_line(str(e)))
        return ("%s %s" % (seq, reply)).rstrip()


def parse_spec(spec):
    """Split a --disk SPEC as scripts/guest.sh does: KEY=VALUE pairs
    separated by commas, except that opts= takes the rest of the SPEC."""
    d = {}
    while spec:
        if spec.startswith("opts="):
            d["opts"] = spec[5:]
            break
        item, _, spec = spec.partition(",")
        key, _, value = item.partition("=")
        d[key] = value
    return d


def one_line(text):
    return " ".join(str(text).splitlines())


@command("help")
def cmd_help(ctl, rest):
    """list the commands"""
    return " ".join(sorted(COMMANDS))


@command("echo")
def cmd_echo(ctl, rest):
    """echo TEXT: reply TEXT"""
    return rest


@command("qmp")
def cmd_qmp(ctl, rest):
    """qmp JSON: run a QMP command ({"execute": ...}); reply with QEMU's answer,
    {"return": ...} or {"error": ...}, as one line of JSON"""
    try:
        req = json.loads(rest)
    except ValueError as e:
        raise CtlError("qmp: bad JSON: %s" % e)
    if not isinstance(req, dict) or "execute" not in req:
        raise CtlError('qmp: want {"execute": ..., "arguments": {...}}')
    msg = ctl.qmp.execute(req)
    msg.pop("id", None)
    if "error" in msg:
        raise CtlError(json.dumps(msg, separators=(",", ":")))
    return json.dumps(msg, separators=(",", ":"))


@command("qmp-wait-event")
def cmd_qmp_wait_event(ctl, rest):
    """qmp-wait-event NAME [TIMEOUT [KEY=VALUE...]]: wait for QEMU event NAME
    (say DEVICE_DELETED) whose data has KEY=VALUE (say device=d0), among the
    events seen since the channel first used QMP; reply with it, once"""
    words = rest.split()
    if not words:
        raise CtlError("usage: qmp-wait-event NAME [TIMEOUT [KEY=VALUE...]]")
    timeout = float(words[1]) if len(words) > 1 else 30
    match = dict(w.partition("=")[::2] for w in words[2:])
    ev = ctl.qmp.wait_event(words[0], timeout, match)
    return json.dumps(ev, separators=(",", ":"))


@command("disks")
def cmd_disks(ctl, rest):
    """disks: the --disk specs, as JSON {id: {key: value}}; an nbdkit disk's
    have nbdkit (its filters), nbdkit-log, and pause-control (the pause
    filter's socket), error-file, delay-read, delay-write as its filters
    have them; a vhost= disk's have vub-control (rvirtio-vub's control
    socket), vub-log and vub-opts"""
    return json.dumps(ctl.disks, separators=(",", ":"))


@command("allocated")
def cmd_allocated(ctl, rest):
    """allocated ID: the bytes disk ID's image file has allocated on the
    host (st_blocks): a discard or an unmapping write-zeroes that reaches the
    image frees some, a write-zeroes without unmap does not"""
    ident = one_disk(rest, "allocated ID")
    path = ctl.disk(ident).get("file")
    if not path:
        raise CtlError("disk '%s' has no image file" % ident)
    return str(os.stat(path).st_blocks * 512)


@command("image-sha256")
def cmd_image_sha256(ctl, rest):
    """image-sha256 ID OFFSET LENGTH: the SHA-256 (hex) of LENGTH bytes of
    disk ID's image file on the host from byte OFFSET: what reached the
    device, whatever the guest's caches hold"""
    words = rest.split()
    if len(words) != 3:
        raise CtlError("usage: image-sha256 ID OFFSET LENGTH")
    path = ctl.disk(words[0]).get("file")
    if not path:
        raise CtlError("disk '%s' has no image file" % words[0])
    try:
        offset, length = int(words[1]), int(words[2])
    except ValueError:
        raise CtlError("OFFSET and LENGTH are byte counts")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    if left:
        raise CtlError("the image ends %d bytes short" % left)
    return h.hexdigest()


@command("writeback")
def cmd_writeback(ctl, rest):
    """writeback ID: whether QEMU's device ID has its write cache on (what
    the guest's virtio-blk cache_type asks for): 1 or 0"""
    ident = one_disk(rest, "writeback ID")
    msg = ctl.qmp.execute({"execute": "query-block"})
    if "error" in msg:
        raise CtlError(json.dumps(msg["error"]))
    for b in msg.get("return", []):
        if b.get("qdev", "").split("/")[-2:-1] == [ident] or b.get("device") == ident:
            cache = b.get("inserted", {}).get("cache", {})
            return "1" if cache.get("writeback") else "0"
    raise CtlError("no block device for '%s' in query-block" % ident)


# How long nbd-pause and nbd-resume wait for nbdkit's acknowledgement.
PAUSE_ACK_TIMEOUT = 5.0


def one_disk(rest, usage):
    words = rest.split()
    if len(words) != 1:
        raise CtlError("usage: " + usage)
    return words[0]


@command("nbd-pause")
def cmd_nbd_pause(ctl, rest):
    """nbd-pause ID: pause disk ID's nbdkit (pause filter): requests that
    reach it from now on wait. Replies "paused" once the requests already in
    flight have finished, or "pause-pending" if they have not after 5 s (the
    pause holds all the same)"""
    pc = ctl.pause_control(one_disk(rest, "nbd-pause ID"))
    return "paused" if pc.send("p", PAUSE_ACK_TIMEOUT) else "pause-pending"


@command("nbd-resume")
def cmd_nbd_resume(ctl, rest):
    """nbd-resume ID: resume disk ID's nbdkit. Replies "resumed", or
    "resume-pending" if nbdkit did not acknowledge within 5 s (a pause
    still pending holds the resume up)"""
    pc = ctl.pause_control(one_disk(rest, "nbd-resume ID"))
    return "resumed" if pc.send("r", PAUSE_ACK_TIMEOUT) else "resume-pending"


@command("nbd-error")
def cmd_nbd_error(ctl, rest):
    """nbd-error ID on|off: make every request to disk ID's nbdkit fail with
    EIO (error filter), or stop that. Replies "errors on" / "errors off"."""
    words = rest.split()
    if len(words) != 2 or words[1] not in ("on", "off"):
        raise CtlError("usage: nbd-error ID on|off")
    path = ctl.disk(words[0], "error-file", "error")["error-file"]
    if words[1] == "on":
        open(path, "a").close()
    elif os.path.exists(path):
        os.unlink(path)
    return "errors " + words[1]


@command("nbd-status")
def cmd_nbd_status(ctl, rest):
    """nbd-status ID: disk ID's nbdkit state as the channel knows it, e.g.
    "pause=running errors=off" (pause: running, paused, pause-pending,
    resume-pending; each part only with its filter)"""
    ident = one_disk(rest, "nbd-status ID")
    d = ctl.disk(ident)
    if "nbdkit" not in d:
        raise CtlError("disk %s has no nbdkit (--disk ...,nbdkit=FILTERS)" % ident)
    parts = []
    if d.get("pause-control"):
        parts.append("pause=" + ctl.pause_control(ident).poll())
    if d.get("error-file"):
        parts.append("errors=" + ("on" if os.path.exists(d["error-file"]) else "off"))
    if "delay-read" in d:
        parts.append("delay-read=%s delay-write=%s" % (d["delay-read"], d["delay-write"]))
    return " ".join(parts)


# How long `vub` waits for rvirtio-vub's reply.
VUB_TIMEOUT = 10.0


def vub_request(ctl, ident, line):
    """Send one line to disk ident's rvirtio-vub control socket; its reply
    payload ("ok PAYLOAD"), or CtlError with its message ("err MESSAGE")."""
    path = ctl.disks.get(ident, {}).get("vub-control")
    if ident not in ctl.disks:
        ctl.disk(ident)  # raises: no such disk
    if not path:
        raise CtlError("disk %s is not a vhost-user-blk disk (--disk ...,vhost=OPTS)" % ident)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(VUB_TIMEOUT)
    try:
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            data = s.recv(4096)
            if not data:
                break
            buf += data
    except OSError as e:
        raise CtlError("rvirtio-vub %s: %s" % (ident, e))
    finally:
        s.close()
    reply = buf.decode("utf-8", "replace").strip()
    if not reply:
        raise CtlError("rvirtio-vub %s closed the connection without a reply" % ident)
    status, _, payload = reply.partition(" ")
    if status == "ok":
        return payload
    raise CtlError(payload if status == "err" else reply)


@command("vub")
def cmd_vub(ctl, rest):
    """vub ID COMMAND [ARGS...]: send COMMAND to disk ID's rvirtio-vub (a
    vhost= disk) and reply its answer, e.g. `vub d0 hold on`, `vub d0
    status`; `vub d0 help` lists its commands"""
    ident, _, line = rest.partition(" ")
    if not ident or not line.strip():
        raise CtlError("usage: vub ID COMMAND [ARGS...]")
    return vub_request(ctl, ident, line.strip())


# q35's ACPI PCI hotplug registers (QEMU's ICH9 PM, hw/acpi/pcihp.c): the
# guest's _EJ0 selects the bus (its BSEL) and writes the slot's bit to eject.
PCIHP_BASE = 0x0CC0
PCIHP_EJECT = PCIHP_BASE + 0x08
PCIHP_SELECT = PCIHP_BASE + 0x10


def qom_get(ctl, path, prop):
    msg = ctl.qmp.execute({"execute": "qom-get",
                           "arguments": {"path": path, "property": prop}})
    if "error" in msg:
        raise CtlError("qom-get %s %s: %s" % (path, prop, json.dumps(msg["error"])))
    return msg["return"]


@command("yank")
def cmd_yank(ctl, rest):
    """yank ID: take device ID out of the machine behind the guest's back, a
    surprise removal: QEMU ejects it as the guest's ACPI _EJ0 would (the
    slot's hotplug eject register, written through the monitor), but the
    guest is told nothing; its config space then reads all ones. Replies
    once QEMU deleted the device"""
    ident = one_disk(rest, "yank ID")
    dev = "/machine/peripheral/" + ident
    bus = qom_get(ctl, dev, "parent_bus")
    bsel = qom_get(ctl, bus, "acpi-pcihp-bsel")
    slot = qom_get(ctl, dev, "addr") >> 3
    for port, value in ((PCIHP_SELECT, bsel), (PCIHP_EJECT, 1 << slot)):
        line = "o /w 0x%x %d" % (port, value)
        msg = ctl.qmp.execute({"execute": "human-monitor-command",
                               "arguments": {"command-line": line}})
        if "error" in msg or msg.get("return"):
            raise CtlError("%s: %s" % (line, one_line(json.dumps(msg))))
    ev = ctl.qmp.wait_event("DEVICE_DELETED", 30, {"device": ident})
    return json.dumps(ev, separators=(",", ":"))


@command("nbd-release-all")
def cmd_nbd_release_all(ctl, rest):
    """nbd-release-all: resume every nbdkit the channel paused and stop
    every error injection, and release every rvirtio-vub (`release`: hold
    off, slow off, no more lost notifications or ignored kicks); replies
    what it did ("d0 resumed, d1 errors off, d2 vub hold off, released 3")
    or "nothing". The guest's /init sends it when the test is over:
    a request still stuck in a paused nbdkit would hang the guest's sync,
    and the virtio reset of its reboot hangs QEMU (virtio-blk's reset
    drains the requests in flight)."""
    done = []
    for ident, d in ctl.disks.items():
        if d.get("vub-control"):
            try:
                what = vub_request(ctl, ident, "release")
            except CtlError as e:
                what = "release failed: %s" % e
            if what != "nothing":
                done.append("%s vub %s" % (ident, what))
        if d.get("pause-control"):
            pc = ctl.pause_control(ident)
            was = pc.poll()
            # Even if "running": someone else may have used the socket.
            resumed = pc.send("r", PAUSE_ACK_TIMEOUT)
            if was != "running" or not resumed:
                done.append("%s %s" % (ident, "resumed" if resumed else "resume-pending"))
        if d.get("error-file") and os.path.exists(d["error-file"]):
            os.unlink(d["error-file"])
            done.append("%s errors off" % ident)
    return ", ".join(done) or "nothing"


def schedule(ctl, secs, req):
    """Run request req (COMMAND ARGS) secs seconds from now, in a thread;
    its reply goes to the log only."""
    try:
        secs = float(secs)
    except ValueError:
        raise CtlError("'%s' is not a number of seconds" % secs)
    if secs < 0:
        raise CtlError("negative delay")
    name = req.split()[0] if req.split() else ""
    if name not in COMMANDS:
        raise CtlError("unknown command '%s' (try: help)" % name)
    ctl.after_seq += 1
    tag = "after#%d" % ctl.after_seq

    def run():
        ctl.note("%s < %s" % (tag, req))
        ctl.note("%s > %s" % (tag, ctl.handle("%s %s" % (tag, req))))

    t = threading.Timer(secs, run)
    t.daemon = True
    t.start()
    return "%s in %gs: %s" % (tag, secs, req)


@command("after")
def cmd_after(ctl, rest):
    """after SECS COMMAND [ARGS...]: run COMMAND on the host SECS seconds
    from now, e.g. `after 20 nbd-resume d0` while the guest is blocked in
    I/O. Replies at once with "after#N in SECSs: COMMAND ARGS"; the
    command's own reply goes to the channel's log (FILE.ctl) only."""
    secs, _, req = rest.partition(" ")
    if not req.strip():
        raise CtlError("usage: after SECS COMMAND [ARGS...]")
    return schedule(ctl, secs, req.strip())


@command("nbd-pause-after")
def cmd_nbd_pause_after(ctl, rest):
    """nbd-pause-after ID SECS: after SECS nbd-pause ID"""
    words = rest.split()
    if len(words) != 2:
        raise CtlError("usage: nbd-pause-after ID SECS")
    ctl.disk(words[0], "pause-control", "pause")
    return schedule(ctl, words[1], "nbd-pause " + words[0])


def watch_shutdown(ctl, timeout):
    """Once QEMU shuts down (the guest powered off or panicked, QMP quit,
    SIGTERM), resume every paused nbdkit: QEMU's exit waits for the requests
    in flight, which a paused backend would hold until the launcher's
    timeout SIGKILLs QEMU (and the run would count as a timeout, not as what
    it was)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctl.qmp.poll_events()
        except (OSError, CtlError):
            if ctl.qmp.shutdown or time.monotonic() > deadline:
                return  # QEMU is gone, or never came
            ctl.qmp.sock = None
        if ctl.qmp.shutdown:
            break
        time.sleep(0.2)
    ctl.note("QEMU is shutting down %s" % json.dumps(ctl.qmp.shutdown.get("data", {})))
    for ident, d in ctl.disks.items():
        if d.get("pause-control"):
            try:
                done = ctl.pause_control(ident).send("r", PAUSE_ACK_TIMEOUT)
                ctl.note("%s: nbdkit %s" % (ident, "resumed" if done else "resume-pending"))
            except (OSError, CtlError) as e:
                ctl.note("%s: resuming nbdkit failed: %s" % (ident, e))


def serve(args):
    ctl = Ctl(args)
    if args.qmp and any(d.get("pause-control") for d in ctl.disks.values()):
        threading.Thread(target=watch_shutdown, args=(ctl, args.accept_timeout),
                         daemon=True).start()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.socket)
    srv.listen(1)
    if args.ready:
        open(args.ready, "w").close()
    srv.settimeout(args.accept_timeout)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        ctl.note("QEMU never connected")
        return 1
    finally:
        srv.close()
        os.unlink(args.socket)
    ctl.note("guest connected")
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").strip("\r\0 ")
            if not line:
                continue
            ctl.note("< " + line)
            reply = ctl.handle(line)
            ctl.note("> " + reply)
            conn.sendall(reply.encode() + b"\n")
    ctl.note("guest gone")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--socket", required=True, help="unix socket QEMU's ttyS1 chardev connects to")
    p.add_argument("--qmp", help="QMP unix socket (the channel's own)")
    p.add_argument("--disk", action="append", help="a guest disk's spec (repeatable)")
    p.add_argument("--log", help="append requests and replies here")
    p.add_argument("--ready", help="create this file once listening")
    p.add_argument("--accept-timeout", type=float, default=120)
    return serve(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
