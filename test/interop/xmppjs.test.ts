// Interop: the real @xmpp/client 0.14 (an independently written client) against the real
// server, over STARTTLS and direct TLS: login (xmpp.js uses SASL2 + Bind2 when offered; the
// legacy SASL + bind path is covered by slixmpp.test.ts), roster, messages, presence
// subscriptions, offline messages and ping. The client wrapper (xmppjs-client.ts) works around
// an xmpp.js race with TLS 1.3 (see fixOpenRace there).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml, type XmlElement, type Options } from "./xmppjs-client.js";

const NS_ROSTER = "jabber:iq:roster";

let server: TestServer;
const clients: Interop[] = [];
let userCount = 0;

before(async () => {
  server = await startServer();
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.stop()));
  await server?.stop();
});

/** A fresh account for each test, so that tests do not see each other's rosters or messages. */
async function newUser(prefix: string): Promise<{ username: string; password: string }> {
  const username = `${prefix}${++userCount}`;
  const password = `pw-${username}-secret`;
  await server.addUser(username, password);
  return { username, password };
}

function starttls(): string {
  return `xmpp://127.0.0.1:${server.c2sPort}`;
}
function directTls(): string {
  return `xmpps://127.0.0.1:${server.tlsPort}`;
}

async function login(user: { username: string; password: string }, extra: Partial<Options> = {}): Promise<Interop> {
  const c = new Interop({ service: starttls(), ...user, ...extra });
  clients.push(c);
  await c.start();
  return c;
}

function rosterItems(iq: XmlElement): XmlElement[] {
  const q = iq.getChild("query", NS_ROSTER);
  assert.ok(q, `roster result without <query xmlns='${NS_ROSTER}'/>: ${iq}`);
  return q.getChildren("item");
}

async function getRoster(c: Interop): Promise<XmlElement[]> {
  return rosterItems(await rosterIq(c, "get", xml("query", { xmlns: NS_ROSTER })));
}

/** A roster IQ; an error reply fails with a message that names the missing feature. */
async function rosterIq(c: Interop, type: "get" | "set", query: XmlElement): Promise<XmlElement> {
  try {
    return await c.iq(type, query);
  } catch (err) {
    const e = err as Error & { condition?: string; element?: XmlElement };
    if (e.condition)
      throw new Error(
        `roster ${type} (jabber:iq:roster) answered with the error '${e.condition}': is the roster feature registered in src/features/index.ts? ${String(e.element ?? "")}`,
      );
    throw err;
  }
}

/** xmpp.js prefers SASL2 (XEP-0388) with Bind2 (XEP-0386) when the server offers them. */
function assertSasl2Bind2(c: Interop, mechanism: string): void {
  const auth = c.wire.find((l) => l.startsWith("OUT:") && l.includes("<authenticate"));
  assert.ok(auth, `xmpp.js logged in with SASL2\n${c.wireLog()}`);
  assert.match(auth, /xmlns="urn:xmpp:sasl:2"/);
  assert.match(auth, new RegExp(`mechanism="${mechanism}"`));
  assert.match(auth, /<bind xmlns="urn:xmpp:bind:0"/, "with Bind2 inline");
}

test("login over STARTTLS with SCRAM-SHA-1 (SASL2 + Bind2), bound to a resource made from the requested tag", async () => {
  const user = await newUser("tls");
  const c = await login(user, { resource: "desk" });
  assert.ok(c.xmpp.isSecure(), "the stream is encrypted after STARTTLS");
  assert.deepEqual(c.offered, ["SCRAM-SHA-1", "PLAIN"], "the mechanisms xmpp.js knows, among those offered");
  assert.equal(c.mechanism, "SCRAM-SHA-1");
  assertSasl2Bind2(c, "SCRAM-SHA-1");
  assert.equal(c.xmpp.jid.local, user.username);
  assert.equal(c.xmpp.jid.domain, "localhost");
  // Bind2 takes the tag as the start of the resource (XEP-0386 §4; Prosody gives "tag~random").
  assert.match(c.xmpp.jid.resource, /^desk.+/, `the resource starts with the tag: ${c.jid}`);
  assert.equal(c.bare, `${user.username}@localhost`);
  assert.deepEqual(c.errors, []);
  // The server agrees about who we are: a ping to our own full JID is answered by ourselves.
  const self = await c.iq("get", xml("ping", { xmlns: "urn:xmpp:ping" }), c.jid);
  assert.equal(self.attrs.type, "result");
  assert.equal(self.attrs.from, c.jid);
  await c.stop();
});

