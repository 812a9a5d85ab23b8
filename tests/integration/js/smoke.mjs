// Smoke test of the npm `nats` 2.x client against a NATS server (ringbus or
// nats-server): node smoke.mjs nats://127.0.0.1:PORT. Exit 0 pass, 1 fail.
import { connect, headers, ErrorCode, StringCodec } from "nats";

const url = process.argv[2];
const sc = StringCodec();
const TOTAL_MS = 30000;
const WAIT_MS = 5000;

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

const watchdog = setTimeout(() => fail(`not finished within ${TOTAL_MS} ms`), TOTAL_MS);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Subscribes with a callback collecting decoded messages into an array.
function collect(nc, subject, opts = {}) {
  const got = [];
  const sub = nc.subscribe(subject, {
    ...opts,
    callback: (err, m) => {
      if (err) got.error = err;
      else got.push({ subject: m.subject, data: sc.decode(m.data), headers: m.headers });
    },
  });
  got.sub = sub;
  return got;
}

// Resolves once pred() holds, rejects after ms.
async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function pubsub(nc, other) {
  const got = collect(nc, "js.basic");
  await nc.flush();
  other.publish("js.basic", sc.encode("hello"));
  await waitFor(() => got.length === 1, WAIT_MS, "js.basic");
  check(got[0].data === "hello" && got[0].subject === "js.basic", "pub/sub payload");
}

async function wildcards(nc, other) {
  const star = collect(nc, "js.w.*");
  const full = collect(nc, "js.w.>");
  await nc.flush();
  for (const s of ["js.w.a", "js.w.b.c", "js.x.a"]) other.publish(s, sc.encode(s));
  await other.flush();
  await waitFor(() => star.length === 1 && full.length === 2, WAIT_MS, "wildcard deliveries");
  check(star[0].subject === "js.w.a", "* matches one token");
  const fs = full.map((m) => m.subject).sort();
  check(fs[0] === "js.w.a" && fs[1] === "js.w.b.c", "> matches the rest");
}

async function queueGroup(nc, other) {
  const members = [collect(nc, "js.q", { queue: "g" }), collect(other, "js.q", { queue: "g" })];
  await nc.flush();
  await other.flush();
  const n = 200;
  for (let i = 0; i < n; i++) other.publish("js.q", sc.encode(String(i)));
  await waitFor(() => members[0].length + members[1].length >= n, WAIT_MS, "queue deliveries");
  await other.flush();
  await new Promise((r) => setTimeout(r, 100));
  const all = members[0].concat(members[1]).map((m) => Number(m.data));
  check(all.length === n, `queue group got ${all.length} of ${n}`);
  check(new Set(all).size === n, "each queued message exactly once");
}

async function requestReply(nc, other) {
  other.subscribe("js.svc", {
    callback: (err, m) => {
      if (!err) m.respond(sc.encode(`re:${sc.decode(m.data)}`), { headers: m.headers });
    },
  });
  await other.flush();
  for (let i = 0; i < 20; i++) {
    const r = await nc.request("js.svc", sc.encode(`q${i}`), { timeout: WAIT_MS });
    check(sc.decode(r.data) === `re:q${i}`, "reply payload");
  }
}

async function headersIntact(nc, other) {
  const got = collect(nc, "js.h");
  await nc.flush();
  const h = headers();
  h.set("X-One", "1");
  h.append("X-Many", "a");
  h.append("X-Many", "b c");
  other.publish("js.h", sc.encode("body"), { headers: h });
  await waitFor(() => got.length === 1, WAIT_MS, "header message");
  const rh = got[0].headers;
  check(rh && rh.get("X-One") === "1", "header X-One");
  const many = rh.values("X-Many");
  check(many.length === 2 && many[0] === "a" && many[1] === "b c", "header X-Many");
  check(got[0].data === "body", "header message body");
}

async function noResponders(nc) {
  try {
    await nc.request("js.nobody", sc.encode("?"), { timeout: 20000 });
  } catch (err) {
    check(err.code === ErrorCode.NoResponders, `expected no responders, got ${err.code} ${err.message}`);
    return;
  }
  throw new Error("a request with no responders succeeded");
}

async function flushBarrier(nc, other) {
  for (let i = 0; i < 50; i++) {
    const got = collect(nc, `js.fb.${i}`);
    await nc.flush();
    other.publish(`js.fb.${i}`, sc.encode("now"));
    await waitFor(() => got.length === 1, WAIT_MS, `flush barrier round ${i}`);
    got.sub.unsubscribe();
  }
}

async function main() {
  if (!url) fail("usage: node smoke.mjs nats://HOST:PORT");
  const opts = { servers: url, reconnect: false, timeout: WAIT_MS };
  const nc = await connect(opts);
  const other = await connect(opts);
  const steps = [pubsub, wildcards, queueGroup, requestReply, headersIntact, noResponders, flushBarrier];
  for (const step of steps) {
    try {
      await step(nc, other);
    } catch (err) {
      fail(`${step.name}: ${err.message}`);
    }
  }
  await nc.drain();
  await other.drain();
  clearTimeout(watchdog);
  console.log(`js smoke ok: ${steps.map((s) => s.name).join(", ")}`);
}

main().catch((err) => fail(err.stack || String(err)));
