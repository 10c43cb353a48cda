// Blocking (XEP-0191) end to end: the real server, real SQLite, @xmpp/client over real TLS.
// The commands and their pushes, then what a block does to messages, IQs, presence and
// offline storage, both ways, for bare, full and domain JIDs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml, type XmlElement } from "../interop/xmppjs-client.js";

const NS_BLOCKING = "urn:xmpp:blocking";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

let server: TestServer;
const clients: Interop[] = [];
let n = 0;
let ids = 0;

before(async () => {
  server = await startServer({ blocklist_max_items: 5 });
});
after(async () => {
  for (const c of clients) await c.stop().catch(() => {});
  await server?.stop();
});

async function newUser(prefix: string): Promise<string> {
  const username = `${prefix}${++n}`;
  await server.addUser(username, `${username}-secret`);
  return username;
}

async function login(username: string, resource = "r", presence = true): Promise<Interop> {
  const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: `${username}-secret`, resource });
  clients.push(c);
  if (presence) {
    await c.send(xml("presence"));
    await c.waitFor("the echo of initial presence", (el) => el.is("presence") && el.attrs.from === c.jid);
  }
  return c;
}

async function iq(c: Interop, type: "get" | "set", payload: XmlElement, to?: string): Promise<XmlElement> {
  const id = `t${++ids}`;
  await c.send(xml("iq", { type, id, ...(to ? { to } : {}) }, payload));
  return c.waitFor(`the answer to ${id}`, (el) => el.is("iq") && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"));
}

const conditionOf = (el: XmlElement) =>
  el.getChild("error")?.children.find((ch): ch is XmlElement => typeof ch !== "string" && ch.attrs.xmlns === NS_STANZAS)?.name;

const block = (...jids: string[]) => xml("block", { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })));
const unblock = (...jids: string[]) => xml("unblock", { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })));
const listOf = async (c: Interop) =>
  (await iq(c, "get", xml("blocklist", { xmlns: NS_BLOCKING })))
    .getChild("blocklist", NS_BLOCKING)!
    .getChildren("item")
    .map((i) => i.attrs.jid);

/** Everything a client has received so far, once a ping round trip shows the server is done. */
async function settled(c: Interop): Promise<XmlElement[]> {
  await iq(c, "get", xml("ping", { xmlns: "urn:xmpp:ping" }), "localhost");
  return [...c.stanzas];
}

async function subscribeBoth(a: Interop, b: Interop): Promise<void> {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    await x.send(xml("presence", { to: y.bare, type: "subscribe" }));
    await y.waitFor("a subscription request", (el) => el.is("presence") && el.attrs.type === "subscribe" && el.attrs.from === x.bare);
    await y.send(xml("presence", { to: x.bare, type: "subscribed" }));
    await x.waitFor("the approval", (el) => el.is("presence") && el.attrs.type === "subscribed" && el.attrs.from === y.bare);
  }
}

test("blocklist, block, unblock, unblock all: normalised items, pushes only to the resources that asked for the list", async () => {
  const u = await newUser("bl");
  const a1 = await login(u, "one");
  const a2 = await login(u, "two");
  assert.deepEqual(await listOf(a1), []);
  const r = await iq(a2, "set", block("Romeo@LocalHost", "example.org", "iago@shakespeare.lit/Phone"));
  assert.equal(r.attrs.type, "result", String(r));
  const pushed = await a1.waitFor("the block push", (el) => el.is("iq") && el.attrs.type === "set" && !!el.getChild("block", NS_BLOCKING));
  assert.deepEqual(
    pushed
      .getChild("block", NS_BLOCKING)!
      .getChildren("item")
      .map((i) => i.attrs.jid)
      .sort(),
    ["example.org", "iago@shakespeare.lit/Phone", "romeo@localhost"],
  );
  assert.equal(pushed.attrs.to, a1.jid);
  assert.ok(!(await settled(a2)).some((el) => el.getChild("block", NS_BLOCKING)), "a2 never asked for the list: no push");
  assert.deepEqual(await listOf(a2), ["example.org", "iago@shakespeare.lit/Phone", "romeo@localhost"]);

  await iq(a1, "set", unblock("example.org"));
  await a2.waitFor("the unblock push", (el) => el.getChild("unblock", NS_BLOCKING)?.getChild("item")?.attrs.jid === "example.org");
  assert.deepEqual(await listOf(a1), ["iago@shakespeare.lit/Phone", "romeo@localhost"]);

  a2.stanzas.length = 0;
  await iq(a1, "set", unblock());
  const all = await a2.waitFor("the unblock-all push", (el) => !!el.getChild("unblock", NS_BLOCKING));
  assert.equal(all.getChild("unblock", NS_BLOCKING)!.getChildren("item").length, 0);
  assert.deepEqual(await listOf(a1), []);
});

