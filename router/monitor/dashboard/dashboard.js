// ringbus's live dashboard: connects to the WebSocket listener as a NATS
// client (nats.ws), follows $SYS.RINGBUS.<server_id>.STATS and redraws on
// every document (fields: docs/OPERATIONS.md, "Live figures on $SYS").
// The WebSocket URL: ?ws=ws://host:port, or what /dashboard/config.json says.
// ?server=<server_id> picks one server when several publish; otherwise the
// first one heard is followed. ?user=&pass= or ?token= log in (with a
// system_account the documents go to that account's users only).
import { connect, Events } from "/dashboard/vendor/nats.js";

const WINDOW_S = 120; // seconds of history in the charts
const SUBJECT = "$SYS.RINGBUS.*.STATS";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let followed = params.get("server") || null;

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + (kind || "");
}

// ---- formatting ----

const fmtNum = (v, digits = 1) =>
  Number(v).toLocaleString("en-US", { maximumFractionDigits: digits });

function fmtBytes(v) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  v = Number(v);
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return fmtNum(v, i ? 1 : 0) + " " + units[i];
}

function fmtUptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (d ? d + "d" : "") + (d || h ? h + "h" : "") + (d || h || m ? m + "m" : "") + sec + "s";
}

// Puts @text into #id and the raw value into its data-value (for scripts).
function setValue(id, value, text) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = String(value);
}

// ---- charts (uPlot) ----

const hist = { t: [], inMsgs: [], outMsgs: [], inBytes: [], outBytes: [], conns: [], slow: [] };
const charts = {};

function chartWidth(id) {
  return Math.max(280, $(id).clientWidth || 400);
}

function makeChart(id, series, yFmt) {
  const opts = {
    width: chartWidth(id),
    height: 180,
    legend: { live: false },
    cursor: { show: false },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2,
                                         fill: s.color + "22", value: (u, v) => v == null ? "–" : yFmt(v) }))],
    axes: [{ stroke: "#9aa4b2", grid: { stroke: "#2a3140" } },
           { stroke: "#9aa4b2", grid: { stroke: "#2a3140" }, size: 84,
             values: (u, vals) => vals.map((v) => yFmt(v)) }],
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
  };
  return new uPlot(opts, [[], ...series.map(() => [])], $(id));
}

function initCharts() {
  if (typeof uPlot === "undefined") return; // the figures still show without charts
  charts.msgs = makeChart("chart-msgs", [{ label: "in", color: "#4fc3f7" },
                                         { label: "out", color: "#ffb74d" }], (v) => fmtNum(v, 0));
  charts.bytes = makeChart("chart-bytes", [{ label: "in", color: "#4fc3f7" },
                                           { label: "out", color: "#ffb74d" }], fmtBytes);
  charts.conns = makeChart("chart-conns", [{ label: "connections", color: "#81c784" },
                                           { label: "slow-consumer closes", color: "#e57373" }],
                           (v) => fmtNum(v, 0));
  window.addEventListener("resize", () => {
    for (const [k, c] of Object.entries(charts))
      c.setSize({ width: chartWidth("chart-" + k), height: 180 });
  });
}

function pushHistory(doc) {
  const t = Date.parse(doc.now) / 1000 || Date.now() / 1000;
  hist.t.push(t);
  hist.inMsgs.push(doc.in_msgs_per_s);
  hist.outMsgs.push(doc.out_msgs_per_s);
  hist.inBytes.push(doc.in_bytes_per_s);
  hist.outBytes.push(doc.out_bytes_per_s);
  hist.conns.push(doc.connections);
  hist.slow.push(doc.slow_consumers);
  while (hist.t.length && hist.t[0] < t - WINDOW_S)
    for (const k of Object.keys(hist)) hist[k].shift();
  if (!charts.msgs) return;
  charts.msgs.setData([hist.t, hist.inMsgs, hist.outMsgs]);
  charts.bytes.setData([hist.t, hist.inBytes, hist.outBytes]);
  charts.conns.setData([hist.t, hist.conns, hist.slow]);
}

// ---- tables ----

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c);
    else td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

function fillTable(id, rows, empty) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (!rows.length && empty) {
    const tr = row([empty]);
    tr.firstChild.colSpan = $(id).tHead.rows[0].cells.length;
    tr.firstChild.className = "none";
    body.appendChild(tr);
  }
  for (const r of rows) body.appendChild(r);
}

function drawShards(shards) {
  const max = Math.max(1, ...shards.map((s) => s.queue_batches));
  fillTable("shards", shards.map((s) => {
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = (100 * s.queue_batches / max).toFixed(1) + "%";
    return row([s.shard, fmtNum(s.queue_batches, 0), bar, fmtNum(s.msgs, 0), fmtNum(s.deliveries, 0)]);
  }), "no shards");
}

let prevAdmission = new Map();
const ADMISSION_ROWS = [["admitted over a mark", "admitted"], ["deferred", "deferred"],
                        ["dropped new", "dropped_new"], ["dropped old", "dropped_old"],
                        ["busy replies", "busy_replies"], ["stalls", "stalls"],
                        ["disconnects", "disconnects"], ["no-progress closes", "no_progress_closes"]];

