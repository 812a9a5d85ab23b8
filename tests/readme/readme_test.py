#!/usr/bin/env python3
"""Runs the snippets of README.md as they are written there, so that the
front page stays true.

    readme_test.py README SERVER KIND RINGBUS NODE_MODULES

A snippet is a fenced block right after a `<!-- readme-test: NAME -->`
line; `NAME output` is what running NAME must print. SERVER (of KIND
ringbus or nats-server) is started on a free loopback port and the
snippets' `127.0.0.1:4222` points at it. C snippets are built as the README
says (`cc NAME -o ... -lnats`), JavaScript ones run with node and the npm
`nats` client of NODE_MODULES; a configuration snippet is checked with
`RINGBUS -t -c` (it has a ringbus { } block, which nats-server refuses).
Exits 0 when every snippet did what the README says, 1 on the first that
did not, 77 (skipped) without node once the others passed.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

MARK = re.compile(r"^<!-- readme-test: (\S+)( output)? -->$")
DEFAULT_URL = "127.0.0.1:4222"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def snippets(readme):
    """{name: text} and {name: expected output} from the README's marks."""
    code, outputs = {}, {}
    lines = open(readme, encoding="utf-8").read().split("\n")
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            fail("%s: the mark on line %d is not followed by a fenced block" % (readme, i + 1))
        end = next((j for j in range(i + 2, len(lines)) if lines[j] == "```"), None)
        if end is None:
            fail("%s: the block after line %d never closes" % (readme, i + 1))
        text = "\n".join(lines[i + 2:end]) + "\n"
        (outputs if m.group(2) else code)[m.group(1)] = text
    for name in outputs:
        if name not in code:
            fail("an output for %s, which is no snippet" % name)
    if not code:
        fail("%s has no readme-test snippets" % readme)
    return code, outputs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(server, log):
    """The server on a free port, once it accepts; (process, port)."""
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([server, "-a", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                time.sleep(0.02)
        proc.kill()
        proc.wait()
    fail("%s never accepted on a loopback port" % server)


def run(argv, cwd, env=None, timeout=60):
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        fail("%s exited %d\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r.stdout


def check(name, got, outputs):
    want = outputs.get(name)
    if want is None:
        fail("%s has no output block in the README to compare with" % name)
    if got != want:
        fail("%s printed %r; the README says %r" % (name, got, want))
    print("ok: %s printed what the README shows" % name)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    readme, server, kind, ringbus, node_modules = sys.argv[1:]
    code, outputs = snippets(readme)
    work = tempfile.mkdtemp(prefix="readme-test.")
    log = open(os.path.join(work, "server.log"), "w")
    proc, port = start(server, log)
    url = "127.0.0.1:%d" % port
    skipped = []
    try:
        for name, text in code.items():
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(text.replace(DEFAULT_URL, url))
            if name.endswith(".c"):
                run([os.environ.get("CC", "cc"), name, "-o", name[:-2], "-lnats"], work)
                check(name, run(["./" + name[:-2]], work), outputs)
            elif name.endswith(".js"):
                if shutil.which("node") is None or not os.path.isdir(node_modules):
                    skipped.append(name)
                    continue
                env = dict(os.environ, NODE_PATH=node_modules)
                check(name, run(["node", name], work, env), outputs)
            elif name.endswith(".conf"):
                if kind != "ringbus":
                    continue
                run([ringbus, "-t", "-c", name], work)
                print("ok: %s is a valid configuration" % name)
            else:
                fail("%s: no rule to run a snippet of this kind" % name)
        if proc.poll() is not None:
            fail("the server exited during the snippets (%d)" % proc.returncode)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    if skipped:
        print("skip: no node or no npm client for %s" % ", ".join(skipped))
        sys.exit(77)


main()