test("bad block commands change nothing: no items, a malformed JID, a list past blocklist_max_items", async () => {
  const a = await login(await newUser("bad"));
  assert.equal(conditionOf(await iq(a, "set", block())), "bad-request");
  assert.equal(conditionOf(await iq(a, "set", block("ok@localhost", "bad@@jid"))), "jid-malformed");
  assert.equal(conditionOf(await iq(a, "set", block("a@x", "b@x", "c@x", "d@x", "e@x", "f@x"))), "resource-constraint");
  assert.deepEqual(await listOf(a), []);
});

test("messages and IQs: the blocked contact gets service-unavailable, the user gets not-acceptable with <blocked/>, offline storage keeps nothing", async () => {
  const ua = await newUser("m");
  const ub = await newUser("m");
  const a = await login(ua);
  const b = await login(ub);
  await iq(a, "set", block(b.bare));

  await b.send(xml("message", { to: a.bare, type: "chat", id: "in1" }, xml("body", {}, "hello?")));
  const err = await b.waitFor("the error", (el) => el.is("message") && el.attrs.id === "in1" && el.attrs.type === "error");
  assert.equal(conditionOf(err), "service-unavailable");
  const ping = await iq(b, "get", xml("ping", { xmlns: "urn:xmpp:ping" }), a.jid);
  assert.equal(conditionOf(ping), "service-unavailable");
  assert.ok(!(await settled(a)).some((el) => el.attrs.from?.startsWith(b.bare)), "nothing from the blocked contact reached the user");

  await a.send(xml("message", { to: b.jid, type: "chat", id: "out1" }, xml("body", {}, "hi")));
  const out = await a.waitFor("the blocked error", (el) => el.is("message") && el.attrs.id === "out1" && el.attrs.type === "error");
  assert.equal(conditionOf(out), "not-acceptable");
  assert.ok(out.getChild("error")!.getChild("blocked", "urn:xmpp:blocking:errors"), String(out));
  assert.equal(out.getChild("error")!.attrs.type, "cancel");
  const outIq = await iq(a, "get", xml("ping", { xmlns: "urn:xmpp:ping" }), b.jid);
  assert.ok(outIq.getChild("error")?.getChild("blocked", "urn:xmpp:blocking:errors"), String(outIq));
  assert.ok(!(await settled(b)).some((el) => el.attrs.id === "out1" || (el.is("iq") && el.attrs.type === "get")), "nothing from the user reached the contact");

  // The user offline: the blocked contact's message is refused, not stored.
  await a.stop();
  await b.send(xml("message", { to: a.bare, type: "chat", id: "in2" }, xml("body", {}, "stored?")));
  await b.waitFor("the error", (el) => el.is("message") && el.attrs.id === "in2" && el.attrs.type === "error");
  const again = await login(ua, "back");
  assert.ok(!(await settled(again)).some((el) => el.is("message") && el.attrs.id === "in2"), "the blocked message was not stored offline");
});

