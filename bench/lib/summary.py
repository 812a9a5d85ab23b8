"""Figures of each run, and their medians and spreads over repetitions, per
scenario point and server; the ratio ringbus / nats-server; and, per point
and server, the delivery faults summed over the repetitions."""
import statistics

# Delivery faults each load generator's JSON counts (sums over the runs of a
# point): anything but 0 is a correctness failure of that server.
FAULTS = (("lost", "lost"), ("out_of_order", "out of order"), ("duplicated", "duplicated"),
          ("closed_by_server", "subscribers closed"))

# (key, label, better) per scenario kind; better: "higher" | "lower" | None.
METRICS = {
    "throughput": [
        ("delivered_msgs_s", "delivered msg/s", "higher"),
        ("published_msgs_s", "published msg/s", "higher"),
        ("payload_mb_s", "payload delivered MB/s", "higher"),
        ("p99_us", "closed-loop latency p99 (from actual send)", "lower"),
        ("server_cpu_us_per_msg", "server CPU per delivered msg (us)", "lower"),
        ("server_vmhwm_mb", "server peak RSS (MB)", "lower"),
    ],
    "latency": [
        ("p50_us", "p50", "lower"),
        ("p90_us", "p90", "lower"),
        ("p99_us", "p99", "lower"),
        ("p999_us", "p99.9", "lower"),
        ("max_us", "max", "lower"),
        ("rate_msgs_s", "messages (one-way) or replies (request/reply) per s", None),
        ("server_cpu_us_per_msg", "server CPU per message or reply received (us)", "lower"),
        ("server_vmhwm_mb", "server peak RSS (MB)", "lower"),
    ],
    "slow": [
        ("delivered_msgs_s", "healthy subscriber msg/s", "higher"),
        ("p50_us", "latency p50", "lower"),
        ("p99_us", "latency p99", "lower"),
        ("max_us", "latency max", "lower"),
        ("server_vmhwm_mb", "server peak RSS (MB)", "lower"),
        ("stalled_dropped", "stalled subscriber closed by the server (1 = yes)", None),
        ("stalled_dropped_after_s", "... after (s)", None),
    ],
}
OTHERS = ("others_cores", "CPU taken by other processes meanwhile (cores of 2)", None)
for _kind in ("throughput", "latency", "slow"):
    METRICS[_kind].append(OTHERS)
METRICS["curve"] = METRICS["latency"][:-1] + [
    ("target_reached", "offered rate sent on schedule (1 = yes)", None),
    ("send_delay_p99_us", "send delay p99", "lower"),
    OTHERS,
]


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or d.get(p) is None:
            return None
        d = d[p]
    return d


def run_metrics(kind, rec):
    """The figures of one run record (None where the run did not give it)."""
    load = rec.get("load") or {}
    m = {}
    if load:
        m["delivered_msgs_s"] = load.get("sub_msgs_per_sec")
        m["published_msgs_s"] = load.get("pub_msgs_per_sec")
        m["rate_msgs_s"] = load.get("sub_msgs_per_sec")
        bps = load.get("bytes_per_sec")
        m["payload_mb_s"] = bps / 1e6 if bps is not None else None
        for key, src in (("p50_us", "p50"), ("p90_us", "p90"), ("p99_us", "p99"),
                         ("p999_us", "p999"), ("max_us", "max")):
            m[key] = _get(load, "latency_us", src)
        m["send_delay_p99_us"] = _get(load, "send_delay_us", "p99")
        tr = load.get("target_reached")
        m["target_reached"] = None if tr is None else (1 if tr else 0)
        delivered = load.get("delivered") or 0
        if rec.get("server_cpu_s") is not None and delivered:
            m["server_cpu_us_per_msg"] = rec["server_cpu_s"] * 1e6 / delivered
    if rec.get("others_cores") is not None:
        m["others_cores"] = rec["others_cores"]
    if rec.get("server_vmhwm_kb"):
        m["server_vmhwm_mb"] = rec["server_vmhwm_kb"] / 1024.0
    st = rec.get("stalled")
    if isinstance(st, dict) and "dropped_by_server" in st:
        m["stalled_dropped"] = 1 if st["dropped_by_server"] else 0
        m["stalled_dropped_after_s"] = st.get("dropped_after_s")
    wanted = {k for k, _, _ in METRICS[kind]}
    return {k: v for k, v in m.items() if k in wanted and v is not None}


def spread(values):
    """Median, min, max and (max - min) / median of the repetitions."""
    if not values:
        return None
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values), "n": len(values),
            "spread": (max(values) - min(values)) / med if med else None, "values": values}


def faults(recs, ordered=True):
    """Delivery faults summed over @recs (None where no run reported it)."""
    out = {}
    for key, _ in FAULTS:
        if key == "out_of_order" and not ordered:
            continue
        vals = [(r.get("load") or {}).get(key) for r in recs]
        vals = [v for v in vals if isinstance(v, (int, float))]
        out[key] = sum(vals) if vals else None
    out["runs_reporting"] = sum(1 for r in recs if r.get("load") and not r["load"].get("error"))
    return out


def summarize(scenarios, runs, servers):
    """Adds, per point: per server the median/min/max of each metric, and the
    ratio of the medians (first server / second). Returns the points' dicts."""
    out = []
    for sc in scenarios:
        for pt in sc.points:
            entry = {"scenario": sc.id, "kind": sc.kind, "point": pt.id, "label": pt.label,
                     "short": pt.short or pt.label, "rate": pt.rate,
                     "profile": getattr(pt, "profile", "load") or "load",
                     "base": getattr(pt, "base", "") or pt.id, "servers": {}, "ratio": {}}
            for s in servers:
                recs = [r for r in runs if r["point"] == pt.id and r["server"] == s]
                per = [run_metrics(sc.kind, r) for r in recs]
                entry["servers"][s] = {
                    "metrics": {k: spread([m[k] for m in per if k in m])
                                for k, _, _ in METRICS[sc.kind]},
                    "anomalies": [a for r in recs for a in r["anomalies"]],
                    "runs": len(recs),
                    "faults": faults(recs, pt.ordered),
                }
            if len(servers) == 2:
                a, b = (entry["servers"][s]["metrics"] for s in servers)
                for k, _, _ in METRICS[sc.kind]:
                    if a.get(k) and b.get(k) and b[k]["median"]:
                        entry["ratio"][k] = a[k]["median"] / b[k]["median"]
            out.append(entry)
    return out


def relative_spread(summary, server, kind, key, profile=None):
    """(max - min) / median of @key over the points of @kind (of client
    @profile, or all), as a list."""
    vals = []
    for e in summary:
        if profile and e.get("profile", "load") != profile:
            continue
        m = e["servers"].get(server, {}).get("metrics", {}).get(key) if e["kind"] == kind else None
        if m and m["median"] and m["n"] > 1:
            vals.append((m["max"] - m["min"]) / m["median"])
    return vals
