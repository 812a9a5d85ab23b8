#!/usr/bin/env python3
"""Probes a real nats-server's WebSocket listener with bad handshakes and bad
frames and prints what it answers: the source of the table in
docs/WEBSOCKET.md and in tests/io/test_ws.c. Not run by ctest (it needs
nats-server); run by hand: python3 tests/io/ws_probe_nats.py [nats-server]."""
import base64
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(binary, extra):
    port = free_port()
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write('listen: "127.0.0.1:%d"\n' % free_port())
    conf.write('websocket {\n listen: "127.0.0.1:%d"\n no_tls: true\n%s}\n' % (port, extra))
    conf.close()
    proc = subprocess.Popen([binary, "-c", conf.name], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port, conf.name
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("nats-server did not start")


def recv_all(s, timeout=0.5):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out, "EOF"
            out += b
    except socket.timeout:
        return out, "open"
    except ConnectionResetError:
        return out, "RST"


def http(port, raw):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(raw)
    out, end = recv_all(s)
    s.close()
    return out, end


def request(host="h:1", extra="", method="GET", version="13", key=KEY,
            upgrade="websocket", connection="Upgrade"):
    lines = ["%s / HTTP/1.1" % method]
    if host is not None:
        lines.append("Host: " + host)
    if upgrade is not None:
        lines.append("Upgrade: " + upgrade)
    if connection is not None:
        lines.append("Connection: " + connection)
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: " + version)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def show(name, out, end):
    text = out.decode("latin-1")
    text = "\n    ".join(l for l in text.split("\r\n") if not l.startswith("Date:"))
    print("== %s [%s]\n    %s" % (name, end, text))


def frame(op, payload, fin=True, mask=True, rsv=0, length=None):
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = b"\x37\xfa\x21\x3d"
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def parse_frames(data):
    out = []
    while len(data) >= 2:
        b0, b1 = data[0], data[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            n, pos = struct.unpack(">H", data[2:4])[0], 4
        elif n == 127:
            n, pos = struct.unpack(">Q", data[2:10])[0], 10
        body = data[pos:pos + n]
        if b0 & 0x40:
            body = zlib.decompressobj(-15).decompress(body + b"\x00\x00\xff\xff")
        desc = "fin=%d rsv1=%d op=%d len=%d" % (b0 >> 7, (b0 >> 6) & 1, b0 & 15, n)
        if b0 & 15 == 8 and len(body) >= 2:
            desc += " code=%d reason=%r" % (struct.unpack(">H", body[:2])[0], body[2:])
        else:
            desc += " %r" % body[:60]
        out.append(desc)
        data = data[pos + n:]
    return out


def ws_session(port, frames_out, compress=False):
    s = socket.create_connection(("127.0.0.1", port))
    ext = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if compress else ""
    s.sendall(request(host="127.0.0.1:%d" % port, extra=ext))
    head = b""
    s.settimeout(2)
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    info, _ = recv_all(s, 0.3)
    info = parse_frames(info)
    try:
        s.sendall(frames_out)
    except OSError as e:
        info.append("send failed: %s" % e.strerror)
    out, end = recv_all(s, 0.7)
    s.close()
    return head, info, parse_frames(out), end


def handshakes(port):
    cases = [
        ("good", request()),
        ("good, compression offered",
         request(extra="Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")),
        ("POST", request(method="POST")),
        ("no Host", request(host=None)),
        ("HTTP/1.0 without Host", b"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: " + KEY.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        ("no Upgrade", request(upgrade=None)),
        ("Upgrade: h2c", request(upgrade="h2c")),
        ("Upgrade token list", request(upgrade="foo, WebSocket")),
        ("no Connection", request(connection=None)),
        ("Connection: keep-alive, upgrade", request(connection="keep-alive, upgrade")),
        ("no key", request(key=None)),
        ("version 12", request(version="12")),
        ("no version", request(version=None)),
        ("version list 8, 13", request(version="8, 13")),
        ("data before handshake done", request() + b"\x81\x80abcd"),
        ("garbage request line", b"HELLO\r\n\r\n"),
        ("lowercase method", request(method="get")),
        ("header line without colon", request(extra="Bogus\r\n")),
        ("request of 1 MiB headers", request(extra="X-Big: " + "a" * (1 << 20) + "\r\n")),
        ("HTTP/1.2", request().replace(b"HTTP/1.1", b"HTTP/1.2", 1)),
        ("HTTP/2.0", request().replace(b"HTTP/1.1", b"HTTP/2.0", 1)),
        ("target without slash", request().replace(b"GET /", b"GET abc", 1)),
        ("space before colon", request(extra="X-A : b\r\n")),
        ("folded header line", request(extra="X-A: b\r\n c\r\n")),
        ("two Host headers", request(extra="Host: other:2\r\n")),
        ("empty Host", request(host="")),
        ("bare LF line ends", request().replace(b"\r\n", b"\n")),
        ("empty key", request(key="")),
        ("request of 2 MiB headers", request(extra="X-Big: " + "a" * (2 << 20) + "\r\n")),
    ]
    for name, raw in cases:
        out, end = http(port, raw)
        show(name, out, end)


def origins(port):
    print("-- Host h:1; a missing Origin is accepted:")
    show("no Origin", *http(port, request(host="h:1")))
    for origin in ["http://h:1", "http://other:1", "http://H:1", "https://h:1", "http://h:2",
                   "http://h", "not a url", ":bad", "https://x:8443", "https://x", "http://y:80",
                   "http://y", "http://u@h:1", "http://[::1]:1"]:
        out, end = http(port, request(host="h:1", extra="Origin: %s\r\n" % origin))
        show("Origin %s (Host h:1)" % origin, out, end)
    out, end = http(port, request(host="h", extra="Origin: http://h:80\r\n"))
    show("Origin http://h:80 (Host h)", out, end)


def frames(port, compress):
    ping = b"PING\r\n"
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = comp.compress(ping) + comp.flush(zlib.Z_SYNC_FLUSH)
    cases = [
        ("masked binary PING", frame(2, ping)),
        ("masked text PING", frame(1, ping)),
        ("unmasked binary PING", frame(2, ping, mask=False)),
        ("ping with payload", frame(9, b"hi")),
        ("pong", frame(10, b"x") + frame(2, ping)),
        ("ping of 126 bytes", frame(9, b"a" * 126)),
        ("ping without FIN", frame(9, b"a", fin=False)),
        ("close 1000 bye", frame(8, struct.pack(">H", 1000) + b"bye")),
        ("close empty", frame(8, b"")),
        ("close 1 byte", frame(8, b"\x03")),
        ("close 1000 bad utf8", frame(8, struct.pack(">H", 1000) + b"\xff\xfe")),
        ("close code 999", frame(8, struct.pack(">H", 999))),
        ("fragmented PI+NG", frame(2, b"PI", fin=False) + frame(0, b"NG\r\n")),
        ("new message before final", frame(2, b"PI", fin=False) + frame(2, b"NG\r\n")),
        ("continuation first", frame(0, ping)),
        ("opcode 3", frame(3, ping)),
        ("opcode 11", frame(11, b"")),
        ("RSV2 set", frame(2, ping, rsv=0x20)),
        ("RSV3 set", frame(2, ping, rsv=0x10)),
        ("RSV1 on plain bytes", frame(2, ping, rsv=0x40)),
        ("RSV1 deflated PING", frame(2, deflated[:-4], rsv=0x40)),
        ("RSV1 on continuation", frame(2, b"PI", fin=False) + frame(0, b"NG\r\n", rsv=0x40)),
        ("PUB over max_payload (2 MiB)", frame(2, b"PUB a 2097152\r\n" + b"x" * 2097152 + b"\r\n")),
        ("length 2^63 header", frame(2, b"", length=1 << 63)),
    ]
    for name, raw in cases:
        head, info, out, end = ws_session(port, raw, compress)
        print("== %s%s [%s]" % (name, " (deflate)" if compress else "", end))
        for f in out:
            print("    " + f)
    head, info, _, _ = ws_session(port, b"", compress)
    print("== upgrade answer%s:\n    %s" % (" (deflate)" if compress else "",
                                            head.decode().replace("\r\n", "\n    ")))
    print("    INFO frame: " + " | ".join(info)[:120])


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "nats-server"
    runs = [("plain", "", lambda p: (handshakes(p), frames(p, False))),
            ("compression", " compression: true\n", lambda p: frames(p, True)),
            ("same_origin", " same_origin: true\n", origins),
            ("allowed_origins", ' allowed_origins: ["http://h:1", "https://x:8443", "http://y"]\n',
             origins),
            ("same_origin + allowed_origins", ' same_origin: true\n'
             ' allowed_origins: ["http://h:1", "https://x:8443"]\n', origins)]
    for name, extra, fn in runs:
        proc, port, conf = start(binary, extra)
        print("######## %s" % name)
        try:
            fn(port)
        finally:
            proc.terminate()
            proc.wait()
            os.unlink(conf)


if __name__ == "__main__":
    main()
