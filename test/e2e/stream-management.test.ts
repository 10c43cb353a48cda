// XEP-0198 Stream Management end to end over raw sockets: enabling, acks and counts, the
// handled-count-too-high stream error, hibernation after a cut connection and resumption
// (classic and inside SASL2), refusals (unknown id, another account's session, after a
// password change), and what happens to unacknowledged stanzas when a hibernation expires.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, elementsOf, show, NS_STANZAS, NS_STREAM, NS_STREAMS, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, expectStreamError, ping, waitForElement } from "../helpers/xmpp-assert.js";

const NS_SM = "urn:xmpp:sm:3";
const NS_SASL2 = "urn:xmpp:sasl:2";
const NS_BIND2 = "urn:xmpp:bind:0";

let server: TestServer;
/** A second server whose hibernations last one second. */
let shortServer: TestServer;
const clients: RawClient[] = [];
let userCount = 0;

before(async () => {
  [server, shortServer] = await Promise.all([startServer(), startServer({ smacks_hibernation_time: 1 })]);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([server?.stop(), shortServer?.stop()]);
});

interface User {
  username: string;
  password: string;
  bare: string;
  srv: TestServer;
}

async function newUser(prefix: string, srv = server): Promise<User> {
  const username = `${prefix}${++userCount}`;
  const password = `pw-${username}-secret`;
  await srv.addUser(username, password);
  return { username, password, bare: `${username}@localhost`, srv };
}

async function connect(srv: TestServer): Promise<RawClient> {
  const c = await RawClient.connect(srv.c2sPort);
  clients.push(c);
  return c;
}

async function login(user: User, resource: string): Promise<{ c: RawClient; jid: string }> {
  const c = await connect(user.srv);
  const jid = await c.login(user.username, user.password, resource);
  return { c, jid };
}

/** STARTTLS, PLAIN and the restart, but no bind; returns the features of the authenticated stream. */
async function authenticate(user: User, password = user.password): Promise<{ c: RawClient; features: XmlEl }> {
  const c = await connect(user.srv);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.clear();
  c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user.username}\0${password}`).toString("base64")}</auth>`);
  await c.waitFor(/<success/);
  c.clear();
  c.openStream();
  const features = await waitForElement(c, (el) => el.name === "features" && el.ns === NS_STREAM, "the features after authentication");
  c.clear();
  return { c, features };
}

async function enable(c: RawClient, attrs = "resume='true'"): Promise<XmlEl> {
  c.send(`<enable xmlns='${NS_SM}' ${attrs}/>`);
  const el = await waitForElement(c, (e) => e.ns === NS_SM && (e.name === "enabled" || e.name === "failed"), "the answer to <enable/>");
  assert.equal(el.name, "enabled", `enable failed: ${show(el)}`);
  return el;
}

async function waitFailed(c: RawClient): Promise<XmlEl> {
  return waitForElement(c, (e) => e.ns === NS_SM && (e.name === "failed" || e.name === "resumed" || e.name === "enabled"), "an SM answer");
}

function assertFailed(el: XmlEl, condition: string): void {
  assert.equal(el.name, "failed", `expected <failed/>, got ${show(el)}`);
  assert.ok(child(el, condition, NS_STANZAS), `expected <${condition}/> in ${show(el)}`);
}

/** Asks for an ack and returns the h the server answers with. */
async function askAck(c: RawClient): Promise<number> {
  c.clear();
  c.send(`<r xmlns='${NS_SM}'/>`);
  const a = await waitForElement(c, (e) => e.name === "a" && e.ns === NS_SM, "<a/>");
  return Number(a.attrs.h);
}

/** Stanzas (message, presence, iq) the server sent in what `c` has received so far. */
function stanzasIn(c: RawClient): XmlEl[] {
  return elementsOf(c.received).filter((e) => e.ns === "jabber:client" && ["message", "presence", "iq"].includes(e.name));
}

function chat(to: string, id: string, body: string): string {
  return `<message type='chat' to='${to}' id='${id}'><body>${body}</body></message>`;
}

