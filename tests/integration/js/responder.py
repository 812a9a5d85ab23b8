#!/usr/bin/env python3
"""A queue-group responder as a plain process with a blocking socket, for
services.sh (the integration test) and bench/services.sh: responder.py PORT SUBJECT QUEUE MIN_MS MAX_MS. It answers
every request with "ok" after working (sleeping) MIN_MS..MAX_MS, one at a
time, until the server closes the connection or it gets SIGTERM."""
import random
import socket
import sys
import time


def main():
    port, subject, queue = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    lo, hi = float(sys.argv[4]) / 1000, float(sys.argv[5]) / 1000
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    f.readline()  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n'
              b"SUB %s %s 1\r\nPING\r\n" % (subject.encode(), queue.encode()))
    while True:
        line = f.readline()
        if not line:
            return
        if line.startswith(b"PING"):
            s.sendall(b"PONG\r\n")
            continue
        if line.startswith(b"PONG"):
            print("ready", flush=True)
            continue
        if not line.startswith(b"MSG"):
            continue
        parts = line.split()
        f.read(int(parts[-1]) + 2)
        time.sleep(random.uniform(lo, hi))
        if len(parts) == 5:  # MSG subject sid reply len
            s.sendall(b"PUB %s 2\r\nok\r\n" % parts[3])


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError, ConnectionResetError):
        pass
