// Interop: push notifications (XEP-0357) with @xmpp/client 0.14 on every side: the phone enables
// push with its own IQ machinery, the app-server stand-in answers the server's pubsub publish
// with @xmpp/client's IQ callee (as a real XMPP push service would), and a third client writes.
// This server puts the body in notifications (push_notification_with_body), which the e2e tests
// leave at its private default.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml, type XmlElement } from "./xmppjs-client.js";

const NS_PUSH = "urn:xmpp:push:0";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_DATA = "jabber:x:data";
const BODY = "Hello ünïcödé & <xml> — are you awake?";

let server: TestServer;
const open: Interop[] = [];

before(async () => {
  server = await startServer({ push_notification_with_body: true });
  await Promise.all([server.addUser("phone", "pw-phone"), server.addUser("writer", "pw-writer"), server.addUser("appserver", "pw-appserver")]);
});

after(async () => {
  await Promise.all(open.map((c) => c.stop().catch(() => {})));
  await server?.stop();
});

async function online(username: string, resource?: string): Promise<Interop> {
  const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: `pw-${username}`, resource });
  open.push(c);
  return c;
}

function fields(x: XmlElement | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of x?.getChildren("field", NS_DATA) ?? []) out[f.attrs.var!] = f.getChildren("value", NS_DATA).map((v) => v.text());
  return out;
}

test("@xmpp/client: enable, the app server's stand-in gets the summary with the body and answers, the phone then gets its offline message", async () => {
  const received: XmlElement[] = [];
  const app = await online("appserver", "app");
  app.xmpp.iqCallee.set(NS_PUBSUB, "pubsub", (ctx) => {
    received.push((ctx as { stanza: XmlElement }).stanza);
    return true;
  });

  const phone = await online("phone");
  const info = await phone.iq("get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), phone.bare);
  assert.ok(
    info
      .getChild("query")!
      .getChildren("feature")
      .some((f) => f.attrs.var === NS_PUSH),
    `the account advertises push: ${info.toString()}`,
  );
  const form = xml(
    "x",
    { xmlns: NS_DATA, type: "submit" },
    xml("field", { var: "FORM_TYPE" }, xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options")),
    xml("field", { var: "secret" }, xml("value", {}, "eruio234vzxc2kla-91")),
  );
  const enabled = await phone.iq("set", xml("enable", { xmlns: NS_PUSH, jid: app.jid, node: "yxs32uqsflafdk3iuqo" }, form));
  assert.equal(enabled.attrs.type, "result");
  await phone.stop();

  const writer = await online("writer");
  await writer.send(xml("message", { to: "phone@localhost", type: "chat", id: "wake-1" }, xml("body", {}, BODY)));
  const deadline = Date.now() + 10_000;
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 1, `one notification reached the app server:\n${app.wireLog()}`);
  const iq = received[0]!;
  assert.equal(iq.attrs.from, "phone@localhost");
  const pubsub = iq.getChild("pubsub", NS_PUBSUB)!;
  const publish = pubsub.getChild("publish", NS_PUBSUB)!;
  assert.equal(publish.attrs.node, "yxs32uqsflafdk3iuqo");
  const summary = fields(publish.getChild("item")?.getChild("notification", NS_PUSH)?.getChild("x", NS_DATA));
  assert.deepEqual(summary, {
    FORM_TYPE: ["urn:xmpp:push:summary"],
    "message-count": ["1"],
    "last-message-sender": ["writer@localhost"],
    "last-message-body": [BODY],
  });
  assert.deepEqual(fields(pubsub.getChild("publish-options", NS_PUBSUB)?.getChild("x", NS_DATA)).secret, ["eruio234vzxc2kla-91"]);

  // Woken, the phone connects and gets the message from offline storage.
  const back = await online("phone");
  await back.send(xml("presence"));
  const msg = await back.waitFor("the offline message", (el) => el.is("message") && el.attrs.id === "wake-1");
  assert.equal(msg.getChildText("body"), BODY);
});
