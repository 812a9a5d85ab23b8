// Accounts with the JavaScript client: node accounts.mjs URL. Users a
// (account A, may not publish forbidden.>) and b (account B, importing A's
// news.> under fromA. and A's service help.> as ask.>). Exit 0 pass, 1 fail.
import { connect, StringCodec } from "nats";

const url = process.argv[2];
const sc = StringCodec();
setTimeout(() => {
  console.error("FAIL: not finished within 20 s");
  process.exit(1);
}, 20000).unref();

function fail(why) {
  throw new Error(why);
}

// The messages @sub receives until one on subject @last.
async function until(sub, last) {
  const got = [];
  for await (const m of sub) {
    got.push(`${m.subject}:${sc.decode(m.data)}`);
    if (m.subject === last) break;
  }
  return got;
}

try {
  const errors = [];
  const a = await connect({ servers: url, user: "a", pass: "a", maxReconnectAttempts: 0 });
  (async () => {
    for await (const s of a.status()) if (s.type === "error" && s.permissionContext)
        errors.push(`${s.data} ${s.permissionContext.operation} ${s.permissionContext.subject}`);
  })();
  const b = await connect({ servers: url, user: "b", pass: "b", maxReconnectAttempts: 0 });
  const aAll = a.subscribe(">");
  const bAll = b.subscribe(">");
  // A answers requests on help.>
  const help = a.subscribe("help.>");
  (async () => {
    for await (const m of help) m.respond(sc.encode(`re:${m.subject}:${sc.decode(m.data)}`));
  })();
  await a.flush();
  await b.flush();

  // isolation: B's x never reaches A; A's end marker does
  b.publish("x", sc.encode("from b"));
  await b.flush();
  a.publish("news.tech", sc.encode("t"));
  a.publish("a.end", sc.encode("e"));
  const seenA = await until(aAll, "a.end");
  if (seenA.join() !== "news.tech:t,a.end:e") fail(`A saw ${seenA.join()}`);
  // B: its own x, then A's news.tech under the prefix, never A's a.end
  b.publish("b.end", sc.encode("e"));
  const seenB = await until(bAll, "b.end");
  if (seenB.join() !== "x:from b,fromA.news.tech:t,b.end:e") fail(`B saw ${seenB.join()}`);

  // a request from B through the service import, answered by A
  for (let i = 0; i < 10; i++) {
    const r = await b.request(`ask.q${i}`, sc.encode(`${i}`), { timeout: 2000 });
    if (sc.decode(r.data) !== `re:help.q${i}:${i}`) fail(`answer ${sc.decode(r.data)}`);
  }

  // a permission violation reaches the error callback; the connection stays
  a.publish("forbidden.x", sc.encode("no"));
  await a.flush();
  for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  if (!errors.includes("PERMISSIONS_VIOLATION publish forbidden.x"))
    fail(`errors: ${errors.join()}`);
  if (a.isClosed()) fail("the violation closed the connection");
  await a.flush();

  await a.close();
  await b.close();
  console.log("js accounts ok");
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
}
