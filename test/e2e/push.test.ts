// Push notifications (XEP-0357) end to end over real sockets against the real server: the app
// server is a stand-in the test runs (a local account's session, test/helpers/push-service.ts)
// that receives the pubsub publish over XMPP and answers it. Covers: a hibernated session (XEP-0198)
// and what it held unacknowledged at the cut, a client with no session (offline storage), the
// throttle, the client list's holding, revocation, disable, an app server's error, bad input,
// the limit per account, and registrations surviving a restart.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, show, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, waitForElement } from "../helpers/xmpp-assert.js";
import {
  assertPasswordResetRequired,
  iq,
  legacyLogin,
  NS_MANAGE,
  listClients,
  nextId,
  revokeClient,
  sasl2Login,
  type ListedClient,
} from "../helpers/manage-clients.js";
import { NS_PUSH, PushService } from "../helpers/push-service.js";

const NS_SM = "urn:xmpp:sm:3";
const NS_HOLDINGS = "urn:warden:client-holdings:0";
const INTERVAL_S = 1;

let server: TestServer;
let svc: PushService;
const clients: RawClient[] = [];
let n = 0;

before(async () => {
  server = await startServer({ push_min_interval: INTERVAL_S, push_max_devices: 3 });
  await server.addUser("pushsvc", "pw-pushsvc");
  svc = await PushService.connect(server.c2sPort, "pushsvc", "pw-pushsvc");
});