// One column per policy (there are few), one row per decision.
function drawAdmission(policies) {
  const head = $("admission").tHead.rows[0];
  head.replaceChildren(...["decision", ...policies.map((p) => p.name + " (" + p.action + ")")].map((t) => {
    const th = document.createElement("th");
    th.textContent = t;
    return th;
  }));
  const cell = (p, k) => {
    const prev = prevAdmission.get(p.name);
    const d = prev ? p[k] - prev[k] : 0;
    return fmtNum(p[k] || 0, 0) + (d > 0 ? " (+" + fmtNum(d, 0) + ")" : "");
  };
  fillTable("admission", ADMISSION_ROWS.map(([label, k]) => row([label, ...policies.map((p) => cell(p, k))])),
            policies.length ? null : "no policies");
  prevAdmission = new Map(policies.map((p) => [p.name, p]));
}

function drawSlowest(slowest) {
  fillTable("slowest", slowest.map((c) => row([String(c.cid), c.name || "–", fmtBytes(c.pending_bytes)])),
            "none waiting");
}

// ---- one document ----

function draw(doc) {
  setValue("server-id", doc.server_id, doc.server_id);
  setValue("server-name", doc.server_name || "", doc.server_name || "–");
  const v = doc.ringbus_version ? doc.version + " (ringbus " + doc.ringbus_version + ")" : doc.version;
  setValue("version", doc.version, v);
  setValue("uptime", doc.uptime_s, fmtUptime(doc.uptime_s || 0));
  setValue("in-rate", doc.in_msgs_per_s, fmtNum(doc.in_msgs_per_s));
  setValue("out-rate", doc.out_msgs_per_s, fmtNum(doc.out_msgs_per_s));
  setValue("in-bytes-rate", doc.in_bytes_per_s, fmtBytes(doc.in_bytes_per_s));
  setValue("out-bytes-rate", doc.out_bytes_per_s, fmtBytes(doc.out_bytes_per_s));
  setValue("connections", doc.connections, fmtNum(doc.connections, 0));
  setValue("slow-consumers", doc.slow_consumers, fmtNum(doc.slow_consumers, 0));
  pushHistory(doc);
  drawShards(doc.shards || []);
  drawAdmission(doc.admission || []);
  drawSlowest(doc.slowest || []);
  setStatus("live: " + new Date(doc.now || Date.now()).toLocaleTimeString() +
            ", every " + doc.interval_ms + " ms", "ok");
}

// ---- connection ----

// The listener's URL: ?ws=, else the server's config (a wildcard host means
// "the host this page came from"). null when the server has no listener.
async function wsUrl() {
  if (params.get("ws")) return params.get("ws");
  const r = await fetch("/dashboard/config.json", { cache: "no-store" });
  if (!r.ok) throw new Error("/dashboard/config.json: HTTP " + r.status);
  const cfg = await r.json();
  if (!cfg.websocket) return null;
  let host = cfg.websocket.host;
  if (!host || host === "0.0.0.0" || host === "::" || host === "[::]") host = location.hostname;
  if (host.includes(":") && !host.startsWith("[")) host = "[" + host + "]";
  return "ws://" + host + ":" + cfg.websocket.port;
}

async function watchStatus(nc) {
  for await (const s of nc.status()) {
    if (s.type === Events.Disconnect) setStatus("disconnected, reconnecting…", "warn");
    else if (s.type === Events.Reconnect) setStatus("reconnected; waiting for figures…", "ok");
  }
}

async function main() {
  initCharts();
  let url;
  try {
    url = await wsUrl();
  } catch (e) {
    setStatus("cannot read the dashboard's settings: " + e.message, "error");
    return;
  }
  if (!url) {
    setStatus("This server has no WebSocket listener, so the dashboard cannot follow it. " +
              "Add websocket { listen: \"0.0.0.0:8080\", no_tls: true } to its configuration " +
              "(docs/WEBSOCKET.md), or open this page with ?ws=ws://host:port.", "error");
    $("ws-url").textContent = "(no WebSocket listener)";
    return;
  }
  $("ws-url").textContent = url;
  setStatus("connecting to " + url + "…");
  let nc;
  try {
    const opts = { servers: url, name: "ringbus-dashboard", maxReconnectAttempts: -1 };
    for (const k of ["user", "pass", "token"]) if (params.get(k)) opts[k] = params.get(k);
    nc = await connect(opts);
  } catch (e) {
    setStatus("cannot connect to " + url + ": " + e.message, "error");
    return;
  }
  setStatus("connected; waiting for the first document on " + SUBJECT +
            " (ringbus { stats_interval } must not be 0s)…", "ok");
  watchStatus(nc);
  const sub = nc.subscribe(SUBJECT);
  const td = new TextDecoder();
  for await (const m of sub) {
    let doc;
    try {
      doc = JSON.parse(td.decode(m.data));
    } catch {
      continue;
    }
    if (!followed) followed = doc.server_id;
    if (doc.server_id === followed) draw(doc);
  }
  setStatus("connection closed", "error");
}

main();
