// A modest, bounded load for dashboard.sh: publishes 128-byte messages on
// dash.load.<n> (a subscriber takes them, so out_msgs moves too) at about
// RATE messages a second for SECONDS seconds, then exits. With "slow", a
// raw subscriber that never reads stands beside it (a new one every 10 s), so the server's slowest
// subscribers and, once its output passes the admission marks, a
// slow-consumer close have something to show.
// Usage: node dashboard_load.mjs nats://host:port SECONDS [RATE [slow]]
import { createConnection } from "node:net";
import { connect } from "nats";

const [url, seconds, rate = "5000", slow] = process.argv.slice(2);
if (!url || !seconds) {
  console.error("usage: dashboard_load.mjs nats://host:port SECONDS [RATE]");
  process.exit(2);
}
const nc = await connect({ servers: url, name: "dashboard-load" });
const sub = nc.subscribe("dash.load.>");
(async () => { for await (const _ of sub); })();
const end = Date.now() + Number(seconds) * 1000;
// A subscriber that never reads, replaced by a new one every 10 s (a paused
// socket does not see the server close it).
let reader = null;
function slowReader() {
  if (reader) reader.destroy();
  if (Date.now() > end - 2000) return;
  const u = new URL(url);
  reader = createConnection({ host: u.hostname, port: Number(u.port) });
  reader.on("error", () => {}); // closed by the server as a slow consumer: expected
  reader.write('CONNECT {"verbose":false,"name":"slow-reader"}\r\nSUB dash.load.> 1\r\n');
  reader.pause();
  setTimeout(slowReader, 10000).unref();
}
if (slow === "slow") slowReader();
const payload = new Uint8Array(128).fill(120);
const tickMs = 20;
const perTick = Math.max(1, Math.round((Number(rate) * tickMs) / 1000));
let n = 0;
while (Date.now() < end) {
  for (let i = 0; i < perTick; i++) nc.publish("dash.load." + (n++ % 8), payload);
  await nc.flush();
  await new Promise((r) => setTimeout(r, tickMs));
}
if (reader) reader.destroy();
await nc.drain();
console.log("dashboard_load: published " + n);