after(async () => {
  for (const c of clients) c.close();
  svc?.close();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newUser(prefix: string): Promise<{ username: string; password: string; bare: string }> {
  const username = `${prefix}${++n}`;
  const password = `pw-${username}`;
  await server.addUser(username, password);
  return { username, password, bare: `${username}@localhost` };
}

async function login(user: { username: string; password: string }, resource: string): Promise<{ c: RawClient; jid: string }> {
  const r = await legacyLogin(server.c2sPort, user.username, user.password, resource);
  clients.push(r.c);
  return r;
}

const SECRET_FORM =
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>" +
  "<field var='secret'><value>s3cret &amp; more</value></field></x>";

async function enablePush(c: RawClient, node: string, inner = SECRET_FORM, jid = svc.jid): Promise<XmlEl> {
  const id = nextId("push");
  const { reply } = await iq(c, id, `<iq type='set' id='${id}'><enable xmlns='${NS_PUSH}' jid='${jid}' node='${node}'>${inner}</enable></iq>`);
  return reply;
}

function chat(to: string, id: string, body: string): string {
  return `<message type='chat' to='${to}' id='${id}'><body>${body}</body></message>`;
}

const pushHolding = (e: ListedClient) =>
  child(e.el, "holdings", NS_HOLDINGS)?.children.some((h) => h.attrs.kind === "push" && h.text === "gets push notifications") ?? false;

test("a hibernated session's client is pushed, with the summary and the stored publish-options; it resumes and gets the message", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  const b = await login(bob, "desk");
  a.c.send("<presence/>");
  await waitForElement(a.c, (e) => e.name === "presence" && e.attrs.from === a.jid, "the presence echo");
  a.c.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
  const enabled = await waitForElement(a.c, (e) => e.name === "enabled" && e.ns === NS_SM, "<enabled/>");
  assert.equal((await enablePush(a.c, "node-hib")).attrs.type, "result");

  // Connected: the message is written to the connection, no push.
  b.c.send(chat(a.jid, "m0", "while you look"));
  await waitForElement(a.c, (e) => e.name === "message" && e.attrs.id === "m0", "m0");
  a.c.send(`<a xmlns='${NS_SM}' h='2'/>`); // the enable result and m0
  await svc.none(500, "a connected client");

  a.c.close(); // cut: the session hibernates
  await sleep(200);
  b.c.send(chat(alice.bare, "m1", "while you sleep"));
  const p = await svc.next();
  assert.equal(p.from, alice.bare, "from the account's bare JID, as Prosody sends it");
  assert.equal(p.to, svc.jid);
  assert.equal(p.node, "node-hib");
  assert.deepEqual(p.summary["FORM_TYPE"], ["urn:xmpp:push:summary"]);
  assert.deepEqual(p.summary["message-count"], ["1"]);
  assert.deepEqual(p.summary["last-message-sender"], [bob.bare]);
  assert.equal(p.summary["last-message-body"], undefined, "no body by default (privacy)");
  assert.deepEqual(p.options, { FORM_TYPE: ["http://jabber.org/protocol/pubsub#publish-options"], secret: ["s3cret & more"] });

  const c = await RawClient.connect(server.c2sPort);
  clients.push(c);
  assert.ok(await c.plainAuth(alice.username, alice.password));
  c.clear();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.send(`<resume xmlns='${NS_SM}' previd='${enabled.attrs.id}' h='2'/>`);
  const resumed = await waitForElement(c, (e) => e.ns === NS_SM && (e.name === "resumed" || e.name === "failed"), "the resumption");
  assert.equal(resumed.name, "resumed", show(resumed));
  const m1 = await waitForElement(c, (e) => e.name === "message" && e.attrs.id === "m1", "m1 after resumption");
  assert.equal(child(m1, "body")?.text, "while you sleep");
  b.c.send(chat(a.jid, "m2", "welcome back"));
  await waitForElement(c, (e) => e.name === "message" && e.attrs.id === "m2", "m2");
  await svc.none(300, "a resumed client");
});

test("what a session held unacknowledged when its connection dropped is pushed", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  const b = await login(bob, "desk");
  a.c.send("<presence/>");
  a.c.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
  await waitForElement(a.c, (e) => e.name === "enabled" && e.ns === NS_SM, "<enabled/>");
  assert.equal((await enablePush(a.c, "node-unacked", "")).attrs.type, "result");
  b.c.send(chat(a.jid, "u1", "read me"));
  b.c.send(`<message type='chat' to='${a.jid}' id='u2'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
  await waitForElement(a.c, (e) => e.name === "message" && e.attrs.id === "u2", "u2");
  await svc.none(300, "delivered to a connected client");
  a.c.close(); // u1 and u2 were never acknowledged
  const p = await svc.next();
  assert.equal(p.node, "node-unacked");
  assert.deepEqual(p.summary["message-count"], ["1"], "the chat state is not a message worth waking for");
  assert.deepEqual(p.summary["last-message-sender"], [bob.bare]);
  assert.equal(p.options, undefined, "no publish-options when the client gave none");
});

test("a carbon copy queued for a hibernating phone wakes it: a message to the desk's full JID", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  const desk = await login(alice, "desk");
  const b = await login(bob, "desk");
  a.c.send("<presence/>");
  a.c.send("<iq type='set' id='cb'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
  a.c.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
  await waitForElement(a.c, (e) => e.name === "enabled" && e.ns === NS_SM, "<enabled/>");
  assert.equal((await enablePush(a.c, "node-carbon", "")).attrs.type, "result");
  a.c.send(`<a xmlns='${NS_SM}' h='1'/>`);
  await sleep(100);
  a.c.close();
  await sleep(200);
  b.c.send(chat(desk.jid, "c1", "to the desk"));
  await waitForElement(desk.c, (e) => e.name === "message" && e.attrs.id === "c1", "c1 at the desk");
  const p = await svc.next();
  assert.equal(p.node, "node-carbon");
  assert.deepEqual(p.summary["last-message-sender"], [bob.bare], "the sender of the carried message");
  desk.c.send(chat(bob.bare, "c2", "the desk answers"));
  await svc.none(INTERVAL_S * 1000 + 300, "the user's own message, sent from the desk");
});

test("a message pushed while hibernating is not counted again when the hibernation ends and it goes to offline storage", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  const b = await login(bob, "desk");
  a.c.send("<presence/>");
  a.c.send(`<enable xmlns='${NS_SM}' resume='true' max='1'/>`);
  await waitForElement(a.c, (e) => e.name === "enabled" && e.ns === NS_SM, "<enabled/>");
  assert.equal((await enablePush(a.c, "node-expiry", "")).attrs.type, "result");
  a.c.send(`<a xmlns='${NS_SM}' h='1'/>`);
  await sleep(100);
  a.c.close();
  await sleep(200);
  b.c.send(chat(alice.bare, "x1", "first"));
  assert.deepEqual((await svc.next()).summary["message-count"], ["1"]);
  await sleep(1500); // the hibernation (max 1 s) ended: x1 went to offline storage
  b.c.send(chat(alice.bare, "x2", "second"));
  const p = await svc.next((INTERVAL_S + 3) * 1000);
  assert.deepEqual(p.summary["message-count"], ["2"], "x1 once, x2 once");
  await svc.none(INTERVAL_S * 1000 + 300, "nothing more");
});

test("a client with no session is pushed for an offline message; a burst gives one more push at the end of the interval", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await sasl2Login(server.c2sPort, alice.username, alice.password, { userAgent: { id: `ua-off-${n}`, software: "PushApp" } });
  clients.push(a.c);
  assert.equal((await enablePush(a.c, "node-off")).attrs.type, "result");
  a.c.send("</stream:stream>");
  await a.c.waitClosed();
  await sleep(100);
  const b = await login(bob, "desk");
  b.c.send(chat(alice.bare, "o1", "one"));
  const first = await svc.next();
  const t1 = Date.now();
  assert.equal(first.node, "node-off");
  assert.deepEqual(first.summary["message-count"], ["1"]);
  b.c.send(chat(alice.bare, "o2", "two"));
  b.c.send(`<message type='chat' to='${alice.bare}' id='o-state'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`);
  b.c.send(chat(alice.bare, "o3", "three"));
  await svc.none(500, "within the interval");
  const second = await svc.next((INTERVAL_S + 3) * 1000);
  assert.ok(Date.now() - t1 >= INTERVAL_S * 1000 - 100, "the second push waited for the interval");
  assert.deepEqual(second.summary["message-count"], ["3"], "every message counted, the chat state not");
  await svc.none(INTERVAL_S * 1000 + 300, "after the burst");

  // The messages are still there for the client.
  const back = await sasl2Login(server.c2sPort, alice.username, alice.password, { userAgent: { id: `ua-off-${n}`, software: "PushApp" } });
  clients.push(back.c);
  back.c.send("<presence/>");
  for (const id of ["o1", "o2", "o3"]) await waitForElement(back.c, (e) => e.name === "message" && e.attrs.id === id, id);
});

test("the client list says which client gets push notifications; revoking it removes the registration at once", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const uaId = `ua-revoke-${n}`;
  const phone = await sasl2Login(server.c2sPort, alice.username, alice.password, { userAgent: { id: uaId, software: "Phone" } });
  clients.push(phone.c);
  assert.equal((await enablePush(phone.c, "node-rev")).attrs.type, "result");
  const desk = await login(alice, "desk");
  const { clients: listed } = await listClients(desk.c);
  const entry = listed.find((e) => e.id === `client/${uaId}`);
  assert.ok(entry && pushHolding(entry), `the phone's entry says it gets push notifications: ${listed.map((e) => show(e.el)).join(" ")}`);
  assert.equal(listed.filter(pushHolding).length, 1, "only the phone holds a registration");

  // Revoked; the answer adds that the phone still knows the password (manage-clients' semantics).
  const { reply } = await revokeClient(desk.c, `client/${uaId}`);
  assertPasswordResetRequired(reply, NS_MANAGE, "revoking a client that logged in with the password");
  await phone.c.waitClosed();
  const after = await listClients(desk.c);
  assert.equal(after.clients.filter(pushHolding).length, 0, "no client holds a registration any more");
  const b = await login(bob, "desk");
  b.c.send(chat(alice.bare, "r1", "are you there?"));
  await svc.none(800, "a revoked client");
});

test("disable removes the registration: by service and node, or by service", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  assert.equal((await enablePush(a.c, "node-dis")).attrs.type, "result");
  let id = nextId("dis");
  let r = await iq(a.c, id, `<iq type='set' id='${id}'><disable xmlns='${NS_PUSH}' jid='${svc.jid}' node='other-node'/></iq>`);
  assert.equal(r.reply.attrs.type, "result");
  assert.equal((await listClients(a.c)).clients.filter(pushHolding).length, 1, "another node's disable leaves it");
  id = nextId("dis");
  r = await iq(a.c, id, `<iq type='set' id='${id}'><disable xmlns='${NS_PUSH}' jid='${svc.jid}'/></iq>`);
  assert.equal(r.reply.attrs.type, "result");
  assert.equal((await listClients(a.c)).clients.filter(pushHolding).length, 0);
  a.c.send("</stream:stream>");
  await a.c.waitClosed();
  const b = await login(bob, "desk");
  b.c.send(chat(alice.bare, "d1", "hello?"));
  await svc.none(800, "a disabled registration");
});