test("a full-JID block covers that resource only; a domain block covers every account there", async () => {
  const ua = await newUser("f");
  const ub = await newUser("f");
  const a = await login(ua);
  const b1 = await login(ub, "phone");
  const b2 = await login(ub, "laptop");
  await iq(a, "set", block(b1.jid));
  await b1.send(xml("message", { to: a.bare, type: "chat", id: "p1" }, xml("body", {}, "from phone")));
  await b1.waitFor("the error", (el) => el.attrs.id === "p1" && el.attrs.type === "error");
  await b2.send(xml("message", { to: a.bare, type: "chat", id: "l1" }, xml("body", {}, "from laptop")));
  await a.waitFor("the laptop's message", (el) => el.is("message") && el.attrs.id === "l1");

  await iq(a, "set", block("localhost"));
  await b2.send(xml("message", { to: a.bare, type: "chat", id: "l2" }, xml("body", {}, "still?")));
  const err = await b2.waitFor("the error", (el) => el.attrs.id === "l2" && el.attrs.type === "error");
  assert.equal(conditionOf(err), "service-unavailable");
  await iq(a, "set", unblock());
  await b2.send(xml("message", { to: a.bare, type: "chat", id: "l3" }, xml("body", {}, "now?")));
  await a.waitFor("the message after unblock-all", (el) => el.is("message") && el.attrs.id === "l3");
});

test("presence: a block sends unavailable and stops presence both ways; an unblock sends current presence both ways", async () => {
  const ua = await newUser("p");
  const ub = await newUser("p");
  const a = await login(ua);
  const b = await login(ub);
  await subscribeBoth(a, b);
  await a.send(xml("presence", {}, xml("status", {}, "a-before")));
  await b.waitFor("a's presence", (el) => el.is("presence") && el.getChildText("status") === "a-before");

  b.stanzas.length = 0;
  await iq(a, "set", block(b.bare));
  await b.waitFor("unavailable from the user", (el) => el.is("presence") && el.attrs.from === a.jid && el.attrs.type === "unavailable");

  a.stanzas.length = 0;
  b.stanzas.length = 0;
  await a.send(xml("presence", {}, xml("status", {}, "a-hidden")));
  await b.send(xml("presence", {}, xml("status", {}, "b-hidden")));
  await b.send(xml("presence", { to: a.bare, type: "probe" }));
  assert.ok(!(await settled(b)).some((el) => el.is("presence") && el.attrs.from?.startsWith(a.bare)), "the blocked contact sees no presence of the user");
  assert.ok(!(await settled(a)).some((el) => el.is("presence") && el.attrs.from?.startsWith(b.bare)), "the user sees no presence of the blocked contact");
  // A new session of the blocked contact does not get the user's presence either.
  const b2 = await login(ub, "second");
  assert.ok(!(await settled(b2)).some((el) => el.is("presence") && el.attrs.from?.startsWith(a.bare)), "no presence of the user at initial presence");

  await iq(a, "set", unblock(b.bare));
  const back = await b.waitFor("the user's presence again", (el) => el.is("presence") && el.attrs.from === a.jid && el.attrs.type === undefined);
  assert.equal(back.getChildText("status"), "a-hidden");
  const theirs = await a.waitFor("the contact's presence again", (el) => el.is("presence") && el.attrs.from === b.jid && el.attrs.type === undefined);
  assert.equal(theirs.getChildText("status"), "b-hidden");
});

test("a message stored offline before the block is not delivered after it", async () => {
  const ua = await newUser("o");
  const ub = await newUser("o");
  const b = await login(ub);
  await b.send(xml("message", { to: `${ua}@localhost`, type: "chat", id: "early" }, xml("body", {}, "before the block")));
  await b.send(xml("message", { to: `${ua}@localhost`, type: "chat", id: "also" }, xml("body", {}, "another one")));
  await settled(b);
  const a = await login(ua, "r", false);
  await iq(a, "set", block(b.bare));
  await a.send(xml("presence"));
  await a.waitFor("the echo of initial presence", (el) => el.is("presence") && el.attrs.from === a.jid);
  assert.ok(
    !(await settled(a)).some((el) => el.is("message") && el.attrs.from?.startsWith(b.bare)),
    "the stored messages from the blocked contact were not delivered",
  );
  // Control: unblocked, a stored message does arrive.
  await iq(a, "set", unblock());
  await a.stop();
  await b.send(xml("message", { to: a.bare, type: "chat", id: "later" }, xml("body", {}, "after unblock")));
  await settled(b);
  const again = await login(ua, "r2");
  await again.waitFor("the message stored after the unblock", (el) => el.is("message") && el.attrs.id === "later");
});
