"""Charts of a suite run with gnuplot, each as PNG and SVG: throughput bars,
ratios, latency percentile spectra (x = 1/(1-p) on a log scale, as
HdrHistogram's plotter draws them), latency vs offered rate, slow consumer."""
import os
import subprocess

COLORS = {"ringbus": "#0060ad", "nats-server": "#dd181f"}
EXTRA_COLORS = ["#0060ad", "#dd181f", "#00a000", "#9400d3", "#ff8c00", "#00ced1",
                "#8b4513", "#808080"]
PCT_TICS = ('set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, '
            '"99.999%%" 100000, "99.9999%%" 1000000)')


def color(server, i=0):
    return COLORS.get(server, EXTRA_COLORS[i % len(EXTRA_COLORS)])


def read_hgrm(path):
    """(1/(1-p), value) rows of an .hgrm file, the final p = 1 row left out."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 4 and not line.startswith("#"):
                    try:
                        rows.append((float(parts[3]), float(parts[0])))
                    except ValueError:
                        pass
    except OSError:
        pass
    return rows


def gnuplot(plot_dir, name, body, size=(1000, 560)):
    """Runs @body once per terminal; returns the files written."""
    made = []
    for term, ext in (("pngcairo size %d,%d font 'sans,10'" % size, "png"),
                      ("svg size %d,%d dynamic font 'sans,10' background '#ffffff'" % size, "svg")):
        out = "%s.%s" % (name, ext)
        script = "set terminal %s\nset output '%s'\n%s\n" % (term, out, body)
        path = os.path.join(plot_dir, name + ".gp")
        with open(path, "w") as f:
            f.write(script)
        p = subprocess.run(["gnuplot", name + ".gp"], cwd=plot_dir, capture_output=True,
                           text=True, timeout=60)
        if p.returncode == 0 and os.path.exists(os.path.join(plot_dir, out)):
            made.append(out)
        else:
            print("bench/suite: gnuplot %s.%s failed: %s" % (name, ext, p.stderr.strip()[-300:]))
    return made


def q(s):
    return '"%s"' % s.replace('"', "'")


def median_run(runs, key="p99"):
    """The run whose latency @key is the median (lower middle) of the runs."""
    ok = [r for r in runs if r.get("load") and r["load"].get("latency_us")]
    if not ok:
        return None
    ok.sort(key=lambda r: r["load"]["latency_us"].get(key) or 0)
    return ok[(len(ok) - 1) // 2]


def _cell(entry, server, key):
    m = entry["servers"].get(server, {}).get("metrics", {}).get(key)
    return (m["median"], m["min"], m["max"]) if m else (None, None, None)


def _num(v):
    return "NaN" if v is None else "%.6g" % v


def throughput_bars(plot_dir, summary, servers, kind="throughput", name="throughput",
                    key="delivered_msgs_s", ylabel="delivered msg/s (median, bars: min-max)",
                    title="Closed-loop throughput, both servers (log scale)", log=True):
    pts = [e for e in summary if e["kind"] == kind]
    if not pts:
        return []
    with open(os.path.join(plot_dir, name + ".dat"), "w") as f:
        for e in pts:
            cells = []
            for s in servers:
                cells += [_num(v) for v in _cell(e, s, key)]
            f.write("%s %s\n" % (q(e["short"]), " ".join(cells)))
    plots = []
    for i, s in enumerate(servers):
        c = 2 + 3 * i
        plots.append("'%s.dat' using %d:%d:%d%s title %s lc rgb '%s'" %
                     (name, c, c + 1, c + 2, ":xtic(1)" if i == 0 else "", q(s), color(s, i)))
    body = """set style data histogram
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
%s
set format y '%%.1s%%c'
set grid ytics
set ylabel '%s'
set xtics rotate by -25 scale 0
set key top right
set bmargin 8
set title %s
plot %s""" % ("set logscale y" if log else "set yrange [0:*]", ylabel, q(title), ", ".join(plots))
    return gnuplot(plot_dir, name, body)


def ratio_bars(plot_dir, summary, servers, name="ratios"):
    """ringbus/nats-server ratios: delivered rate (goal >= 2) and latency
    p50/p99 (goal <= 0.7)."""
    if len(servers) != 2:
        return []
    rows = []
    for e in summary:
        if e["kind"] == "throughput" and "delivered_msgs_s" in e["ratio"]:
            rows.append((e["short"] + " rate", e["ratio"]["delivered_msgs_s"], 1))
        elif e["kind"] in ("latency", "curve"):
            if e["kind"] == "curve" and not all(
                    (e["servers"][s]["metrics"].get("target_reached") or {}).get("median") == 1
                    for s in servers):
                continue  # a saturated rate: its latency is the backlog, not the server
            for k, lab in (("p50_us", "p50"), ("p99_us", "p99")):
                if k in e["ratio"]:
                    rows.append(("%s %s" % (e["short"], lab), e["ratio"][k], 2))
    if not rows:
        return []
    with open(os.path.join(plot_dir, name + ".dat"), "w") as f:
        for i, (lab, v, grp) in enumerate(rows):
            f.write("%d %s %.6g %d\n" % (i, q(lab), v, grp))
    body = """set style fill solid 0.85 border -1
