// One role of the WebSocket throughput bench (bench/ws.sh): node ws_load.mjs
// pub|sub URL SIZE SECONDS. The official browser client nats.ws over the
// `ws` package. pub: publishes SIZE-byte messages on ws.bench as fast as the
// connection takes them (a flush every 1,000) for SECONDS, then "done".
// sub: counts what arrives on ws.bench until SECONDS after the first
// message, and prints the count and the rate as JSON.
import { createRequire } from "module";
const require = createRequire(new URL("../../tests/integration/js/package.json", import.meta.url));
globalThis.WebSocket = require("ws");
const { connect } = require("nats.ws");

const [role, url, size, seconds] = process.argv.slice(2);
const ms = Number(seconds) * 1000;
const nc = await connect({ servers: url, timeout: 5000, maxReconnectAttempts: 0 });
if (role === "sub") {
  let n = 0, first = 0, last = 0;
  const sub = nc.subscribe("ws.bench");
  const timer = setTimeout(() => sub.unsubscribe(), ms + 30000); // bounded if nothing comes
  for await (const m of sub) {
    if (n === 0) {
      first = Date.now();
      setTimeout(() => sub.unsubscribe(), ms);
    }
    n++;
    last = Date.now();
  }
  clearTimeout(timer);
  const secs = Math.max((last - first) / 1000, 0.001);
  console.log(JSON.stringify({ delivered: n, seconds: secs, msgs_per_sec: n / secs }));
} else {
  const payload = new Uint8Array(Number(size)).fill(120);
  const end = Date.now() + ms + 2000; // the subscriber measures from its first message
  let n = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 1000; i++) nc.publish("ws.bench", payload);
    n += 1000;
    await nc.flush();
  }
  console.log(JSON.stringify({ published: n }));
}
await nc.close();
