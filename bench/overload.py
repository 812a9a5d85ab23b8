#!/usr/bin/env python3
"""Overload under admission control: one publisher tries to send at FACTOR
times what one subscriber consumes, for DURATION seconds, on loopback.

The subscriber reads at exactly RATE msgs/s (it never reads ahead of
RATE * elapsed), checks every sequence number, then drains at full speed.
The publisher sends in 5 ms slices and records how many messages the socket
accepted each second: when the server defers it, TCP pushes back and its
rate settles at the consumer's. Reports sent, received, lost, duplicated,
out of order, the publisher's rate per second, and the server's peak RSS.

    overload.py --port P [--pid PID] [--rate 20000] [--factor 2]
                [--duration 20] [--size 128] [--json FILE]

Bounded: the run lasts DURATION plus at most 30 s of draining.
"""
import argparse
import json
import socket
import statistics
import sys
import threading
import time

SUBJECT = b"ovl.x"


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    f = s.makefile("rb")
    info = f.readline()
    if not info.startswith(b"INFO "):
        raise SystemExit("overload: no INFO from the server: %r" % info[:80])
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"name":"overload"}\r\n')
    return s


class Subscriber(threading.Thread):
    def __init__(self, port, rate):
        super().__init__(daemon=True)
        self.sock = connect(port, rcvbuf=64 * 1024)
        self.sock.sendall(b"SUB ovl.x 1\r\nPING\r\n")
        self.rate = rate
        self.got = 0
        self.expect = 0
        self.lost_gaps = 0
        self.dups = 0
        self.reorders = 0
        self.full_speed = threading.Event()
        self.buf = b""
        self.ready = threading.Event()
        self.done = threading.Event()

    def frames(self):
        """Parses whole MSG frames out of self.buf; yields payloads."""
        while True:
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                return
            line = self.buf[:nl]
            if line.startswith(b"MSG "):
                size = int(line.rsplit(b" ", 1)[1])
                end = nl + 2 + size + 2
                if len(self.buf) < end:
                    return
                yield self.buf[nl + 2:nl + 2 + size]
                self.buf = self.buf[end:]
            else:
                if line == b"PING":
                    self.sock.sendall(b"PONG\r\n")
                elif line == b"PONG":
                    self.ready.set()
                self.buf = self.buf[nl + 2:]

    def run(self):
        start = None
        while True:
            if self.ready.is_set() and start is None:
                start = time.monotonic()
            if start is not None and not self.full_speed.is_set():
                allowed = self.rate * (time.monotonic() - start)
                if self.got >= allowed:
                    time.sleep(0.001)
                    continue
            try:
                data = self.sock.recv(16 * 1024)
            except socket.timeout:
                break
            if not data:
                break
            self.buf += data
            for p in self.frames():
                seq = int(p.split(b" ", 1)[0])
                if seq == self.expect:
                    self.expect += 1
                elif seq > self.expect:
                    self.lost_gaps += seq - self.expect
                    self.expect = seq + 1
                elif seq < self.expect:
                    self.dups += 1
                self.got += 1
        self.done.set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, default=0, help="server pid, for its peak RSS")
    ap.add_argument("--rate", type=int, default=20000, help="consumer msgs/s")
    ap.add_argument("--factor", type=float, default=2.0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--json")
    a = ap.parse_args()

    sub = Subscriber(a.port, a.rate)
    sub.start()
    if not sub.ready.wait(10):
        raise SystemExit("overload: the subscription was not confirmed")
    pub = connect(a.port)
    target = a.rate * a.factor
    slice_s = 0.005
    per_slice = max(1, int(target * slice_s))
    sent = 0
    per_second = []
    t0 = time.monotonic()
    second_start, second_sent = t0, 0
    while True:
        now = time.monotonic()
        if now - t0 >= a.duration:
            break
        due = int(target * (now - t0)) - sent
        n = min(max(due, 0), per_slice * 4)
        if n:
            chunk = bytearray()
            for i in range(sent, sent + n):
                body = b"%d " % i
                body += b"x" * (a.size - len(body))
                chunk += b"PUB ovl.x %d\r\n" % len(body) + body + b"\r\n"
            pub.sendall(chunk)  # blocks while the server defers us
            sent += n
            second_sent += n
        else:
            time.sleep(slice_s / 2)
        if time.monotonic() - second_start >= 1.0:
            per_second.append(second_sent / (time.monotonic() - second_start))
            second_start, second_sent = time.monotonic(), 0
    pub.sendall(b"PING\r\n")
    sub.full_speed.set()
    deadline = time.monotonic() + 30
    while sub.got < sent and time.monotonic() < deadline and not sub.done.is_set():
        time.sleep(0.05)
    pub.close()

    peak_rss_mib = None
    if a.pid:
        try:
            with open("/proc/%d/status" % a.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_rss_mib = int(line.split()[1]) / 1024
        except OSError:
            pass
    settled = per_second[len(per_second) // 2:] or per_second
    out = {
        "consumer_rate": a.rate,
        "offered_rate": target,
        "duration_s": a.duration,
        "size": a.size,
        "sent": sent,
        "received": sub.got,
        "lost": sent - sub.got,
        "gaps": sub.lost_gaps,
        "duplicates": sub.dups,
        "publisher_rate_per_second": [round(x) for x in per_second],
        "publisher_rate_settled": round(statistics.median(settled)) if settled else 0,
        "server_peak_rss_mib": peak_rss_mib,
    }
    print("offered %d/s to a consumer of %d/s for %.0fs: sent %d, received %d, lost %d, "
          "duplicates %d; publisher settled at %d/s (%.2fx the consumer); server peak RSS %s MiB"
          % (target, a.rate, a.duration, sent, sub.got, sent - sub.got, sub.dups,
             out["publisher_rate_settled"], out["publisher_rate_settled"] / a.rate,
             "%.0f" % peak_rss_mib if peak_rss_mib else "?"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0 if out["lost"] == 0 and sub.dups == 0 else 4


if __name__ == "__main__":
    sys.exit(main())
