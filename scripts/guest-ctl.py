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
"""

import argparse
import json
import os
import socket
import sys
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
        self._connect()
        self.next_id += 1
        req = dict(req, id="ctl-%d" % self.next_id)
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            msg = self._read_msg(timeout)
            if "event" in msg:
                self.events.append(msg)
            elif msg.get("id") == req["id"]:
                return msg

    def wait_event(self, name, timeout, match=None):
        """The first event NAME whose data has all of match's items."""
        self._connect()
        match = match or {}
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                data = ev.get("data", {})
                if ev["event"] == name and all(str(data.get(k)) == v for k, v in match.items()):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise CtlError("no %s event within %ss" % (name, timeout))
            try:
                msg = self._read_msg(left)
            except CtlTimeout:
                continue
            if "event" in msg:
                self.events.append(msg)


class Ctl:
    def __init__(self, args):
        self.qmp = Qmp(args.qmp)
        self.disks = {}
        for spec in args.disk or []:
            d = parse_spec(spec)
            self.disks[d.get("id", "d%d" % len(self.disks))] = d
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def note(self, text):
        if self.log:
            self.log.write("%.3f %s\n" % (time.monotonic(), text))

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
    """disks: the --disk specs, as JSON {id: {key: value}}"""
    return json.dumps(ctl.disks, separators=(",", ":"))


def serve(args):
    ctl = Ctl(args)
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