test("login over direct TLS (xmpps://) with PLAIN, and a server-chosen resource", async () => {
  const user = await newUser("direct");
  const c = new Interop({ service: directTls(), ...user, mechanism: "PLAIN" });
  clients.push(c);
  const address = await c.start();
  assert.ok(c.xmpp.isSecure());
  assert.equal(c.mechanism, "PLAIN");
  assertSasl2Bind2(c, "PLAIN");
  assert.match(address, new RegExp(`^${user.username}@localhost/.+$`), "bound to a full JID of the account");
  assert.ok(c.xmpp.jid.resource.length > 0, "the server generated a resource");
  await c.stop();
});

test("login over direct TLS with SCRAM-SHA-1 (SASL2 + Bind2) and a resource made from the requested tag", async () => {
  const user = await newUser("directscram");
  const c = new Interop({ service: directTls(), ...user, resource: "phone" });
  clients.push(c);
  await c.start();
  assert.equal(c.mechanism, "SCRAM-SHA-1");
  assertSasl2Bind2(c, "SCRAM-SHA-1");
  assert.equal(c.bare, `${user.username}@localhost`);
  assert.match(c.xmpp.jid.resource, /^phone.+/, `the resource starts with the tag: ${c.jid}`);
  await c.stop();
});

test("a wrong password is refused and the client reports not-authorized", async () => {
  const user = await newUser("wrong");
  const c = new Interop({ service: starttls(), username: user.username, password: "not-the-password" });
  clients.push(c);
  await assert.rejects(c.start(), (err: Error & { condition?: string }) => {
    assert.equal(err.condition, "not-authorized", `unexpected error: ${err}`);
    return true;
  });
  await c.stop().catch(() => {});
});

test("ping to the server (XEP-0199)", async () => {
  const c = await login(await newUser("ping"));
  const res = await c.iq("get", xml("ping", { xmlns: "urn:xmpp:ping" }), "localhost");
  assert.equal(res.attrs.type, "result");
  assert.equal(res.attrs.from, "localhost");
  await c.stop();
});

test("roster: set an item with a name and a group, receive the push, get it back", async () => {
  const user = await newUser("roster");
  const contact = `${(await newUser("contact")).username}@localhost`;
  const c = await login(user);

  const empty = await getRoster(c);
  assert.deepEqual(empty.map(String), [], "a new account's roster is empty");

  const res = await rosterIq(c, "set", xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: contact, name: "Best Friend" }, xml("group", {}, "Friends"))));
  assert.equal(res.attrs.type, "result");

  const push = await c.waitFor("a roster push", (el) => el.is("iq") && el.attrs.type === "set" && !!el.getChild("query", NS_ROSTER));
  assert.ok(push.attrs.from === undefined || push.attrs.from === c.bare, `a push comes from the account itself, got from=${push.attrs.from}`);
  const [pushed] = rosterItems(push);
  assert.ok(pushed, `the push carries the item: ${push}`);
  assert.equal(pushed.attrs.jid, contact);
  assert.equal(pushed.attrs.name, "Best Friend");
  assert.equal(pushed.attrs.subscription, "none");
  assert.deepEqual(
    pushed.getChildren("group").map((g) => g.getText()),
    ["Friends"],
  );

  const items = await getRoster(c);
  assert.equal(items.length, 1, `one item: ${items.map(String).join()}`);
  assert.equal(items[0]!.attrs.jid, contact);
  assert.equal(items[0]!.attrs.name, "Best Friend");
  assert.equal(items[0]!.attrs.subscription, "none");
  assert.deepEqual(
    items[0]!.getChildren("group").map((g) => g.getText()),
    ["Friends"],
  );

  // A second session of the same account gets the same roster.
  const c2 = await login(user, { resource: "second" });
  const again = await getRoster(c2);
  assert.deepEqual(
    again.map((i) => [i.attrs.jid, i.attrs.name]),
    [[contact, "Best Friend"]],
  );
  await c2.stop();
  await c.stop();
});