const waitMessage = (c: RawClient, id: string, timeoutMs = 5000) =>
  waitForElement(c, (e) => e.name === "message" && e.attrs.id === id, `message ${id}`, timeoutMs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("<sm/> is offered after authentication, and <enable/> needs a bound resource", async () => {
  const alice = await newUser("alice");
  const { c, features } = await authenticate(alice);
  assert.ok(child(features, "sm", NS_SM), `no <sm/> in ${show(features)}`);
  c.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
  assertFailed(await waitFailed(c), "unexpected-request");
  c.clear();
  c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
  await c.waitFor(/<jid>/);
  c.clear();
  const enabled = await enable(c);
  assert.equal(enabled.attrs.resume, "true");
  assert.equal(enabled.attrs.max, "600");
  // At least 16 random bytes, base64url.
  assert.match(enabled.attrs.id ?? "", /^[A-Za-z0-9_-]{22,}$/);
  c.clear();
  c.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
  assertFailed(await waitFailed(c), "unexpected-request");
  await ping(c);
});

test("resume='1' and a shorter max are accepted; without resume there is no id", async () => {
  const u = await newUser("stanza");
  const { c } = await login(u, "r");
  const enabled = await enable(c, "resume='1' max='30'");
  assert.equal(enabled.attrs.resume, "true");
  assert.equal(enabled.attrs.max, "30");
  const { c: c2 } = await login(u, "r2");
  const plain = await enable(c2, "");
  assert.equal(plain.attrs.id, undefined);
  assert.equal(plain.attrs.resume, undefined);
});

test("acks count stanzas both ways; an 'h' acknowledging more than was sent is a stream error", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  const b = await login(bob, "desk");
  await enable(a.c);
  assert.equal(await askAck(a.c), 0);
  a.c.clear();
  await ping(a.c, "p1");
  // The server asks for an ack after sending a stanza.
  await waitForElement(a.c, (e) => e.name === "r" && e.ns === NS_SM, "an ack request from the server");
  await ping(a.c, "p2");
  assert.equal(await askAck(a.c), 2, "two pings are two handled stanzas");
  a.c.clear();
  b.c.send(chat(a.jid, "m1", "hello"));
  await waitMessage(a.c, "m1");
  // Sent since enable: two ping results and the message. Acknowledging them is fine...
  a.c.clear();
  a.c.send(`<a xmlns='${NS_SM}' h='3'/>`);
  await ping(a.c, "p3");
  // ...and once answered, the server asks again for what it sent since.
  await waitForElement(a.c, (e) => e.name === "r" && e.ns === NS_SM, "a new ack request from the server");
  assert.equal(await askAck(a.c), 3);
  // ...acknowledging more than was sent is not.
  a.c.clear();
  a.c.send(`<a xmlns='${NS_SM}' h='9'/>`);
  const err = await expectStreamError(a.c, "undefined-condition");
  assert.equal(child(err, "text", NS_STREAMS)?.text, "handled-count-too-high");
});

test("a cut connection hibernates; <resume/> gets <resumed/> and the stanzas that were missed", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  const b = await login(bob, "desk");
  const id = (await enable(a.c)).attrs.id!;
  a.c.send("<presence/>");
  await waitForElement(a.c, (e) => e.name === "presence" && e.attrs.from === a.jid, "the presence echo");
  a.c.send(`<a xmlns='${NS_SM}' h='1'/>`);
  await ping(a.c, "before-cut");
  const received = stanzasIn(a.c).length; // presence echo + ping result
  a.c.close();
  await sleep(100);
  // Meanwhile: to the full JID, and to the bare JID (the session is still available).
  b.c.send(chat(a.jid, "m1", "one"));
  b.c.send(chat(a.jid, "m2", "two"));
  b.c.send(chat(alice.bare, "m3", "three"));
  await ping(b.c);

  const { c } = await authenticate(alice);
  c.send(`<resume xmlns='${NS_SM}' previd='${id}' h='${received}'/>`);
  const resumed = await waitFailed(c);
  assert.equal(resumed.name, "resumed", `expected <resumed/>, got ${show(resumed)}`);
  assert.equal(resumed.attrs.previd, id);
  assert.equal(resumed.attrs.h, "2", "the server handled the presence and the ping");
  for (const m of ["m1", "m2", "m3"]) await waitMessage(c, m);
  // Only what was not acknowledged is replayed.
  assert.equal(stanzasIn(c).filter((e) => e.attrs.id === "before-cut").length, 0, `the acknowledged ping result was replayed: ${c.received}`);

  // Same session, same full JID, both ways.
  b.c.clear();
  c.send(chat(b.jid, "back", "I'm back"));
  const back = await waitMessage(b.c, "back");
  assert.equal(back.attrs.from, a.jid);
  b.c.send(chat(a.jid, "m4", "welcome"));
  await waitMessage(c, "m4");
  assert.equal(await askAck(c), 3, "presence, ping and the message: counting goes on across the resumption");
});

test("<resume/> with an unknown id fails with item-not-found, and the stream can still bind", async () => {
  const alice = await newUser("alice");
  const { c } = await authenticate(alice);
  c.send(`<resume xmlns='${NS_SM}' previd='bm90LWEtcmVhbC1zZXNzaW9uLWlk' h='0'/>`);
  const failed = await waitFailed(c);
  assertFailed(failed, "item-not-found");
  assert.equal(failed.attrs.h, undefined);
  c.clear();
  c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  await c.waitFor(/<jid>/);
  await ping(c);
});

