"""Starting, watching and stopping the servers under test (ringbus from a
build directory, nats-server from Debian), each on a free loopback port,
optionally under the same `taskset` CPU list."""
import os
import random
import signal
import socket
import subprocess
import time

NATS_SERVER = "/usr/sbin/nats-server"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _try_port(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return s.getsockname()[1]


def free_port():
    """A loopback port nobody listens on right now, chosen below the
    kernel's ephemeral range when there is room: a port the kernel hands
    out (bind to 0) can be taken by the load tools' own outgoing
    connections between the pick and the server's bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    for _ in range(64 if low > 12000 else 0):
        port = _try_port(random.randrange(10000, low))
        if port:
            return port
    return _try_port(0)


def version(kind, binary):
    """The server's version string, or '?'."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        text = (out.stdout + out.stderr).strip().splitlines()
        return text[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


class Server:
    """One server process on 127.0.0.1:port. Owner: the suite's main thread."""

    def __init__(self, kind, binary, port, log_path, cpus=None, extra_args=()):
        self.kind = kind
        self.port = port
        self.log_path = log_path
        cmd = [binary, "-a", "127.0.0.1", "-p", str(port)] + list(extra_args)
        if cpus:
            cmd = ["taskset", "-c", cpus] + cmd  # taskset execs: same pid
        self.cmd = cmd
        self.proc = None
        self.log = None

    def start(self, timeout=10.0):
        """Starts the server and waits until it sends INFO. Raises RuntimeError
        with the end of its log when it does not come up."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s at start: %s" %
                                   (self.kind, self.proc.returncode, self.log_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(5) == b"INFO ":
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("%s did not answer on port %d within %.0f s" %
                           (self.kind, self.port, timeout))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        """Peak and current resident memory (kB) and CPU seconds used so far,
        from /proc; empty when the process is gone."""
        out = {}
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(("VmHWM:", "VmRSS:", "Threads:")):
                        key, val = line.split(":", 1)
                        out[key] = int(val.split()[0])
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
                # utime and stime are fields 14 and 15 (1-based, from pid).
                out["cpu_s"] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, ValueError, IndexError):
            pass
        return {"vmhwm_kb": out.get("VmHWM"), "vmrss_kb": out.get("VmRSS"),
                "threads": out.get("Threads"), "cpu_s": out.get("cpu_s")}

    def stop(self, timeout=10.0):
        """SIGINT (both servers exit cleanly on it), then SIGKILL after
        @timeout. Returns (exit code, how it was stopped)."""
        how = "already exited"
        if self.proc.poll() is None:
            how = "SIGINT"
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                how = "SIGKILL after %.0f s (did not stop on SIGINT)" % timeout
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None
        return self.proc.returncode, how

    def log_tail(self, n=5):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            return " | ".join(lines[-n:])
        except OSError:
            return ""
