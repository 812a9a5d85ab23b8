// JetStream of a nats-server hub used by the JavaScript client through a
// leaf (ringbus or nats-server) that maps the client's plain $JS.API to the
// hub's domain: node leaf_js.mjs LEAF_URL. A stream with acknowledged
// publishes, a durable push consumer with explicit acks, a pull consumer
// fetched in batches, a KV watch.
// Exit 0 pass, 1 fail (LEAF_JS_DEBUG=1 adds the failure's stack).
import { connect, consumerOpts, createInbox, Empty, StringCodec } from "nats";

const url = process.argv[2];
const sc = StringCodec();
const N = 50; // messages in ORDERS
const PUTS = 20; // puts of key `a`
const WAIT_MS = 10000; // bound of every wait for something asynchronous

setTimeout(() => {
  console.error("FAIL: not finished within 40 s");
  process.exit(1);
}, 40000).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fail(why) {
  throw new Error(why);
}

// True for the error of a request nobody answered (503), which is what a
// client of the leaf gets until the hub's interest has reached the leaf.
function noResponders(e) {
  return e?.code === "503" || /no responders|503/i.test(e?.message ?? "");
}

// Until a $JS.API.INFO is answered (within WAIT_MS): the leaf joins the hub
// asynchronously, and until it has, a request finds no responders. The
// first request can also go unanswered when the leaf forwards it before the
// LS+ of the client's reply subscription (nats-server sends the LS+ first):
// the hub then answers a subject it has no interest in.
async function jetStreamReady(nc) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await nc.request("$JS.API.INFO", Empty, { timeout: 1000 });
      return;
    } catch (e) {
      if (!noResponders(e) && e?.code !== "TIMEOUT") throw e;
      if (Date.now() >= end) fail(`JetStream through the leaf: no answer within ${WAIT_MS} ms (${e.message})`);
      await sleep(100);
    }
  }
}

// Calls fn until it resolves; retries (within WAIT_MS) only while it
// fails with no responders, rethrows anything else.
async function untilAnswered(what, fn) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!noResponders(e)) throw e;
      if (Date.now() >= end) fail(`${what}: no responders for ${WAIT_MS} ms`);
      await sleep(100);
    }
  }
}

