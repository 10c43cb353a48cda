// Interop: XMPP over WebSocket (RFC 7395, src/http/websocket.ts) with the real @xmpp/client
// 0.14 at wss://127.0.0.1:<httpsPort>/xmpp-websocket: discovery (XEP-0156), SASL2 with a FAST
// token and then a FAST login, a message each way with a TCP client, and client management: the
// WebSocket session is listed like any other client and revoking it closes its WebSocket with
// the stream error.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { NS_MANAGE } from "../helpers/manage-clients.js";
import { XjsClient, xml, type TokenStore, type XjsOptions } from "../helpers/xjs.js";

let server: TestServer;
const clients: XjsClient[] = [];

before(async () => {
  // The reverse-proxy test below connects from this host as the proxy: trusted explicitly (the default trusts none).
  server = await startServer({ http_trusted_proxies: ["127.0.0.1"] });
  await server.addUser("wsalice", "wsalice-password");
  await server.addUser("tcpbob", "tcpbob-password");
});
after(async () => {
  await Promise.allSettled(clients.map((c) => c.stop()));
  await server?.stop();
});

const wsUrl = () => `wss://127.0.0.1:${server.httpsPort}/xmpp-websocket`;

async function online(o: Omit<XjsOptions, "service"> & { service?: string }): Promise<XjsClient> {
  const c = new XjsClient({ service: wsUrl(), ...o });
  clients.push(c);
  await c.start();
  return c;
}

test("XEP-0156: host-meta (XRD) and host-meta.json point at the WebSocket endpoint", async () => {
  const base = `https://127.0.0.1:${server.httpsPort}`;
  const xrd = await fetch(`${base}/.well-known/host-meta`);
  assert.equal(xrd.status, 200);
  assert.match(xrd.headers.get("content-type") ?? "", /^application\/xrd\+xml/);
  assert.equal(xrd.headers.get("access-control-allow-origin"), "*");
  const text = await xrd.text();
  assert.match(text, /<XRD xmlns='http:\/\/docs\.oasis-open\.org\/ns\/xri\/xrd-1\.0'>/);
  assert.ok(text.includes(`<Link rel='urn:xmpp:alt-connections:websocket' href='${wsUrl()}'/>`), text);
  const json = await fetch(`${base}/.well-known/host-meta.json`);
  assert.equal(json.status, 200);
  assert.deepEqual(await json.json(), { links: [{ rel: "urn:xmpp:alt-connections:websocket", href: wsUrl() }] });
  // Over plain HTTP the advertised URL is ws://.
  const plain = (await (await fetch(`http://127.0.0.1:${server.httpPort}/.well-known/host-meta.json`)).json()) as { links: Array<{ href: string }> };
  assert.equal(plain.links[0]!.href, `ws://127.0.0.1:${server.httpPort}/xmpp-websocket`);
});

