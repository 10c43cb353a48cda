// Issue 10 §3: every transport offers only what a client on it can complete. For each way in
// (STARTTLS, direct TLS, WebSocket over HTTPS, WebSocket over plain HTTP from a trusted
// TLS-ending proxy) the offered mechanism lists are read, the strongest is picked as StanzaJS
// picks (its own SASL factory), and a login is completed with it: SCRAM-SHA-256-PLUS with
// tls-exporter over TCP, the real StanzaJS client over WebSocket. A plain ws:// stream that
// nothing encrypts is told why and closed, instead of waiting forever on empty features.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { scramAuth } from "../helpers/scram-client.js";
import { NS_SASL, NS_STREAM, NS_STREAMS, child, elementsOf, parseServerOutput, show, type XmlEl } from "../helpers/xml.js";
import { NS_FAST, NS_SASL2 } from "../helpers/sasl2-client.js";
import { rawWs, WS_OPEN } from "../helpers/raw-ws.js";
import { stanzaLogin, stanzaPick, tlsWebSocketProxy } from "../helpers/stanza.js";

const NS_SASL_CB = "urn:xmpp:sasl-cb:0";
const USER = "transport-user";
const PASSWORD = "transport-password-1";

let server: TestServer;
before(async () => {
  // The proxy of the last transport runs on this host: trusted explicitly (the default trusts none).
  server = await startServer({ http_trusted_proxies: ["127.0.0.1"] });
  await server.addUser(USER, PASSWORD);
});
after(() => server?.stop());

interface Offer {
  legacy: string[];
  sasl2: string[];
  cb: string[];
  fast: string[];
}

function offerOf(features: XmlEl): Offer {
  const texts = (el: XmlEl | undefined, name: string) => el?.children.filter((c) => c.name === name).map((c) => c.text) ?? [];
  const auth = child(features, "authentication", NS_SASL2);
  return {
    legacy: texts(child(features, "mechanisms", NS_SASL), "mechanism"),
    sasl2: texts(auth, "mechanism"),
    cb: child(features, "sasl-channel-binding", NS_SASL_CB)?.children.map((c) => c.attrs.type!) ?? [],
    fast: texts(auth && child(child(auth, "inline") ?? auth, "fast", NS_FAST), "mechanism"),
  };
}

async function tcpFeatures(c: RawClient): Promise<XmlEl> {
  c.clear();
  c.openStream();
  const f = await c.waitUntil(
    (text) => parseServerOutput(text).flatMap((i) => (i.kind === "element" && i.el.name === "features" && i.el.ns === NS_STREAM ? [i.el] : []))[0],
    "the stream features",
  );
  c.clear();
  return f;
}

/** Over TCP the client holds the TLS channel: the strongest pick is -PLUS, and it completes with tls-exporter. */
async function completeOverTcp(c: RawClient): Promise<void> {
  const offer = offerOf(await tcpFeatures(c));
  assert.deepEqual(offer.sasl2, offer.legacy, "legacy SASL and SASL2 offer the same mechanisms");
  assert.ok(offer.legacy.includes("SCRAM-SHA-256-PLUS") && offer.legacy.includes("SCRAM-SHA-1-PLUS"), `-PLUS offered over TCP with TLS: ${offer.legacy}`);
  assert.ok(offer.cb.includes("tls-exporter") && offer.cb.includes("tls-server-end-point"), `XEP-0440 list: ${offer.cb}`);
  assert.deepEqual(offer.fast, ["HT-SHA-256-EXPR", "HT-SHA-256-ENDP", "HT-SHA-256-NONE"]);
  const pick = stanzaPick(offer.legacy);
  assert.equal(pick, "SCRAM-SHA-256-PLUS");
  const socket = c.socket as tls.TLSSocket;
  assert.equal(socket.getProtocol(), "TLSv1.3");
  const data = socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
  await scramAuth(c, USER, PASSWORD, "SHA-256", { type: "tls-exporter", data });
  const result = await c.waitUntil(
    (text) =>
      parseServerOutput(text).flatMap((i) =>
        i.kind === "element" && i.el.ns === NS_SASL && (i.el.name === "success" || i.el.name === "failure") ? [i.el] : [],
      )[0],
    "the SASL result",
  );
  assert.equal(result.name, "success", `${pick} over TCP: ${show(result)}`);
}

test("STARTTLS: -PLUS and the XEP-0440 list are offered, and the strongest pick (SCRAM-SHA-256-PLUS, tls-exporter) completes", async () => {
  const c = await RawClient.connect(server.c2sPort);
  try {
    await c.startTls();
    await completeOverTcp(c);
  } finally {
    c.close();
  }
});