test("an error from the app server disables the registration (§7.1)", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  assert.equal((await enablePush(a.c, "node-err")).attrs.type, "result");
  const other = await login(alice, "desk");
  a.c.send("</stream:stream>");
  await a.c.waitClosed();
  const b = await login(bob, "desk");
  svc.answer = { type: "cancel", condition: "item-not-found" };
  try {
    b.c.send(`<message type='normal' to='${alice.bare}' id='e1'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>`);
    // The desk session has no presence, so the message goes offline; the phone is pushed.
    const p = await svc.next();
    assert.equal(p.node, "node-err");
  } finally {
    svc.answer = "result";
  }
  for (let i = 0; i < 50 && !server.logs.some((l) => l.msg === "push service refused a notification; registration disabled"); i++) await sleep(100);
  const line = server.logs.find((l) => l.msg === "push service refused a notification; registration disabled");
  assert.ok(line, "the server logs that it disabled the registration");
  assert.equal(line.condition, "item-not-found");
  assert.equal((await listClients(other.c)).clients.filter(pushHolding).length, 0, "the registration is gone");
  b.c.send(chat(alice.bare, "e2", "again"));
  await svc.none(INTERVAL_S * 1000 + 300, "a disabled registration");
});

test("bad input gets the error and stores nothing; a client enabling again replaces its own; the account's limit holds", async () => {
  const alice = await newUser("alice");
  const a = await login(alice, "one");
  const send = (xml: string) => {
    const id = nextId("bad");
    a.c.send(`<iq type='set' id='${id}'>${xml}</iq>`);
    return id;
  };
  await expectStanzaError(a.c, "iq", send(`<enable xmlns='${NS_PUSH}' jid='${svc.jid}'/>`), "modify", "bad-request");
  await expectStanzaError(a.c, "iq", send(`<enable xmlns='${NS_PUSH}' node='n'/>`), "modify", "bad-request");
  await expectStanzaError(a.c, "iq", send(`<enable xmlns='${NS_PUSH}' jid='a@b@c' node='n'/>`), "modify", "bad-request");
  const wrongForm = "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:example:other</value></field></x>";
  await expectStanzaError(a.c, "iq", send(`<enable xmlns='${NS_PUSH}' jid='${svc.jid}' node='n'>${wrongForm}</enable>`), "modify", "bad-request");
  const big = `<field var='secret'><value>${"x".repeat(2000)}</value></field>`;
  await expectStanzaError(
    a.c,
    "iq",
    send(`<enable xmlns='${NS_PUSH}' jid='${svc.jid}' node='n'>${SECRET_FORM.replace("</x>", big + "</x>")}</enable>`),
    "modify",
    "bad-request",
  );
  assert.equal((await listClients(a.c)).clients.filter(pushHolding).length, 0, "nothing was stored");

  assert.equal((await enablePush(a.c, "n1")).attrs.type, "result");
  assert.equal((await enablePush(a.c, "n1-again")).attrs.type, "result", "the same client again: replaced, not a second one");
  for (const r of ["two", "three"]) assert.equal((await enablePush((await login(alice, r)).c, `n-${r}`)).attrs.type, "result");
  const fourth = await login(alice, "four");
  const id = nextId("push");
  fourth.c.send(`<iq type='set' id='${id}'><enable xmlns='${NS_PUSH}' jid='${svc.jid}' node='n-four'/></iq>`);
  const err = await expectStanzaError(fourth.c, "iq", id, "wait", "resource-constraint");
  assert.match(show(err), /revoke one/);
  assert.equal((await listClients(a.c)).clients.filter(pushHolding).length, 3);
});