set boxwidth 0.7
set logscale y
set grid ytics
set ylabel '%s / %s (log scale)'
set xtics rotate by -40 scale 0 font ',8'
set bmargin 10
set xrange [-1:%d]
set arrow from -1,2 to %d,2 nohead dt 2 lc rgb '#00a000'
set arrow from -1,0.7 to %d,0.7 nohead dt 2 lc rgb '#9400d3'
set arrow from -1,1 to %d,1 nohead lc rgb '#000000'
set title 'Ratios of medians: throughput (blue, goal >= 2, green line) and latency (orange, goal <= 0.7, purple line)'
plot '%s.dat' using 1:3:($4==1 ? 0x0060ad : 0xff8c00):xtic(2) with boxes lc rgb variable notitle, \
     '' using 1:3:(sprintf('%%.2f', $3)) with labels offset 0,0.8 font ',8' notitle""" % (
        servers[0], servers[1], len(rows), len(rows), len(rows), len(rows), name)
    return gnuplot(plot_dir, name, body, size=(1200, 640))


def spectrum(plot_dir, out_dir, name, title, series, key="top left"):
    """@series: (title, hgrm path relative to @out_dir, colour, line width,
    dash type) tuples, drawn as percentile spectra on one chart."""
    plots, xmax = [], 10
    for i, (t, rel, col, lw, dt) in enumerate(series):
        rows = read_hgrm(os.path.join(out_dir, rel))
        if not rows:
            continue
        dat = "%s.%d.dat" % (name, i)
        with open(os.path.join(plot_dir, dat), "w") as f:
            for x, v in rows:
                f.write("%.6g %.6g\n" % (x, v))
        xmax = max(xmax, rows[-1][0])
        plots.append("'%s' using 1:2 with lines lw %g dt %d lc rgb '%s' %s" %
                     (dat, lw, dt, col, "title %s" % q(t) if t else "notitle"))
    if not plots:
        return []
    body = """set logscale x
