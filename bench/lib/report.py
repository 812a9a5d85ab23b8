"""report.md of a suite run: machine, versions, set-up, the targets, one
table per scenario (medians, min-max of the repetitions, ratio), anomalies
and plots."""
import os
import platform
import subprocess

from scenarios import PROFILES, TARGETS
from summary import FAULTS, METRICS, relative_spread

DASH = "\u2013"
REQREP_LOSS_NOTE = (
    "Note on request/reply losses: ringbus-load's responders drop a request whose reply "
    "does not fit their output buffer (tools/load/reqrep.c, `rep_msg`; the count "
    "`dropped` is not reported). In those runs `served` equals `delivered`: the replies "
    "that arrived are all that the responders sent. Checked against nats-server's /varz "
    "at 700k req/s: the server received every request the requesters counted as sent "
    "and delivered all of them (in_msgs = out_msgs, no slow consumer), yet 66,607 were "
    "never answered. These losses are the load generator's at saturation, not the "
    "servers'; the latency percentiles of such runs leave the unanswered requests out.")


def machine():
    """nproc, CPU model, kernel, memory, load average."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.1f GiB" % (kb / 1048576.0)
    except (OSError, ValueError, IndexError):
        pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
            "memory": mem, "loadavg": list(os.getloadavg())}


def git_describe(repo):
    """Commit and whether the tree has local changes (read-only git)."""
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def fmt(key, v):
    if v is None:
        return "n/a"
    if key.endswith("_us"):
        return "%.1f us" % v if v < 1000 else "%.2f ms" % (v / 1000.0)
    if key.endswith("_msgs_s"):
        if v >= 1e6:
            return "%.2fM" % (v / 1e6)
        return "%.1fk" % (v / 1e3) if v >= 1e3 else "%.0f" % v
    if key in ("stalled_dropped", "target_reached"):
        return "%g" % v
    if key == "others_cores":
        return "%.2f" % v
    if key.endswith("_mb") or key.endswith("_mb_s"):
        return "%.1f" % v
    if key.endswith("_s"):
        return "%.2f s" % v
    return "%.3g" % v


def cell(key, m):
    if not m:
        return "n/a"
    if m["n"] == 1 or m["min"] == m["max"]:
        return fmt(key, m["median"])
    return "%s (%s%s%s)" % (fmt(key, m["median"]), fmt(key, m["min"]), DASH, fmt(key, m["max"]))


def ratio_cell(entry, key):
    r = entry["ratio"].get(key)
    return "%.2f" % r if r is not None else "n/a"


def table(entries, servers, metric_rows):
    """Rows: (entry, key, row label)."""
    two = len(servers) == 2
    head = "| | " + " | ".join(servers) + (" | ratio %s/%s |" % tuple(servers) if two else " |")
    lines = [head, "|---" * (len(servers) + 1 + (1 if two else 0)) + "|"]
    for e, key, label in metric_rows:
        cells = [cell(key, e["servers"][s]["metrics"].get(key)) for s in servers]
        lines.append("| %s | %s |%s" % (label, " | ".join(cells),
                                        " %s |" % ratio_cell(e, key) if two else ""))
    return "\n".join(lines)


def spread_cell(key, m):
    """The median and, from two repetitions on, (max - min) / median."""
    if not m:
        return "n/a"
    if m["n"] < 2 or m.get("spread") is None:
        return "%s (1 run)" % fmt(key, m["median"]) if m["n"] == 1 else fmt(key, m["median"])
    return "%s (%.0f%%)" % (fmt(key, m["median"]), 100 * m["spread"])


def rate_cpu_table(entries, servers):
    """Per throughput point and client profile: delivered msg/s and the
    server's CPU time per delivered message, each with its spread, per
    server; the ratios of the medians."""
    two = len(servers) == 2
    head = "| point | client | " + " | ".join(
        "%s msg/s | %s CPU us/msg" % (s, s) for s in servers)
    head += " | rate ratio %s/%s | CPU ratio %s/%s |" % (tuple(servers) * 2) if two else " |"
    lines = [head, "|---" * (2 + 2 * len(servers) + (2 if two else 0)) + "|"]
    for e in entries:
        cells = []
        for s in servers:
            m = e["servers"][s]["metrics"]
            cells += [spread_cell("delivered_msgs_s", m.get("delivered_msgs_s")),
                      spread_cell("server_cpu_us_per_msg", m.get("server_cpu_us_per_msg"))]
        row = "| %s | %s | %s |" % (e["base"], PROFILES.get(e.get("profile", "load"), "?"),
                                    " | ".join(cells))
        if two:
            row += " %s | %s |" % (ratio_cell(e, "delivered_msgs_s"),
                                   ratio_cell(e, "server_cpu_us_per_msg"))
        lines.append(row)
    return "\n".join(lines)


def fault_cell(f):
    """lost / out of order / duplicated / subscribers closed, summed over
    the repetitions; anything but zero is a correctness failure, in bold."""
    if not f or not f.get("runs_reporting"):
        return "n/a"
    vals = ["n/a" if f.get(k) is None else "%d" % f[k] for k, _ in FAULTS if k in f]
    text = " / ".join(vals)
    return "**%s FAIL**" % text if any(f.get(k) for k, _ in FAULTS) else text


def faults_table(entries, servers):
    head = "| point | client | " + " | ".join(servers) + " |"
    lines = [head, "|---" * (2 + len(servers)) + "|"]
    for e in entries:
        lines.append("| %s | %s | %s |" % (
            e["base"], PROFILES.get(e.get("profile", "load"), "?"),
            " | ".join(fault_cell(e["servers"][s].get("faults")) for s in servers)))
    return "\n".join(lines)


def targets_table(summary, servers):
    if servers != ["ringbus", "nats-server"] and set(servers) != {"ringbus", "nats-server"}:
        return "(targets need both ringbus and nats-server in --servers)"
    by = {e["point"]: e for e in summary}
    lines = ["| target | ringbus | nats-server | ratio | goal | met | other processes' CPU, ringbus / nats-server runs (cores) |",
             "|---|---|---|---|---|---|---|"]
    for point, key, goal, cmp, text in TARGETS:
        e = by.get(point)
        if not e or key not in e["ratio"]:
            lines.append("| %s | n/a | n/a | n/a | %s %.1fx | not measured in this run | |" %
                         (text, cmp, goal))
            continue
        # The ratio is always ringbus / nats-server, whichever order servers ran in.
        rb, ns = e["servers"]["ringbus"]["metrics"][key], e["servers"]["nats-server"]["metrics"][key]
        r = rb["median"] / ns["median"]
        met = r >= goal if cmp == ">=" else r <= goal
        oth = [e["servers"][s]["metrics"].get("others_cores") for s in ("ringbus", "nats-server")]
        lines.append("| %s | %s | %s | %.2f | %s %.1fx | %s | %s |" %
                     (text, cell(key, rb), cell(key, ns), r, cmp, goal, "yes" if met else "**no**",
                      " / ".join(fmt("others_cores", o["median"]) if o else "n/a" for o in oth)))
    return "\n".join(lines)


def scenario_section(sc, summary, servers):
    entries = [e for e in summary if e["scenario"] == sc.id]
    out = ["## %s" % sc.title, "", sc.what, ""]
    if sc.kind == "throughput":
        out += ["**delivered msg/s and server CPU per delivered message** (medians; in "
                "brackets the spread of the repetitions, (max - min) / median)", "",
                rate_cpu_table(entries, servers), "",
                "**delivery faults, summed over the repetitions**: %s (anything but 0 is "
                "a correctness failure of that server)" % " / ".join(l for _, l in FAULTS), "",
                faults_table(entries, servers), ""]
        for key, label, _ in METRICS["throughput"]:
            out += ["**%s**" % label, "", table(entries, servers, [(e, key, e["label"]) for e in entries]), ""]
    elif sc.kind == "latency":
        for e in entries:
            rows = [(e, k, lab) for k, lab, _ in METRICS["latency"]]
            out += ["### %s" % e["label"], "", table([e], servers, rows), "",
                    "![spectrum](plots/latency_%s.png)" % e["point"], ""]
    elif sc.kind == "curve":
        for key, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"),
                           ("rate_msgs_s", "replies/s achieved"),
                           ("target_reached", "offered rate sent on schedule (1 = yes, median)"),
                           ("others_cores", "CPU taken by other processes meanwhile (cores of 2)")):
            out += ["**%s**" % label, "", table(entries, servers, [(e, key, e["label"]) for e in entries]), ""]
        out += ["![latency vs rate](plots/latency_vs_rate.png)", "",
                "![spectra](plots/latency_rr_open_spectrum.png)", ""]
    elif sc.kind == "slow":
        for e in entries:
            rows = [(e, k, lab) for k, lab, _ in METRICS["slow"]
                    if any(k in e["servers"][s]["metrics"] for s in servers)]
            out += ["### %s" % e["label"], "", table([e], servers, rows), ""]
        pairs = [(a, b) for a in entries for b in entries if b["point"] == a["point"].replace("alone", "stalled") and a is not b]
        for a, b in pairs:
            out += ["Healthy subscriber's rate with the stalled subscriber / alone, %s (medians): %s" % (
                a["label"].split(",")[0], ", ".join("%s %s" % (s, _div(b, a, s, "delivered_msgs_s")) for s in servers)), ""]
        out += ["![slow consumer](plots/slow_consumer.png)", ""]
    return "\n".join(out)


def _div(a, b, server, key):
    ma, mb = a["servers"][server]["metrics"].get(key), b["servers"][server]["metrics"].get(key)
    if not ma or not mb or not mb["median"]:
        return "n/a"
    return "%.2f" % (ma["median"] / mb["median"])


def noise_text(summary, servers, runs=()):
    busy = sorted(r["others_cores"] for r in runs if r.get("others_cores") is not None)
    other = ""
    if busy:
        other = (" CPU used by other processes during the measurements (other engineers' "
                 "work, the helpers): median %.2f cores, 90th percentile %.2f, max %.2f "
                 "of %d." % (busy[len(busy) // 2], busy[int(0.9 * (len(busy) - 1))], busy[-1],
                             os.cpu_count()))
    parts = []
    profiles = sorted({e.get("profile", "load") for e in summary if e["kind"] == "throughput"},
                      key=lambda p: (p != "load", p))
    for prof in profiles:
        for s in servers:
            v = sorted(relative_spread(summary, s, "throughput", "delivered_msgs_s", prof))
            if v:
                parts.append("%s%s: median %.0f%%, worst %.0f%%" % (
                    s, "" if profiles == ["load"] else " with %s" % PROFILES.get(prof, prof),
                    100 * v[len(v) // 2], 100 * v[-1]))
    if not parts:
        return "Single repetitions: no spread to report." + other
    return ("Spread of the throughput repetitions, (max - min) / median over the "
            "throughput scenarios: " + "; ".join(parts) + "." + other)


def write(path, meta, scenarios, summary, runs, servers, plots):
    m = meta["machine"]
    lines = [
        "# ringbus vs nats-server: bench/suite run", "",
        "- date: %s (UTC); suite wall time %.0f s" % (meta["date"], meta["wall_s"]),
        "- command: `%s`" % meta["command"],
        "- machine: %s cores (%s), kernel %s, %s RAM; load average at start %.2f, at end %.2f" % (
            m["nproc"], m["cpu_model"], m["kernel"], m["memory"], meta["loadavg_start"],
            meta["loadavg_end"]),
        "- versions: %s" % "; ".join("%s: `%s`" % kv for kv in meta["versions"].items()),
        "- set-up: %s" % meta["setup"],
        "- repetitions: %d per server and scenario, servers alternating (%s); each cell is the "
        "median, with (min%smax) of the repetitions" % (meta["reps"], meta["order"], DASH),
        "- client profiles: %s" % ", ".join("%s (%s)" % (p, PROFILES.get(p, "?"))
                                           for p in meta.get("profiles", ["load"])),
        "- noise: %s %s" % (noise_text(summary, servers, runs),
                            ("Settling: %s." % meta["settle"]) if meta.get("settle") else ""), "",
        "## Targets (from the router issue)", "", targets_table(summary, servers), "",
        "![throughput](plots/throughput.png)", "", "![ratios](plots/ratios.png)", "",
    ]
    for sc in scenarios:
        lines.append(scenario_section(sc, summary, servers))
    anomalies = [(r["point"], r["server"], r["rep"], a) for r in runs for a in r["anomalies"]]
    lines += ["## Anomalies", ""]
    lines += ["- %s, %s, repetition %d: %s" % a for a in anomalies] or ["None."]
    if any(r.get("load") and r["load"].get("mode") == "reqrep" and r["load"].get("lost")
           for r in runs):
        lines += ["", REQREP_LOSS_NOTE]
    lines += ["", "## Files", "",
              "`results.json` (every figure of every run), `runs/*.json` (ringbus-load's JSON), "
              "`hgrm/*.hgrm` (latency distribution of every run, us), `logs/` (server and load "
              "output), `plots/` (%s)." % ", ".join(sorted(plots)), ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