test("a chat message from one client to another, in both directions", async () => {
  const a = await login(await newUser("alice"), { resource: "a" });
  const b = await login(await newUser("bob"), { resource: "b" });
  // Real clients send initial presence after login; it makes them available for bare-JID messages.
  await a.send(xml("presence"));
  await b.send(xml("presence"));

  // To the full JID: delivered to that session whatever its presence (RFC 6121 §8.5.3.1).
  await b.send(xml("message", { to: a.jid, type: "chat", id: "m2" }, xml("body", {}, "Hi Alice")));
  const reply = await a.waitFor("bob's message to alice's full JID", (el) => el.is("message") && el.attrs.id === "m2");
  assert.equal(reply.attrs.from, b.jid, "the server stamps the sender's full JID");
  assert.equal(reply.attrs.to, a.jid);
  assert.equal(reply.attrs.type, "chat");
  assert.equal(reply.getChildText("body"), "Hi Alice");
  assert.equal(reply.getChild("delay", "urn:xmpp:delay"), undefined, "a live message carries no delay stamp");

  // To the bare JID: delivered to the available resource (RFC 6121 §8.5.2.1.1). B is available
  // only once the server has handled its initial presence (the presence feature).
  await a.send(xml("message", { to: b.bare, type: "chat", id: "m1" }, xml("body", {}, "Hello Bob, ünïcödé & <xml>")));
  const got = await b.waitFor(
    "alice's message to bob's bare JID (bob sent initial presence, so it must be delivered live)",
    (el) => el.is("message") && el.attrs.id === "m1",
  );
  assert.equal(got.attrs.from, a.jid);
  assert.equal(got.attrs.to, b.bare, "the 'to' is left as the sender wrote it");
  assert.equal(got.attrs.type, "chat");
  assert.equal(got.getChildText("body"), "Hello Bob, ünïcödé & <xml>");

  await a.stop();
  await b.stop();
});