test("a WebSocket without the xmpp subprotocol is closed with 1002 (RFC 7395 §3.1); another path is refused", async () => {
  const { WebSocket } = await import("ws");
  const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
    const ws = new WebSocket(wsUrl()); // no Sec-WebSocket-Protocol at all
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on("error", reject);
  });
  assert.deepEqual(closed, { code: 1002, reason: "the xmpp subprotocol is required" });
  const other = await new Promise<number | string>((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.httpsPort}/not-xmpp`, ["xmpp"]);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("error", (e) => resolve(e.message));
  });
  assert.equal(other, 404);
});

test("@xmpp/client over WebSocket: SASL2 with a FAST token, then a FAST login; messages both ways with a TCP client; listed and revoked like any other client", async () => {
  const id = randomUUID();
  const store: TokenStore = {};
  const web = await online({ username: "wsalice", password: "wsalice-password", id, software: "WS Client", device: "Browser tab", resource: "web", store });
  const first = web.authenticates();
  assert.equal(first.length, 1, web.wireLog());
  assert.match(first[0]!, /<authenticate xmlns="urn:xmpp:sasl:2" mechanism="PLAIN">/, "SASL2 over WebSocket");
  assert.match(first[0]!, /<request-token xmlns="urn:xmpp:fast:0" mechanism="HT-SHA-256-NONE"\/>/);
  assert.ok(store.token?.token, `a FAST token was issued over WebSocket: ${web.wireLog()}`);
  await web.stop();

  // The app comes back: the same client id and its token, so FAST (HT-SHA-256-NONE), over WebSocket.
  const again = await online({ username: "wsalice", password: "wsalice-password", id, software: "WS Client", device: "Browser tab", resource: "web", store });
  const auths = again.authenticates();
  assert.equal(auths.length, 1, `one authentication, with the token: ${again.wireLog()}`);
  assert.match(auths[0]!, /mechanism="HT-SHA-256-NONE"/, again.wireLog());
  assert.match(auths[0]!, /<fast xmlns="urn:xmpp:fast:0"\/>/);
  assert.match(again.jid, /^wsalice@localhost\/web/);

  // A TCP client (STARTTLS) and the WebSocket client exchange messages.
  const tcp = await online({
    service: `xmpp://127.0.0.1:${server.c2sPort}`,
    username: "tcpbob",
    password: "tcpbob-password",
    id: randomUUID(),
    software: "TCP Client",
    resource: "desk",
  });
  await tcp.send(xml("message", { to: again.jid, type: "chat", id: "m1" }, xml("body", {}, "hello over TCP")));
  const got = await again.waitForStanza("the message from TCP", (el) => el.is("message") && el.getChildText("body") === "hello over TCP");
  assert.equal(got.attrs.from, tcp.jid);
  await again.send(xml("message", { to: tcp.jid, type: "chat", id: "m2" }, xml("body", {}, "hello over WebSocket")));
  const back = await tcp.waitForStanza("the message from WebSocket", (el) => el.is("message") && el.getChildText("body") === "hello over WebSocket");
  assert.equal(back.attrs.from, again.jid);

  // A second client of the same account, over TCP, lists the WebSocket client and revokes it.
  const admin = await online({
    service: `xmpp://127.0.0.1:${server.c2sPort}`,
    username: "wsalice",
    password: "wsalice-password",
    id: "ws-admin",
    software: "Admin",
    resource: "admin",
  });
  const list = await admin.iq("get", xml("list", { xmlns: NS_MANAGE }));
  const entries = list.getChild("clients", NS_MANAGE)?.children.filter((c): c is Exclude<typeof c, string> => typeof c !== "string") ?? [];
  const mine = entries.filter((c) => c.attrs.id === `client/${id}`);
  assert.equal(mine.length, 1, `the WebSocket client is listed once: ${list}`);
  const entry = mine[0]!;
  assert.equal(entry.attrs.connected, "true", String(entry));
  assert.equal(entry.attrs.type, "session");
  assert.equal(entry.getChild("user-agent")?.getChildText("software"), "WS Client");
  assert.equal(entry.getChild("user-agent")?.getChildText("device"), "Browser tab");
  assert.deepEqual(
    entry
      .getChild("auth")
      ?.children.filter((c) => typeof c !== "string")
      .map((c) => (c as { name: string }).name),
    ["password", "fast"],
  );

  const revoked = await admin.iq("set", xml("revoke", { xmlns: NS_MANAGE, id: `client/${id}` })).then(
    () => undefined,
    (e: Error & { condition?: string; text?: string }) => e,
  );
  assert.ok(revoked, "it used the password: the answer is the password-reset-required error, after revoking");
  assert.equal(revoked.condition, "service-unavailable");
  assert.equal(revoked.text, "Password reset required");

  const streamErr = await again.streamError();
  assert.equal(streamErr.condition, "not-authorized", String(streamErr));
  assert.equal(streamErr.text, "Access for WS Client on Browser tab was revoked by a client of your account");
  await again.disconnected();
  const after = await admin.iq("get", xml("list", { xmlns: NS_MANAGE }));
  const ids = after
    .getChild("clients", NS_MANAGE)!
    .children.filter((c) => typeof c !== "string")
    .map((c) => (c as { attrs: Record<string, string> }).attrs.id);
  assert.deepEqual(ids, ["client/ws-admin"], String(after));

  // Its FAST token died with it: the app's next start is refused (token, then the password, as this revoked client).
  const retry = new XjsClient({
    service: wsUrl(),
    username: "wsalice",
    password: "wsalice-password",
    id,
    software: "WS Client",
    device: "Browser tab",
    resource: "web",
    store,
  });
  clients.push(retry);
  const e = await retry.start().then(
    () => undefined,
    (x: Error & { condition?: string; text?: string }) => x,
  );
  assert.ok(e, `the revoked WebSocket client logged in again: ${retry.wireLog()}`);
  assert.equal(e.condition, "not-authorized", String(e));
  assert.equal(e.text, "Access for this client was revoked. You can allow it again on your account page");
  assert.match(retry.authenticates()[0] ?? "", /mechanism="HT-SHA-256-NONE"/, retry.wireLog());
  await retry.stop();
  await admin.stop();
  await tcp.stop();
});

