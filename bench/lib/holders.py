#!/usr/bin/env python3
"""Connections that the suite keeps open beside a measurement: many idle
clients (`idle`), or one subscriber that never reads (`stalled`).

Both speak just enough NATS (INFO, CONNECT, SUB, PING/PONG), print one line
`ready ...` on stdout once the server has answered the PING of every
connection, then hold until stdin closes or SIGINT/SIGTERM arrives, and
print one JSON line with what they saw before exiting.

    holders.py idle    --host H --port P --count 1000 [--subject-prefix idle]
    holders.py stalled --host H --port P --subject load.0 [--rcvbuf 4096]
"""
import argparse
import fcntl
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import termios
import time

CONNECT = b'CONNECT {"verbose":false,"pedantic":false,"lang":"python","version":"bench","protocol":1,"name":"%s"}\r\n'
TCP_ESTABLISHED = 1  # tcp_states.h


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop()


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def handshake(socks, name, sub_of, deadline):
    """Reads INFO on every socket, sends CONNECT (+ SUB) + PING, and waits for
    the PONG of each. Returns nothing; raises TimeoutError or OSError."""
    sel = selectors.DefaultSelector()
    state = {}
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        state[i] = [b"", "info"]
    waiting = len(socks)
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("%d connections not answered" % waiting)
        for key, _ in sel.select(min(left, 0.5)):
            i = key.data
            s = socks[i]
            data = s.recv(65536)
            if not data:
                raise ConnectionError("server closed connection %d during set-up" % i)
            buf = state[i][0] + data
            while b"\r\n" in buf and state[i][1] != "done":
                line, buf = buf.split(b"\r\n", 1)
                if state[i][1] == "info" and line.startswith(b"INFO"):
                    out = CONNECT % name.encode()
                    subject = sub_of(i)
                    if subject:
                        out += b"SUB %s 1\r\n" % subject.encode()
                    s.sendall(out + b"PING\r\n")
                    state[i][1] = "pong"
                elif line == b"PING":
                    s.sendall(b"PONG\r\n")
                elif state[i][1] == "pong" and line == b"PONG":
                    state[i][1] = "done"
                    waiting -= 1
                    sel.unregister(s)
                elif line.startswith(b"-ERR"):
                    raise ConnectionError("connection %d: %s" % (i, line.decode(errors="replace")))
            state[i][0] = buf
    sel.close()


def connect_all(host, port, count, rcvbuf=0):
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        s.connect((host, port))
        socks.append(s)
    return socks


def hold_idle(args):
    raise_fd_limit(args.count + 64)
    t0 = time.monotonic()
    socks = connect_all(args.host, args.port, args.count)
    handshake(socks, "bench-idle", lambda i: "%s.%d" % (args.subject_prefix, i),
              time.monotonic() + args.timeout)
    print("ready %d connections in %.3f s" % (len(socks), time.monotonic() - t0), flush=True)
    # Hold: answer the server's PINGs (so that no idle-client check closes
    # them) and watch for closes; stop on stdin EOF or a signal.
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    sel.register(sys.stdin, selectors.EVENT_READ, -1)
    closed = pings = 0
    try:
        while True:
            for key, _ in sel.select(1.0):
                if key.data == -1:
                    if not os.read(sys.stdin.fileno(), 4096):
                        raise Stop()
                    continue
                s = socks[key.data]
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    closed += 1
                    sel.unregister(s)
                    continue
                n = data.count(b"PING\r\n")
                if n:
                    pings += n
                    s.sendall(b"PONG\r\n" * n)
    except Stop:
        pass
    print(json.dumps({"connections": len(socks), "closed_by_server": closed,
                      "pings_answered": pings}), flush=True)


def server_side_state(s):
    """TCP state of the server's end of connection @s, from /proc/net/tcp
    (both ends live on this machine). A server that closes a connection with
    unsent data queues its FIN behind that data, so a client that never reads
    never sees it: the server's end shows the close at once (FIN_WAIT1).
    Returns the state number, or None when the server's end is gone."""
    lip, lport = s.getsockname()
    rip, rport = s.getpeername()

    def hexaddr(ip, port):
        return "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(ip))[0], port)

    want_local, want_rem = hexaddr(rip, rport), hexaddr(lip, lport)
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[1] == want_local and parts[2] == want_rem:
                return int(parts[3], 16)
    return None


def unread_bytes(s):
    buf = fcntl.ioctl(s.fileno(), termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


def hold_stalled(args):
    socks = connect_all(args.host, args.port, 1, rcvbuf=args.rcvbuf)
    s = socks[0]
    handshake(socks, "bench-stalled", lambda i: args.subject, time.monotonic() + args.timeout)
    print("ready stalled subscriber on %s (receive buffer %d B)" %
          (args.subject, s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)), flush=True)
    t0 = time.monotonic()
    dropped_after = None
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    try:
        while True:
            # Never reads the socket: only looks at whether the server closed it.
            if dropped_after is None and server_side_state(s) != TCP_ESTABLISHED:
                dropped_after = time.monotonic() - t0
            if sel.select(0.05) and not os.read(sys.stdin.fileno(), 4096):
                raise Stop()
    except Stop:
        pass
    print(json.dumps({"subject": args.subject, "dropped_by_server": dropped_after is not None,
                      "dropped_after_s": dropped_after, "held_s": time.monotonic() - t0,
                      "unread_bytes": unread_bytes(s)}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("idle", "stalled"):
        p = sub.add_parser(name)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--timeout", type=float, default=20.0, help="set-up time limit (s)")
        if name == "idle":
            p.add_argument("--count", type=int, default=1000)
            p.add_argument("--subject-prefix", default="idle")
        else:
            p.add_argument("--subject", default="load.0")
            p.add_argument("--rcvbuf", type=int, default=4096)
    args = ap.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if args.cmd == "idle":
            hold_idle(args)
        else:
            hold_stalled(args)
    except Stop:
        print(json.dumps({"error": "stopped during set-up"}), flush=True)
        return 1
    except (OSError, TimeoutError) as e:
        print("holders.py %s: %s" % (args.cmd, e), file=sys.stderr)
        print(json.dumps({"error": str(e)}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
