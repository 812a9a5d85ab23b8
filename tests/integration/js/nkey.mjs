// NKey login with the JavaScript client's nkeyAuthenticator:
// node nkey.mjs URL. The server's users: the key pair of seed bytes 0..31
// (publish only to n.>). Exit 0 pass, 1 fail.
import { connect, nkeyAuthenticator, StringCodec } from "nats";

const SEED = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
const url = process.argv[2];
const sc = StringCodec();
setTimeout(() => {
  console.error("FAIL: not finished within 20 s");
  process.exit(1);
}, 20000).unref();

try {
  const nc = await connect({
    servers: url,
    authenticator: nkeyAuthenticator(new TextEncoder().encode(SEED)),
    maxReconnectAttempts: 0,
  });
  const sub = nc.subscribe("n.x", { max: 1 });
  nc.publish("n.x", sc.encode("hi"));
  for await (const m of sub) {
    if (sc.decode(m.data) !== "hi") throw new Error("wrong payload");
  }
  await nc.close();
  // a wrong seed (another key) is refused
  const other = "SUAN4LK6KSJEGCXP62UAGMBKNFOVRCYGM3PXQGVYEDDQ7XXWOQCPDC6OW4";
  let refused = false;
  try {
    const bad = await connect({
      servers: url,
      authenticator: nkeyAuthenticator(new TextEncoder().encode(other)),
      maxReconnectAttempts: 0,
    });
    await bad.close();
  } catch (e) {
    refused = true;
  }
  if (!refused) throw new Error("a login with another key was accepted");
  console.log("js nkey ok");
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
}