/** A bare RFC 7395 client: every frame received is kept; waits for one that matches. */
async function rawWs(url: string, headers: Record<string, string>) {
  const { WebSocket } = await import("ws");
  const ws = new WebSocket(url, ["xmpp"], { headers });
  const frames: string[] = [];
  let wake: (() => void) | undefined;
  ws.on("message", (d) => {
    frames.push((d as Buffer).toString());
    wake?.();
  });
  ws.on("close", () => wake?.());
  await new Promise<void>((res, rej) => {
    ws.once("open", () => res());
    ws.once("error", rej);
  });
  const next = async (what: string, re: RegExp): Promise<string> => {
    for (;;) {
      const f = frames.find((x) => re.test(x));
      if (f) return f;
      if (ws.readyState !== ws.OPEN) throw new Error(`closed before ${what}; frames: ${frames.join("\n")}`);
      await new Promise<void>((res) => {
        wake = res;
      });
    }
  };
  return { ws, frames, next };
}

test("behind a reverse proxy (plain ws:// from a trusted proxy saying X-Forwarded-Proto: https): SASL is offered without channel binding, the client's address is the forwarded one; without the header the stream is refused as not encrypted", async () => {
  await server.addUser("proxied", "proxied-password");
  const url = `ws://127.0.0.1:${server.httpPort}/xmpp-websocket`;
  const open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";

  // Plain WebSocket, not said to be TLS anywhere: refused with the reason (c2s_require_encryption), not left waiting.
  const bare = await rawWs(url, {});
  bare.ws.send(open);
  const bareError = await bare.next("the stream error", /<stream:error/);
  assert.match(bareError, /<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/, bareError);
  assert.ok(!bare.frames.some((f) => /<stream:features/.test(f)), bare.frames.join("\n"));
  bare.ws.close();

  // An observer, to receive the new-client notice naming the address.
  const desk = await online({
    service: `xmpp://127.0.0.1:${server.c2sPort}`,
    username: "proxied",
    password: "proxied-password",
    id: "proxied-desk",
    software: "Desk",
    resource: "desk",
  });
  const c = await rawWs(url, { "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7" });
  c.ws.send(open);
  const features = await c.next("the features", /<stream:features/);
  assert.match(features, /<authentication xmlns='urn:xmpp:sasl:2'>/);
  assert.match(features, /<mechanism>PLAIN<\/mechanism>/);
  assert.doesNotMatch(features, /-PLUS<\/mechanism>/, "no channel binding through a proxy");
  const ir = Buffer.from("\0proxied\0proxied-password").toString("base64");
  c.ws.send(
    `<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>${ir}</initial-response><user-agent id='proxied-web'><software>Proxied Web</software><device>Kiosk</device></user-agent><bind xmlns='urn:xmpp:bind:0'><tag>kiosk</tag></bind></authenticate>`,
  );
  const success = await c.next("the SASL2 result", /<(success|failure) xmlns='urn:xmpp:sasl:2'/);
  assert.match(success, /^<success xmlns='urn:xmpp:sasl:2'>/, success);
  const notice = await desk.waitForStanza("the new-client notice", (el) => el.is("message") && el.attrs.from === "localhost");
  assert.match(notice.getChildText("body") ?? "", /"Proxied Web" on "Kiosk" from 203\.0\.113\.7 at /);
  c.ws.close();
  await desk.stop();
});
