// Drives a headless chromium through the DevTools protocol (with the `ws`
// package, no puppeteer) for dashboard.sh: opens URL, waits until the page
// shows live figures (#server-id filled and #in-rate above 0), writes the
// DOM and a 1280x900 screenshot, and prints the figures as JSON.
// Usage: node dashboard_browser.mjs CHROMIUM URL DOM_OUT PNG_OUT TIMEOUT_S [MIN_S [TEXT]]
// (MIN_S: look at the page at least this long before the screenshot, so
// the charts have a history; 0 by default. TEXT: wait instead until #status
// holds TEXT.)
// Exit 0 when the figures showed, 1 otherwise (the DOM and the screenshot
// are written either way, for the log).
// Why not `chromium --dump-dom --virtual-time-budget`: virtual time runs on
// without waiting for WebSocket data, so the DOM is dumped before the first
// document arrives.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";

const [chromium, url, domOut, pngOut, timeoutS = "30", minS = "0", want] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutS) * 1000;
const notBefore = Date.now() + Number(minS) * 1000;
const profile = mkdtempSync(join(tmpdir(), "ringbus-chromium-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
  "--window-size=1280,900", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
  `--user-data-dir=${profile}`, "about:blank",
], { stdio: ["ignore", "ignore", "pipe"], detached: true }); // its own group: all its processes
const exited = new Promise((resolve) => browser.once("exit", resolve));
let stop = () => {}; // set once the DevTools connection is open
let close = null; // likewise: asks the browser to close
// Closes the browser (it reaps its own children), kills what is left of
// its process group, then removes its profile.
const quit = async (code) => {
  if (close) {
    close().catch(() => {});
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  }
  stop();
  try {
    process.kill(-browser.pid, "SIGKILL");
  } catch {}
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (e) {
    console.error("dashboard_browser: " + e.message);
  }
  process.exit(code);
};
setTimeout(() => { console.error("dashboard_browser: timed out"); quit(1); },
           Math.max(1000, deadline - Date.now() + 5000)).unref();

// The browser's DevTools port, from "DevTools listening on ws://...".
const port = await new Promise((resolve, reject) => {
  let err = "";
  browser.stderr.on("data", (d) => {
    err += d;
    const m = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(err);
    if (m) resolve(m[1]);
  });
  browser.on("exit", (c) => reject(new Error("chromium exited (" + c + "): " + err.slice(-2000))));
});
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((t) => t.type === "page");
const ws = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false });
await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
stop = () => ws.terminate();
let seq = 0;
const pending = new Map();
ws.on("message", (raw) => {
  const msg = JSON.parse(raw);
  const p = msg.id && pending.get(msg.id);
  if (!p) return;
  pending.delete(msg.id);
  if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
  else p.resolve(msg.result);
});
const cdp = (method, params = {}) => new Promise((resolve, reject) => {
  const id = ++seq;
  pending.set(id, { resolve, reject });
  ws.send(JSON.stringify({ id, method, params }));
});
close = () => cdp("Browser.close");
const evaluate = async (expression) =>
  (await cdp("Runtime.evaluate", { expression, returnByValue: true })).result.value;

await cdp("Emulation.setDeviceMetricsOverride",
          { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
await cdp("Page.navigate", { url });
const probe = `(() => {
  const v = (id) => { const e = document.getElementById(id); return e ? e.dataset.value ?? null : null; };
  return { server_id: v("server-id"), version: v("version"), in_rate: Number(v("in-rate")),
           status: (document.getElementById("status") || {}).textContent || "" };
})()`;
let figures = {};
let live = false;
// Two documents with traffic, so the charts have a line to draw.
let seen = 0;
while (Date.now() < deadline) {
  try {
    figures = await evaluate(probe);
  } catch {
    figures = {};
  }
  if (want ? (figures.status || "").includes(want)
           : figures.server_id && figures.in_rate > 0 && ++seen >= 3 && Date.now() >= notBefore) {
    live = true;
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}
writeFileSync(domOut, await evaluate("document.documentElement.outerHTML"));
const shot = await cdp("Page.captureScreenshot", { format: "png" });
writeFileSync(pngOut, Buffer.from(shot.data, "base64"));
console.log(JSON.stringify(figures));
await quit(live ? 0 : 1);
