// The official browser client nats.ws, run in Node with the `ws` package as
// its WebSocket, against a server's WebSocket listener, beside a TCP client
// (npm `nats`): node ws.mjs ws://HOST:WSPORT nats://HOST:PORT. Exit 0 pass.
import WebSocket from "ws";
globalThis.WebSocket = WebSocket;
const { connect, StringCodec, headers } = await import("nats.ws");
const { connect: tcpConnect } = await import("nats");

const [wsUrl, natsUrl, compression] = process.argv.slice(2);
const sc = StringCodec();
function check(ok, what) {
  if (!ok) {
    console.error("FAIL: " + what);
    process.exit(1);
  }
}

// The ws package offers permessage-deflate: the server takes it when its
// listener has compression: true.
let extensions = "";
globalThis.WebSocket = class extends WebSocket {
  constructor(...a) {
    super(...a);
    this.on("upgrade", (res) => { extensions = res.headers["sec-websocket-extensions"] || ""; });
  }
};
const ws = await connect({ servers: wsUrl, timeout: 5000 });
check(
  (compression === "true") === extensions.includes("permessage-deflate"),
  `compression ${compression}, extensions "${extensions}"`,
);
const tcp = await tcpConnect({ servers: natsUrl, timeout: 5000 });

// TCP -> WebSocket, with headers
const sub = ws.subscribe("js.ws", { max: 1 });
await ws.flush();
const h = headers();
h.set("X-Who", "tcp");
tcp.publish("js.ws", sc.encode("hi ws"), { headers: h });
for await (const m of sub) {
  check(sc.decode(m.data) === "hi ws", "payload to ws: " + sc.decode(m.data));
  check(m.headers && m.headers.get("X-Who") === "tcp", "header to ws");
}

// requests both ways
tcp.subscribe("js.svc", { callback: (_, m) => m.respond(sc.encode("re:" + sc.decode(m.data))) });
await tcp.flush();
let r = await ws.request("js.svc", sc.encode("q1"), { timeout: 3000 });
check(sc.decode(r.data) === "re:q1", "reply to ws");
ws.subscribe("js.svc2", { callback: (_, m) => m.respond(sc.encode("ws:" + sc.decode(m.data))) });
await ws.flush();
r = await tcp.request("js.svc2", sc.encode("q2"), { timeout: 3000 });
check(sc.decode(r.data) === "ws:q2", "reply from ws");

// WebSocket -> TCP: many messages in order, then a large one
const N = 5000;
const many = tcp.subscribe("js.many", { max: N + 1 });
await tcp.flush();
const big = new Uint8Array(600 * 1024).map((_, i) => 97 + (i % 26));
for (let i = 0; i < N; i++) ws.publish("js.many", sc.encode(String(i)));
ws.publish("js.many", big);
await ws.flush();
let next = 0;
for await (const m of many) {
  if (next < N) {
    check(sc.decode(m.data) === String(next), `message ${next} came as ${sc.decode(m.data)}`);
  } else {
    check(m.data.length === big.length && m.data.every((b, i) => b === big[i]), "large message");
  }
  next++;
}
check(next === N + 1, `got ${next} of ${N + 1}`);

// TCP -> WebSocket, many, so the server's sends are large and partial
const back = ws.subscribe("js.back", { max: N });
await ws.flush();
const blob = new Uint8Array(1000).fill(120);
for (let i = 0; i < N; i++) tcp.publish("js.back", blob);
await tcp.flush();
let got = 0;
for await (const m of back) {
  check(m.data.length === 1000, "size of a message to ws");
  got++;
}
check(got === N, `ws got ${got} of ${N}`);

await ws.drain();
await tcp.drain();
console.log("ok: nats.ws against " + wsUrl);
