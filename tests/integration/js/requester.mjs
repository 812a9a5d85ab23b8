// Requests with the JavaScript client (npm `nats` 2.x), as a web service
// would send them, for services.sh (the integration test) and
// bench/services.sh:
//   node requester.mjs URL SUBJECT --count N (--rate R | --burst)
//        --timeout MS [--old-style]
// --rate: one request every 1/R s; --burst: all N as fast as the client
// sends them (in slices of 100 per turn of its event loop). Prints one JSON
// line: answered, timed_out, busy (the 503 status: no responders or busy),
// other errors, and for busy answers how long they took (ms: p50, p95,
// max, and how many within 10 ms).
import { connect, ErrorCode } from "nats";

const [url, subject, ...rest] = process.argv.slice(2);
const opt = { count: 1000, rate: 0, burst: false, timeout: 1000, old: false };
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (a === "--count") opt.count = Number(rest[++i]);
  else if (a === "--rate") opt.rate = Number(rest[++i]);
  else if (a === "--burst") opt.burst = true;
  else if (a === "--timeout") opt.timeout = Number(rest[++i]);
  else if (a === "--old-style") opt.old = true;
  else {
    console.error(`requester: unknown argument ${a}`);
    process.exit(2);
  }
}
if (!url || !subject || (!opt.burst && !(opt.rate > 0))) {
  console.error("usage: requester.mjs URL SUBJECT --count N (--rate R | --burst) --timeout MS");
  process.exit(2);
}

const nc = await connect({ servers: url, maxReconnectAttempts: 0 });
const res = { answered: 0, timed_out: 0, busy: 0, other: 0, busy_ms: [] };
const payload = new TextEncoder().encode("job");

function one() {
  const t0 = performance.now();
  return nc
    .request(subject, payload, { timeout: opt.timeout, noMux: opt.old })
    .then(() => {
      res.answered++;
    })
    .catch((e) => {
      if (e.code === ErrorCode.Timeout) res.timed_out++;
      else if (e.code === ErrorCode.NoResponders || e.code === "503") {
        res.busy++;
        res.busy_ms.push(performance.now() - t0);
      } else {
        res.other++;
        if (res.other <= 3) console.error(`requester: ${e.code} ${e.message}`);
      }
    });
}

const started = performance.now();
const all = [];
if (opt.burst) {
  // As fast as the client sends: a slice of requests per turn of the event
  // loop, so each slice is written (and its clock started) when it leaves
  // rather than after the whole burst was queued in the client.
  for (let i = 0; i < opt.count; i++) {
    all.push(one());
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
} else {
  const gap = 1000 / opt.rate;
  for (let i = 0; i < opt.count; i++) {
    const due = started + i * gap;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    all.push(one());
  }
}
await Promise.all(all);
await nc.close();
const b = res.busy_ms.sort((x, y) => x - y);
const q = (p) => (b.length ? b[Math.min(b.length - 1, Math.floor(p * b.length))] : 0);
console.log(
  JSON.stringify({
    count: opt.count,
    answered: res.answered,
    timed_out: res.timed_out,
    busy: res.busy,
    other: res.other,
    busy_p50_ms: +q(0.5).toFixed(2),
    busy_p95_ms: +q(0.95).toFixed(2),
    busy_max_ms: +(b.length ? b[b.length - 1] : 0).toFixed(2),
    busy_within_10ms: b.filter((x) => x <= 10).length,
    elapsed_ms: Math.round(performance.now() - started),
  }),
);
