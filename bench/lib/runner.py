"""One run of one scenario point against one server: start the server (and
any idle or stalled connections beside it), run the point's load generator
(ringbus-load, or ringbus-load-blocking for the 'blocking' client profile),
collect its JSON, the server's memory and CPU, stop everything. Every step is
bounded in time; what went wrong is recorded in the run's `anomalies`, never
raised."""
import json
import os
import subprocess
import sys
import time

from servers import Server, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
HOLDERS = os.path.join(HERE, "holders.py")
CONNECT_TIMEOUT_S = 5.0

# ringbus-load exit codes (docs/LOAD.md); ringbus-load-blocking's 4 also
# covers out-of-order deliveries and subscribers the server closed.
LOAD_EXIT = {0: "done", 1: "error", 2: "bad usage", 3: "target rate not reached",
             4: "messages lost, duplicated or out of order, or stalled"}


class Helper:
    """A holders.py process; waits for its 'ready' line."""

    def __init__(self, args, log_path, timeout=30.0):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, HOLDERS] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log)
        self.ready = None
        deadline = time.monotonic() + timeout
        # The ready line comes within the set-up timeout holders.py enforces
        # itself (--timeout), so this read is bounded too.
        line = self.proc.stdout.readline().decode(errors="replace").strip()
        if line.startswith("ready") and time.monotonic() < deadline + 5:
            self.ready = line

    def finish(self, timeout=10.0):
        """Closes its stdin (the signal to stop) and returns its JSON line."""
        try:
            out, _ = self.proc.communicate(b"", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.log.close()
        for line in reversed(out.decode(errors="replace").strip().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
        return {"error": "no report (exit %s)" % self.proc.returncode}


def run_point(point, kind, binary, load_bins, rep, out_dir, cpus, extra_args, client_cpus=None):
    """Runs @point once against server @kind with the load generator of its
    profile (@load_bins: profile -> path), under `taskset -c @client_cpus`
    when given. Returns the run's record."""
    tag = "%s.%s.%d" % (point.id, kind, rep)
    profile = getattr(point, "profile", "load")
    rec = {"point": point.id, "server": kind, "rep": rep, "profile": profile,
           "client": os.path.basename(load_bins[profile]), "anomalies": [],
           "loadavg_before": os.getloadavg()[0], "started": time.time()}
    port = free_port()
    srv = Server(kind, binary, port, os.path.join(out_dir, "logs", tag + ".server.log"),
                 cpus=cpus, extra_args=extra_args)
    rec["server_cmd"] = " ".join(srv.cmd)
    try:
        srv.start()
    except RuntimeError as e:
        rec["anomalies"].append("server did not start: %s" % e)
        return rec
    helpers = []
    try:
        if point.idle:
            h = Helper(["idle", "--port", str(port), "--count", str(point.idle)],
                       os.path.join(out_dir, "logs", tag + ".idle.log"))
            helpers.append(("idle", h))
            if not h.ready:
                rec["anomalies"].append("idle connections not set up (see logs/%s.idle.log)" % tag)
            rec["idle_ready"] = h.ready
        if point.stalled:
            h = Helper(["stalled", "--port", str(port), "--subject", "load.0"],
                       os.path.join(out_dir, "logs", tag + ".stalled.log"))
            helpers.append(("stalled", h))
            if not h.ready:
                rec["anomalies"].append("stalled subscriber not set up")
        before, busy0, t0 = srv.status(), machine_busy_s(), time.monotonic()
        rec.update(run_load(point, load_bins[profile], port, out_dir, tag, client_cpus))
        rec["anomalies"] += rec.pop("anomalies_load")
        after, busy1, wall = srv.status(), machine_busy_s(), time.monotonic() - t0
        rec["server_alive_after"] = srv.alive()
        if not srv.alive():
            rec["anomalies"].append("server exited during the run with %s: %s" %
                                    (srv.proc.returncode, srv.log_tail()))
        rec["server_vmhwm_kb"] = after.get("vmhwm_kb")
        rec["server_threads"] = after.get("threads")
        if before.get("cpu_s") is not None and after.get("cpu_s") is not None:
            rec["server_cpu_s"] = after["cpu_s"] - before["cpu_s"]
            cpu = (rec.get("load") or {}).get("cpu") or {}
            load_s = (cpu.get("user_s") or 0) + (cpu.get("sys_s") or 0)
            # CPU the rest of the machine used meanwhile (other engineers'
            # work, the helpers), in cores: the noise of this run.
            rec["others_cores"] = max(0.0, busy1 - busy0 - rec["server_cpu_s"] - load_s) / wall
            rec["machine_busy_cores"] = (busy1 - busy0) / wall
    finally:
        for name, h in helpers:
            rec[name] = h.finish()
        rc, how = srv.stop()
        rec["server_exit"] = rc
        rec["server_stop"] = how
        if how != "SIGINT" or rc not in (0, None):
            if rec.get("server_alive_after", True):
                rec["anomalies"].append("server stop: %s, exit %s" % (how, rc))
    load = rec.get("load") or {}
    for k in ("lost", "duplicated", "out_of_order"):
        if k == "out_of_order" and not point.ordered:
            continue  # replies of a queue group of responders: no order to keep
        if load.get(k):
            rec["anomalies"].append("%s %d" % (k.replace("_", " "), load[k]))
    if load.get("closed_by_server"):
        rec["anomalies"].append("%d subscribers closed by the server" % load["closed_by_server"])
    if load.get("stalled"):
        rec["anomalies"].append("%s: nothing moved for --drain (stalled)" % rec["client"])
    if point.idle and (rec.get("idle") or {}).get("closed_by_server"):
        rec["anomalies"].append("server closed %d idle connections" %
                                rec["idle"]["closed_by_server"])
    rec["elapsed_s"] = time.time() - rec["started"]
    return rec


def run_load(point, load_bin, port, out_dir, tag, cpus=None):
    """Runs @load_bin (ringbus-load or ringbus-load-blocking, which take the
    same options here) for @point, under `taskset -c @cpus` when given;
    returns its part of the run's record."""
    tool = os.path.basename(load_bin)
    jpath = os.path.join(out_dir, "runs", tag + ".json")
    hpath = os.path.join(out_dir, "hgrm", tag + ".hgrm")
    cmd = [load_bin] + point.args + [
        "--url", "nats://127.0.0.1:%d" % port, "--duration", "%gs" % point.duration,
        "--warmup", "%dms" % int(point.warmup * 1000), "--drain", "%gs" % point.drain,
        "--connect-timeout", "%gs" % CONNECT_TIMEOUT_S, "--json", jpath, "--hgrm", hpath,
        "--quiet"]
    limit = point.warmup + point.duration + point.drain + CONNECT_TIMEOUT_S + 20
    out = {"load_cmd": " ".join(cmd[1:]), "hgrm": os.path.relpath(hpath, out_dir)}
    if cpus:
        cmd = ["taskset", "-c", cpus] + cmd  # taskset execs: the tool's own CPU is read as before
        out["load_cpus"] = cpus
    anomalies = []
    t0 = time.monotonic()
    with open(os.path.join(out_dir, "logs", tag + ".load.txt"), "wb") as log:
        try:
            p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=limit)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = None
            anomalies.append("%s did not finish within %.0f s: killed" % (tool, limit))
    out["load_secs"] = time.monotonic() - t0
    out["load_exit"] = rc
    out["load_exit_meaning"] = LOAD_EXIT.get(rc, "killed" if rc is None else "signal/other")
    if rc not in (0, 3, None):
        anomalies.append("%s exit %s (%s): %s" %
                         (tool, rc, out["load_exit_meaning"], last_line(out_dir, tag)))
    if rc == 3 and not point.rate:
        anomalies.append("%s: target rate not reached" % tool)
    try:
        with open(jpath) as f:
            out["load"] = json.load(f)
    except (OSError, ValueError):
        out["load"] = None
        anomalies.append("no JSON from %s" % tool)
    if not os.path.exists(hpath):
        out["hgrm"] = None
    out["anomalies_load"] = anomalies
    return out


def settle(max_wait, threshold=0.5, sample=0.5):
    """Waits up to @max_wait seconds for the rest of the machine to use less
    than @threshold cores (sampled over @sample s). Returns (seconds waited,
    cores busy in the last sample)."""
    waited = 0.0
    while True:
        b0 = machine_busy_s()
        time.sleep(sample)
        busy = (machine_busy_s() - b0) / sample
        waited += sample
        if busy < threshold or waited >= max_wait:
            return waited, busy
        time.sleep(0.5)
        waited += 0.5


def machine_busy_s():
    """CPU seconds all cores spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: all but idle, iowait
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def last_line(out_dir, tag):
    try:
        with open(os.path.join(out_dir, "logs", tag + ".load.txt"), "rb") as f:
            lines = f.read().decode(errors="replace").strip().splitlines()
        errs = [l for l in lines if l.startswith(("ringbus-load:", "ringbus-load-blocking:"))]
        return (errs or lines or [""])[-1]
    except OSError:
        return ""