test("presence: mutual subscription, then available and unavailable presence arrive", async () => {
  const a = await login(await newUser("pa"), { resource: "a" });
  const b = await login(await newUser("pb"), { resource: "b" });
  // What real clients do after login: fetch the roster (becoming an "interested resource",
  // RFC 6121 §1.4), then send initial presence (becoming available).
  for (const c of [a, b]) {
    assert.deepEqual(await getRoster(c), []);
    await c.send(xml("presence"));
  }

  // A asks B; B approves.
  await a.send(xml("presence", { to: b.bare, type: "subscribe" }));
  const req = await b.waitFor("A's subscription request", (el) => el.is("presence") && el.attrs.type === "subscribe");
  assert.equal(req.attrs.from, a.bare, "a subscription request comes from the bare JID (RFC 6121 §3.1.3)");
  await b.send(xml("presence", { to: a.bare, type: "subscribed" }));
  const approved = await a.waitFor("B's approval", (el) => el.is("presence") && el.attrs.type === "subscribed");
  assert.equal(approved.attrs.from, b.bare);
  // Now subscribed to B, A receives B's current presence (RFC 6121 §3.1.5).
  await a.waitFor("B's available presence", (el) => el.is("presence") && el.attrs.from === b.jid && el.attrs.type === undefined);

  // B asks A back; A approves.
  await b.send(xml("presence", { to: a.bare, type: "subscribe" }));
  const req2 = await a.waitFor("B's subscription request", (el) => el.is("presence") && el.attrs.type === "subscribe");
  assert.equal(req2.attrs.from, b.bare);
  await a.send(xml("presence", { to: b.bare, type: "subscribed" }));
  await b.waitFor("A's approval", (el) => el.is("presence") && el.attrs.type === "subscribed" && el.attrs.from === a.bare);
  await b.waitFor("A's available presence after the approval", (el) => el.is("presence") && el.attrs.from === a.jid && el.attrs.type === undefined);

  // Both rosters now show subscription="both", with no pending request.
  const rosterA = await getRoster(a);
  const rosterB = await getRoster(b);
  assert.deepEqual(
    rosterA.map((i) => [i.attrs.jid, i.attrs.subscription, i.attrs.ask]),
    [[b.bare, "both", undefined]],
  );
  assert.deepEqual(
    rosterB.map((i) => [i.attrs.jid, i.attrs.subscription, i.attrs.ask]),
    [[a.bare, "both", undefined]],
  );

  // A changes its presence: B receives it from A's full JID, with the show and status A sent.
  await a.send(xml("presence", {}, xml("show", {}, "away"), xml("status", {}, "at lunch")));
  const avail = await b.waitFor("A's 'away' presence", (el) => el.is("presence") && el.attrs.from === a.jid && el.getChildText("show") === "away");
  assert.equal(avail.attrs.type, undefined);
  assert.equal(avail.getChildText("status"), "at lunch");

  // A's client disconnects without sending unavailable presence: the server sends it for A.
  const aJid = a.jid;
  await a.stop();
  const gone = await b.waitFor("A's unavailable presence", (el) => el.is("presence") && el.attrs.from === aJid && el.attrs.type === "unavailable");
  assert.equal(gone.attrs.from, aJid);
  await b.stop();
});

test("a message to an offline user is stored and delivered at next login with a <delay/> stamp", async () => {
  const a = await login(await newUser("sender"), { resource: "a" });
  const bUser = await newUser("sleeper");
  const bBare = `${bUser.username}@localhost`;
  const before = Date.now();
  await a.send(xml("message", { to: bBare, type: "chat", id: "off1" }, xml("body", {}, "Read this when you are back")));
  // Make sure the server has handled the message before B logs in: a ping round trip on the same stream.
  await a.iq("get", xml("ping", { xmlns: "urn:xmpp:ping" }), "localhost");
  const aJid = a.jid;
  await a.stop();

  const b = await login(bUser, { resource: "b" });
  await b.send(xml("presence")); // offline messages are delivered on initial presence (XEP-0160)
  const msg = await b.waitFor("the offline message", (el) => el.is("message") && el.attrs.id === "off1");
  assert.equal(msg.getChildText("body"), "Read this when you are back");
  assert.equal(msg.attrs.from, aJid);
  assert.equal(msg.attrs.type, "chat");
  const delay = msg.getChild("delay", "urn:xmpp:delay");
  assert.ok(delay, `an offline message carries <delay xmlns='urn:xmpp:delay'/>: ${msg}`);
  assert.equal(delay.attrs.from, "localhost");
  assert.match(delay.attrs.stamp ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "an XEP-0082 UTC timestamp");
  const stamp = Date.parse(delay.attrs.stamp!);
  assert.ok(stamp >= Math.floor(before / 1000) * 1000 && stamp <= Date.now(), `the stamp ${delay.attrs.stamp} is when the message was stored`);

  // Delivered once: a second login gets nothing more.
  await b.stop();
  const b2 = await login(bUser, { resource: "b2" });
  await b2.send(xml("presence"));
  await b2.iq("get", xml("ping", { xmlns: "urn:xmpp:ping" }), "localhost");
  assert.equal(b2.stanzas.filter((el) => el.is("message") && el.attrs.id === "off1").length, 0, "the offline store was emptied");
  await b2.stop();
});