test("the account advertises urn:xmpp:push:0", async () => {
  const alice = await newUser("alice");
  const a = await login(alice, "one");
  const id = nextId("disco");
  const { reply } = await iq(a.c, id, `<iq type='get' id='${id}' to='${alice.bare}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
  const features = (child(reply, "query")?.children ?? []).filter((f) => f.name === "feature").map((f) => f.attrs.var);
  assert.ok(features.includes(NS_PUSH), `features: ${features.join(" ")}`);
});

test("the shell shows the holding; a password reset removes every registration; deleting the account removes them with it", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const ua = (id: string) => ({ userAgent: { id: `${id}-${n}`, software: "PushApp" } });
  for (const id of ["ua-r1", "ua-r2"]) {
    const s = await sasl2Login(server.c2sPort, alice.username, alice.password, ua(id));
    clients.push(s.c);
    assert.equal((await enablePush(s.c, `node-${id}`)).attrs.type, "result");
  }
  const shell = await server.cli(["shell", "user", "clients", alice.bare, "--json"]);
  assert.equal(shell.code, 0, shell.stderr);
  const rows = JSON.parse(shell.stdout) as Array<{ id: string; holds: string[] }>;
  assert.deepEqual(rows.map((r) => r.holds).sort(), [["gets push notifications"], ["gets push notifications"]], shell.stdout);

  const reset = await server.cli(["shell", "user", "reset_password", alice.bare], "pw-new-password\n");
  assert.equal(reset.code, 0, reset.stderr);
  const b = await login(bob, "desk");
  b.c.send(chat(alice.bare, "pr1", "after the reset"));
  await svc.none(800, "after a password reset");
  // Logging in again (new password) shows no registration left, until the client enables again.
  const again = await sasl2Login(server.c2sPort, alice.username, "pw-new-password", ua("ua-r1"));
  clients.push(again.c);
  assert.equal((await listClients(again.c)).clients.filter(pushHolding).length, 0);
  assert.equal((await enablePush(again.c, "node-after")).attrs.type, "result");
  again.c.send("</stream:stream>");
  await again.c.waitClosed();

  const del = await server.cli(["user", "delete", alice.bare]);
  assert.equal(del.code, 0, del.stderr);
  // The same name again is a new account: nothing of the old one's registrations is left.
  await server.addUser(alice.username, alice.password);
  const fresh = await sasl2Login(server.c2sPort, alice.username, alice.password, ua("ua-r1"));
  clients.push(fresh.c);
  assert.equal((await listClients(fresh.c)).clients.filter(pushHolding).length, 0, "a deleted account's registrations went with it");
  fresh.c.send("</stream:stream>");
  await fresh.c.waitClosed();
  b.c.send(chat(alice.bare, "pr2", "new account"));
  await svc.none(800, "a new account with the old one's name");
});

test("registrations survive a restart", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await login(alice, "phone");
  assert.equal((await enablePush(a.c, "node-restart")).attrs.type, "result");
  await server.restart();
  svc.close();
  svc = await PushService.connect(server.c2sPort, "pushsvc", "pw-pushsvc");
  const b = await login(bob, "desk");
  b.c.send(chat(alice.bare, "s1", "after the restart"));
  const p = await svc.next();
  assert.equal(p.node, "node-restart");
  assert.deepEqual(p.options?.secret, ["s3cret & more"]);
});
