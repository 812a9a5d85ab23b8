// Lame duck mode seen by the npm `nats` 2.x client: node ldm.mjs URL1 URL2 PID1.
// Connected to the first server (URL1, process PID1) with both URLs, it
// publishes numbered messages to itself; SIGUSR2 puts the first server in
// lame duck mode: the client must see the "ldm" status (the INFO), be moved
// to the second server, and lose nothing it published and confirmed (a
// flush on the same connection) after the INFO. Exit 0 pass, 1 fail.
import { connect, StringCodec } from "nats";

const [url1, url2, pid1] = process.argv.slice(2);
const sc = StringCodec();
const TOTAL_MS = 60000;

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}
setTimeout(() => fail(`not finished within ${TOTAL_MS} ms`), TOTAL_MS);

const nc = await connect({
  servers: [url1, url2],
  noRandomize: true,
  reconnectTimeWait: 50,
  maxReconnectAttempts: 100,
  pingInterval: 60000,
});
const port = (u) => u.split(":").pop();
if (port(nc.getServer()) !== port(url1)) fail(`connected to ${nc.getServer()} first`);

let ldm = false;
let reconnects = 0;
(async () => {
  for await (const s of nc.status()) {
    if (s.type === "ldm") ldm = true;
    if (s.type === "reconnect") reconnects++;
  }
})();

const received = new Map();
nc.subscribe("js.ldm", {
  callback: (err, m) => {
    if (!err) received.set(Number(sc.decode(m.data)), true);
  },
});
await nc.flush();

// Publishes @n until a flush confirms it on the connection it went to.
async function publishConfirmed(n) {
  for (let tries = 0; tries < 1000; tries++) {
    const before = reconnects;
    try {
      nc.publish("js.ldm", sc.encode(String(n)));
      await nc.flush();
      await new Promise((r) => setImmediate(r)); // let status events in
      if (reconnects === before) return;
    } catch (_) {
      // disconnected: publish it again once reconnected
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  fail(`message ${n} never confirmed`);
}

process.kill(Number(pid1), "SIGUSR2");
let sent = 0;
let afterLdm = 0;
while (!(ldm && reconnects > 0) || afterLdm < 100) {
  if (sent > 20000) fail(`no move to the second server after ${sent} messages`);
  await publishConfirmed(sent++);
  if (ldm) afterLdm++;
  await new Promise((r) => setTimeout(r, 2));
}
if (port(nc.getServer()) !== port(url2)) fail(`moved to ${nc.getServer()}, not ${url2}`);
await nc.flush();
const end = Date.now() + 10000;
let missing = [];
do {
  missing = [];
  for (let n = 0; n < sent; n++) if (!received.has(n)) missing.push(n);
  if (missing.length) await new Promise((r) => setTimeout(r, 20));
} while (missing.length && Date.now() < end);
if (missing.length) fail(`${missing.length} of ${sent} messages lost: ${missing.slice(0, 10)}`);
console.log(`ok: ${sent} messages, ${afterLdm} after the ldm INFO, moved to ${nc.getServer()}`);
await nc.close();
process.exit(0);