set logscale y
set grid xtics ytics mytics
%s
set xrange [1:%g]
set xlabel 'percentile'
set ylabel 'latency (us, log scale)'
set key %s
set title %s
plot %s""" % (PCT_TICS, xmax * 1.5, key, q(title), ", ".join(plots))
    return gnuplot(plot_dir, name, body)


def latency_spectra(plot_dir, out_dir, summary, runs, servers):
    """One chart per latency point: every repetition of both servers, the
    median run (by p99) thick, the others thin."""
    made = []
    for e in summary:
        if e["kind"] != "latency":
            continue
        series = []
        for i, s in enumerate(servers):
            rs = [r for r in runs if r["point"] == e["point"] and r["server"] == s and r.get("hgrm")]
            med = median_run(rs)
            for r in rs:
                thick = r is med
                series.append(("%s (median run by p99)" % s if thick else None, r["hgrm"],
                               color(s, i), 2.5 if thick else 0.8, 1 if thick else 2))
        made += spectrum(plot_dir, out_dir, "latency_" + e["point"],
                         "Latency percentile spectrum: " + e["label"], series)
    return made


def curve_spectrum(plot_dir, out_dir, summary, runs, servers):
    """All offered rates of the open-loop curve on one chart (median runs);
    servers told apart by dash (solid: first server, dashed: second)."""
    pts = sorted((e for e in summary if e["kind"] == "curve"), key=lambda e: e["rate"])
    if len(pts) > 4:  # four rates stay readable: lowest, two between, highest
        pts = [pts[i] for i in sorted({0, len(pts) // 3, 2 * len(pts) // 3, len(pts) - 1})]
    series = []
    for j, e in enumerate(pts):
        for i, s in enumerate(servers):
            med = median_run([r for r in runs if r["point"] == e["point"] and r["server"] == s
                              and r.get("hgrm")])
            if med:
                series.append(("%s %s" % (s, e["label"]), med["hgrm"],
                               EXTRA_COLORS[j % len(EXTRA_COLORS)], 1.8, 1 if i == 0 else 2))
    return spectrum(plot_dir, out_dir, "latency_rr_open_spectrum",
                    "Request/reply open loop: spectrum per offered rate (solid %s, dashed %s)" %
                    (servers[0], servers[-1]), series, key="outside right top")


def latency_vs_rate(plot_dir, summary, servers, name="latency_vs_rate"):
    pts = sorted((e for e in summary if e["kind"] == "curve"), key=lambda e: e["rate"])
    if not pts:
        return []
    with open(os.path.join(plot_dir, name + ".dat"), "w") as f:
        for e in pts:
            cells = ["%.6g" % (e["rate"] / 1000.0)]
            for s in servers:
                for k in ("p50_us", "p99_us", "rate_msgs_s"):
                    cells += [_num(v) for v in _cell(e, s, k)]
            f.write(" ".join(cells) + "\n")
    plots = []
    for i, s in enumerate(servers):
        base = 2 + 9 * i
        plots.append("'%s.dat' using 1:%d:%d:%d with yerrorlines lw 2 pt 7 lc rgb '%s' title %s" %
                     (name, base + 3, base + 4, base + 5, color(s, i), q(s + " p99")))
        plots.append("'%s.dat' using 1:%d:%d:%d with yerrorlines lw 1.5 dt 2 pt 6 lc rgb '%s' title %s" %
                     (name, base, base + 1, base + 2, color(s, i), q(s + " p50")))
    body = """set logscale y
set grid xtics ytics
set xlabel 'offered request rate (thousand req/s, 2 requesters)'
set ylabel 'latency from intended send time (us, log scale)'
set key top left
set title 'Request/reply open loop: latency vs offered rate (median, bars: min-max)'
plot %s""" % ", ".join(plots)
    return gnuplot(plot_dir, name, body)


def slow_bars(plot_dir, summary, servers):
    return throughput_bars(plot_dir, summary, servers, kind="slow", name="slow_consumer",
                           ylabel="healthy subscriber msg/s (median, bars: min-max)",
                           title="Slow-consumer isolation: 1->1 128 B, with and without a "
                           "stalled subscriber", log=False)


def all_plots(plot_dir, out_dir, summary, runs, servers):
    os.makedirs(plot_dir, exist_ok=True)
    made = []
    made += throughput_bars(plot_dir, summary, servers)
    made += ratio_bars(plot_dir, summary, servers)
    made += latency_spectra(plot_dir, out_dir, summary, runs, servers)
    made += curve_spectrum(plot_dir, out_dir, summary, runs, servers)
    made += latency_vs_rate(plot_dir, summary, servers)
    made += slow_bars(plot_dir, summary, servers)
    return made