test("direct TLS (XEP-0368): the same, and the strongest pick completes", async () => {
  const c = await RawClient.connect(server.tlsPort, { directTls: true });
  try {
    await completeOverTcp(c);
  } finally {
    c.close();
  }
});

/** Over WebSocket no -PLUS, no XEP-0440 list, no channel-bound FAST: StanzaJS's pick is plain SCRAM-SHA-256. */
async function wsOffer(url: string, headers: Record<string, string> = {}): Promise<Offer> {
  const c = await rawWs(url, headers);
  try {
    c.ws.send(WS_OPEN);
    const frame = await c.next("the features", /<stream:features/);
    return offerOf(elementsOf(frame)[0]!);
  } finally {
    c.ws.close();
  }
}

function assertNoBinding(offer: Offer): void {
  assert.ok(offer.sasl2.length > 0, "SASL2 mechanisms are offered");
  for (const list of [offer.legacy, offer.sasl2])
    assert.deepEqual(
      list.filter((m) => m.endsWith("-PLUS")),
      [],
      `no -PLUS over WebSocket: ${list}`,
    );
  assert.deepEqual(offer.cb, [], "no XEP-0440 channel-binding list over WebSocket");
  assert.deepEqual(offer.fast, ["HT-SHA-256-NONE"], "FAST without channel binding only");
  assert.equal(stanzaPick(offer.sasl2), "SCRAM-SHA-256");
}

test("WebSocket over HTTPS: no -PLUS offered; the real StanzaJS client logs in with its pick, SCRAM-SHA-256", async () => {
  const url = `wss://127.0.0.1:${server.httpsPort}/xmpp-websocket`;
  assertNoBinding(await wsOffer(url));
  const login = await stanzaLogin(url, `${USER}@localhost`, PASSWORD);
  assert.match(login.jid, new RegExp(`^${USER}@localhost/`));
  assert.ok(
    login.outgoing.some((d) => /mechanism="SCRAM-SHA-256"/.test(d)),
    `StanzaJS used SCRAM-SHA-256: ${login.outgoing.join("\n")}`,
  );
});

test("WebSocket over plain HTTP from a trusted proxy that ended TLS: no -PLUS; StanzaJS through a real proxy hop logs in", async () => {
  const proxy = await tlsWebSocketProxy(server, { "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.44" });
  try {
    const url = `wss://127.0.0.1:${proxy.port}/xmpp-websocket`;
    assertNoBinding(await wsOffer(url));
    const login = await stanzaLogin(url, `${USER}@localhost`, PASSWORD);
    assert.match(login.jid, new RegExp(`^${USER}@localhost/`));
  } finally {
    await proxy.close();
  }
});

/** <open/>, then a stream error naming the reason, then <close/>, and the WebSocket closes: no waiting on empty features. */
async function expectNotEncrypted(url: string, headers: Record<string, string> = {}): Promise<void> {
  const c = await rawWs(url, headers);
  const started = Date.now();
  c.ws.send(WS_OPEN);
  const errFrame = await c.next("the stream error", /<stream:error/, 3000);
  const err = elementsOf(errFrame)[0]!;
  const conds = err.children.filter((x) => x.ns === NS_STREAMS && x.name !== "text");
  assert.deepEqual(
    conds.map((x) => x.name),
    ["policy-violation"],
    show(err),
  );
  assert.match(child(err, "text", NS_STREAMS)?.text ?? "", /not encrypted.*wss:\/\//, show(err));
  assert.ok(!c.frames.some((f) => /<stream:features/.test(f)), `no features before the error: ${c.frames.join("\n")}`);
  assert.match(c.frames[0]!, /^<open /);
  await c.next("the <close/>", /^<close /, 3000);
  const code = await Promise.race([c.closed, new Promise<string>((r) => setTimeout(() => r("still open"), 3000))]);
  assert.notEqual(code, "still open", "the server closes the WebSocket");
  assert.ok(Date.now() - started < 3000, "answered at once");
}

test("plain ws:// that nothing encrypts (no X-Forwarded-Proto from the trusted proxy): a policy-violation naming the reason, then closed", async () => {
  await expectNotEncrypted(`ws://127.0.0.1:${server.httpPort}/xmpp-websocket`);
});

test("plain ws:// from a peer that is not a trusted proxy (the default trusts none): X-Forwarded-Proto: https is not believed", async () => {
  const other = await startServer();
  try {
    await expectNotEncrypted(`ws://127.0.0.1:${other.httpPort}/xmpp-websocket`, { "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.3" });
  } finally {
    await other.stop();
  }
});