test("another account cannot resume a session", async () => {
  const carol = await newUser("carol");
  const mallory = await newUser("mallory");
  const cc = await login(carol, "laptop");
  const id = (await enable(cc.c)).attrs.id!;
  cc.c.close();
  await sleep(100);
  const { c: m } = await authenticate(mallory);
  m.send(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  const failed = await waitFailed(m);
  assertFailed(failed, "item-not-found");
  assert.equal(failed.attrs.h, undefined, "nothing about another account's session leaks");
  // The owner still can.
  const { c } = await authenticate(carol);
  c.send(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  assert.equal((await waitFailed(c)).name, "resumed");
  await ping(c);
});

test("resuming a session whose old connection is still open closes the old connection", async () => {
  const alice = await newUser("alice");
  const old = await login(alice, "tablet");
  const id = (await enable(old.c)).attrs.id!;
  const { c } = await authenticate(alice);
  c.send(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  assert.equal((await waitFailed(c)).name, "resumed");
  await expectStreamError(old.c, "conflict");
  await ping(c);
});

test("a hibernating session ends when the password changes; its unacknowledged messages go offline", async () => {
  const dave = await newUser("dave");
  const bob = await newUser("bob");
  const d = await login(dave, "phone");
  const b = await login(bob, "desk");
  const id = (await enable(d.c)).attrs.id!;
  b.c.send(chat(d.jid, "u1", "not acknowledged"));
  await waitMessage(d.c, "u1");
  d.c.close();
  await sleep(100);
  const r = await server.cli(["user", "passwd", dave.username], "new-password\n");
  assert.equal(r.code, 0, r.stderr);
  const { c } = await authenticate(dave, "new-password");
  c.send(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  assertFailed(await waitFailed(c), "item-not-found");
  // The message the dead connection never acknowledged was not lost.
  c.clear();
  c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  await c.waitFor(/<jid>/);
  c.send("<presence/>");
  const m = await waitMessage(c, "u1");
  assert.equal(m.attrs.from, b.jid);
});

test("when hibernation expires, unacknowledged messages go to offline storage and other stanzas bounce", async () => {
  const erin = await newUser("erin", shortServer);
  const bob = await newUser("bob", shortServer);
  const e = await login(erin, "phone");
  const b = await login(bob, "desk");
  const enabled = await enable(e.c);
  assert.equal(enabled.attrs.max, "1");
  // Delivered to a connection that is about to die, never acknowledged.
  b.c.send(chat(e.jid, "x1", "first"));
  b.c.send(`<message to='${e.jid}' id='x2'><body>second</body></message>`);
  await waitMessage(e.c, "x1");
  await waitMessage(e.c, "x2");
  e.c.close();
  await sleep(100);
  // Queued while hibernating; bounced when the hibernation is over.
  b.c.send(`<iq type='get' id='v1' to='${e.jid}'><query xmlns='jabber:iq:version'/></iq>`);
  await expectStanzaError(b.c, "iq", "v1", "cancel", "service-unavailable", 5000);

  const { c } = await authenticate(erin);
  c.send(`<resume xmlns='${NS_SM}' previd='${enabled.attrs.id}' h='0'/>`);
  const failed = await waitFailed(c);
  assertFailed(failed, "item-not-found");
  assert.equal(failed.attrs.h, "0", "an expired session of the same account tells its final h");
  c.clear();
  c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  await c.waitFor(/<jid>/);
  c.send("<presence/>");
  for (const id of ["x1", "x2"]) {
    const m = await waitMessage(c, id);
    assert.equal(m.attrs.from, b.jid);
    assert.ok(child(m, "delay", "urn:xmpp:delay"), `no <delay/> on the offline message ${show(m)}`);
  }
});

test("a client that closes its stream is not hibernated; what it did not acknowledge goes to its other resource", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const phone = await login(alice, "phone");
  const desk = await login(alice, "desk");
  const b = await login(bob, "pc");
  const id = (await enable(phone.c)).attrs.id!;
  for (const cl of [phone, desk]) {
    cl.c.send("<presence/>");
    await waitForElement(cl.c, (e) => e.name === "presence" && e.attrs.from === cl.jid, "the presence echo");
  }
  b.c.send(chat(phone.jid, "r1", "to the phone"));
  await waitMessage(phone.c, "r1");
  desk.c.clear();
  phone.c.send("</stream:stream>");
  await phone.c.waitClosed();
  const m = await waitMessage(desk.c, "r1");
  assert.equal(m.attrs.from, b.jid);
  const { c } = await authenticate(alice);
  c.send(`<resume xmlns='${NS_SM}' previd='${id}' h='0'/>`);
  assertFailed(await waitFailed(c), "item-not-found");
});

// --- SASL2 (XEP-0388) with Bind2 (XEP-0386) -----------------------------------------------

async function sasl2Connect(user: User): Promise<{ c: RawClient; features: XmlEl }> {
  const c = await connect(user.srv);
  await c.startTls();
  c.openStream();
  const features = await waitForElement(c, (el) => el.name === "features" && el.ns === NS_STREAM, "features");
  c.clear();
  return { c, features };
}

async function sasl2Auth(c: RawClient, user: User, inner: string): Promise<XmlEl> {
  const ir = Buffer.from(`\0${user.username}\0${user.password}`).toString("base64");
  c.send(
    `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><initial-response>${ir}</initial-response>` +
      `<user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'><software>sm-test</software></user-agent>${inner}</authenticate>`,
  );
  const el = await waitForElement(c, (e) => e.ns === NS_SASL2 && (e.name === "success" || e.name === "failure"), "the SASL2 outcome");
  assert.equal(el.name, "success", `SASL2 failed: ${show(el)}`);
  return el;
}

const BIND2_ENABLE = `<bind xmlns='${NS_BIND2}'><tag>smtest</tag><enable xmlns='${NS_SM}' resume='true'/></bind>`;

test("SASL2: SM is offered inline, Bind2 enables it, and a resume in <authenticate> wins over Bind2", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const b = await login(bob, "desk");
  const { c, features } = await sasl2Connect(alice);
  const inline = child(child(features, "authentication", NS_SASL2)!, "inline", NS_SASL2);
  assert.ok(inline && child(inline, "sm", NS_SM), `no <sm/> in the SASL2 inline features: ${show(features)}`);
  const bindInline = child(child(inline, "bind", NS_BIND2)!, "inline", NS_BIND2);
  assert.ok(
    bindInline?.children.some((f) => f.name === "feature" && f.attrs.var === NS_SM),
    `no SM in the Bind2 inline features: ${show(features)}`,
  );

  const success = await sasl2Auth(c, alice, BIND2_ENABLE);
  const enabled = child(child(success, "bound", NS_BIND2)!, "enabled", NS_SM);
  assert.ok(enabled, `no <enabled/> in <bound/>: ${show(success)}`);
  assert.equal(enabled.attrs.resume, "1");
  assert.equal(enabled.attrs.max, "600");
  const jid = child(success, "authorization-identifier", NS_SASL2)!.text;
  c.send("<presence/>");
  await waitForElement(c, (e) => e.name === "presence" && e.attrs.from === jid, "the presence echo");
  c.close();
  await sleep(100);
  b.c.send(chat(jid, "s1", "while you were away"));
  await ping(b.c);

  // What xmpp.js sends on reconnection: Bind2 with enable, and the resume.
  const { c: c2 } = await sasl2Connect(alice);
  const success2 = await sasl2Auth(c2, alice, `${BIND2_ENABLE}<resume xmlns='${NS_SM}' previd='${enabled.attrs.id}' h='1'/>`);
  const resumed = child(success2, "resumed", NS_SM);
  assert.ok(resumed, `no <resumed/> in ${show(success2)}`);
  assert.equal(resumed.attrs.previd, enabled.attrs.id);
  assert.equal(resumed.attrs.h, "1");
  assert.equal(child(success2, "bound", NS_BIND2), undefined, "a resumed session is not bound again");
  assert.equal(child(success2, "authorization-identifier", NS_SASL2)?.text, jid);
  await waitMessage(c2, "s1");
  c2.send(chat(b.jid, "s2", "hi"));
  assert.equal((await waitMessage(b.c, "s2")).attrs.from, jid);
});

test("SASL2: a resume of an unknown session fails inside <success>, and Bind2 goes ahead", async () => {
  const alice = await newUser("alice");
  const { c } = await sasl2Connect(alice);
  const success = await sasl2Auth(c, alice, `${BIND2_ENABLE}<resume xmlns='${NS_SM}' previd='bm90LWEtcmVhbC1zZXNzaW9uLWlk' h='0'/>`);
  const failed = child(success, "failed", NS_SM);
  assert.ok(failed, `no <failed/> in ${show(success)}`);
  const err = child(failed, "error", NS_SM) ?? failed.children.find((e) => e.name === "error");
  assert.ok(err && child(err, "item-not-found", NS_STANZAS), `expected <error><item-not-found/></error> in ${show(failed)}`);
  assert.equal(child(err, "text", NS_STANZAS)?.text, "Unknown session");
  const bound = child(success, "bound", NS_BIND2);
  assert.ok(bound && child(bound, "enabled", NS_SM), `Bind2 should bind and enable SM: ${show(success)}`);
  await ping(c);
});