// The next value of an async iterator within WAIT_MS, or a failure.
async function nextWithin(it, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) fail(`${what}: the iterator ended`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

try {
  const nc = await connect({ servers: url, maxReconnectAttempts: 0 });
  await jetStreamReady(nc);
  const jsm = await nc.jetstreamManager();
  const ai = await jsm.getAccountInfo();
  if (ai.domain !== "hub") fail(`account info names domain ${ai.domain}, not hub`);
  const js = nc.jetstream();

  // 1. A stream and N acknowledged publishes, sequences 1..N in order.
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  for (let i = 0; i < N; i++) {
    const send = () => js.publish("orders.new", sc.encode(`${i}`));
    // the stream's subjects reach the leaf as interest shortly after it exists
    const pa = i === 0 ? await untilAnswered("first publish to ORDERS", send) : await send();
    if (pa.stream !== "ORDERS" || pa.seq !== i + 1 || pa.duplicate) {
      fail(`publish ${i}: ack ${JSON.stringify(pa)}, want ORDERS seq ${i + 1}`);
    }
  }

  // 2. A durable push consumer with explicit acks: all N in order, each acked.
  const opts = consumerOpts();
  opts.durable("pusher");
  opts.deliverTo(createInbox());
  opts.deliverAll();
  opts.ackExplicit();
  opts.manualAck();
  const sub = await js.subscribe("orders.>", opts);
  const msgs = sub[Symbol.asyncIterator]();
  for (let i = 0; i < N; i++) {
    const m = await nextWithin(msgs, `push message ${i}`);
    const got = sc.decode(m.data);
    if (got !== `${i}`) fail(`push message ${i}: payload "${got}"`);
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>
    // (the hub sends $JS.ACK...@<subject> to the leaf, which delivers
    // <subject> with reply $JS.ACK...)
    const ack = m.reply ?? "";
    if (m.subject !== "orders.new" || !ack.startsWith("$JS.ACK.ORDERS.pusher.") || ack.split(".").length !== 9) {
      fail(`push message ${i}: MSG ${m.subject} reply ${ack}, want orders.new and the consumer's ack subject`);
    }
    if (m.seq !== i + 1) fail(`push message ${i}: stream sequence ${m.seq}`);
    if (m.redelivered) fail(`push message ${i}: redelivered before its ack`);
    m.ack();
  }
  await nc.flush();
  let ci;
  for (const end = Date.now() + WAIT_MS; ; await sleep(100)) {
    ci = await jsm.consumers.info("ORDERS", "pusher");
    if (ci.num_ack_pending === 0 || Date.now() >= end) break;
  }
  if (ci.num_ack_pending !== 0) fail(`push consumer: num_ack_pending ${ci.num_ack_pending} after ${WAIT_MS} ms`);
  if (ci.delivered.stream_seq !== N) fail(`push consumer: delivered up to ${ci.delivered.stream_seq}`);
  if (ci.ack_floor.stream_seq !== N) fail(`push consumer: ack floor ${ci.ack_floor.stream_seq}`);
  await sub.unsubscribe();

  // 2b. A durable pull consumer: fetched in batches of 10, in order, acked.
  await jsm.consumers.add("ORDERS", { durable_name: "puller", ack_policy: "explicit" });
  let pulled = 0;
  for (let round = 0; round < 20 && pulled < N; round++) {
    const batch = js.fetch("ORDERS", "puller", { batch: 10, expires: 2000 });
    for await (const m of batch) {
      const got = sc.decode(m.data);
      if (got !== `${pulled}`) fail(`pull message ${pulled}: payload "${got}"`);
      if (m.subject !== "orders.new") fail(`pull message ${pulled}: subject ${m.subject}`);
      m.ack();
      pulled++;
    }
  }
  if (pulled !== N) fail(`pull consumer: ${pulled} of ${N} fetched`);
  await nc.flush();

  // 3. KV: a watcher on key `a` sees PUTS puts made after it started, in order.
  // history 64: a bucket of history 1 keeps only a key's last value, and a
  // watcher behind the puts would see a later value in place of one removed.
  const kv = await js.views.kv("cfg", { history: 64 });
  // the bucket's subjects reach the leaf as interest shortly after it exists
  await untilAnswered("first KV put", () => kv.put("probe", sc.encode("x")));
  const watch = await kv.watch({ key: "a" });
  const entries = watch[Symbol.asyncIterator]();
  const revs = [];
  for (let i = 0; i < PUTS; i++) revs.push(await kv.put("a", sc.encode(`v${i}`)));
  for (let i = 1; i < PUTS; i++) {
    if (!(revs[i] > revs[i - 1])) fail(`KV put revisions not increasing: ${revs}`);
  }
  for (let i = 0; i < PUTS; i++) {
    const e = await nextWithin(entries, `KV watch entry ${i}`);
    const got = sc.decode(e.value);
    if (e.key !== "a" || e.operation !== "PUT" || got !== `v${i}` || e.revision !== revs[i]) {
      fail(`KV watch entry ${i}: ${e.operation} ${e.key}=${got} rev ${e.revision}, want PUT a=v${i} rev ${revs[i]}`);
    }
  }
  watch.stop();
  const last = await kv.get("a");
  if (!last || sc.decode(last.value) !== `v${PUTS - 1}`) {
    fail(`kv.get('a'): ${last ? sc.decode(last.value) : "nothing"}, want v${PUTS - 1}`);
  }

  // 4. Clean up on the hub.
  await kv.destroy();
  await jsm.streams.delete("ORDERS");
  await nc.close();
  console.log(`js leaf ok: ${N} publishes, ${N} push deliveries and ${N} pulled acked, ${PUTS} KV puts watched in order`);
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  if (process.env.LEAF_JS_DEBUG) console.error(e.stack);
  process.exit(1);
}
