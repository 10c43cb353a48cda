// vCard (XEP-0054), its photo hash in presence (XEP-0153) and private XML storage (XEP-0049),
// end to end: the real server, real SQLite, @xmpp/client over real TLS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml, type XmlElement } from "../interop/xmppjs-client.js";

const NS_VCARD = "vcard-temp";
const NS_UPDATE = "vcard-temp:x:update";
const NS_PRIVATE = "jabber:iq:private";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

let server: TestServer;
const clients: Interop[] = [];
let n = 0;
let ids = 0;

before(async () => {
  server = await startServer({ vcard_max_size: 4096, private_max_size: 2048, private_max_items: 3 });
});
after(async () => {
  for (const c of clients) await c.stop().catch(() => {});
  await server?.stop();
});

async function user(prefix: string, presence = false): Promise<Interop> {
  const username = `${prefix}${++n}`;
  await server.addUser(username, `${username}-secret`);
  const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: `${username}-secret`, resource: "r" });
  clients.push(c);
  if (presence) await c.send(xml("presence"));
  return c;
}

/** Sends an IQ and resolves with the answer, result or error (iqCaller would throw on errors). */
async function iq(c: Interop, type: "get" | "set", payload: XmlElement, to?: string): Promise<XmlElement> {
  const id = `t${++ids}`;
  await c.send(xml("iq", { type, id, ...(to ? { to } : {}) }, payload));
  return c.waitFor(`the answer to ${id}`, (el) => el.is("iq") && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"));
}

function errorOf(reply: XmlElement): string | undefined {
  if (reply.attrs.type !== "error") return undefined;
  return reply.getChild("error")?.children.find((ch): ch is XmlElement => typeof ch !== "string" && ch.attrs.xmlns === NS_STANZAS)?.name;
}

const photo = (bytes: Buffer) => xml("PHOTO", {}, xml("TYPE", {}, "image/png"), xml("BINVAL", {}, bytes.toString("base64")));
const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");

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

test("no vCard yet: an empty <vCard/>, for the own account and for another account", async () => {
  const a = await user("vc");
  const b = await user("vc");
  for (const to of [undefined, a.bare, b.bare]) {
    const r = await iq(a, "get", xml("vCard", { xmlns: NS_VCARD }), to);
    assert.equal(r.attrs.type, "result", String(r));
    const card = r.getChild("vCard", NS_VCARD);
    assert.ok(card, `a vCard element: ${r}`);
    assert.equal(card.children.length, 0);
  }
  const ghost = await iq(a, "get", xml("vCard", { xmlns: NS_VCARD }), `ghost${Date.now()}@localhost`);
  assert.equal(errorOf(ghost), "service-unavailable");
});

test("a vCard set is returned as stored, to its owner and to others, and only the owner may set it", async () => {
  const a = await user("vc");
  const b = await user("vc");
  const set = await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Alice <&> Liddell"), xml("NICKNAME", {}, "al")));
  assert.equal(set.attrs.type, "result", String(set));
  for (const [c, to] of [
    [a, undefined],
    [b, a.bare],
  ] as const) {
    const got = (await iq(c, "get", xml("vCard", { xmlns: NS_VCARD }), to)).getChild("vCard", NS_VCARD);
    assert.equal(got?.getChildText("FN"), "Alice <&> Liddell");
    assert.equal(got?.getChildText("NICKNAME"), "al");
  }
  const forged = await iq(b, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Mallory")), a.bare);
  assert.equal(errorOf(forged), "forbidden");
  const still = (await iq(b, "get", xml("vCard", { xmlns: NS_VCARD }), a.bare)).getChild("vCard", NS_VCARD);
  assert.equal(still?.getChildText("FN"), "Alice <&> Liddell");
});

test("a vCard over vcard_max_size is refused with not-acceptable and the stored one is kept", async () => {
  const a = await user("vc");
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Small")));
  const big = await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Big"), photo(randomBytes(4000))));
  assert.equal(errorOf(big), "not-acceptable", String(big));
  const got = (await iq(a, "get", xml("vCard", { xmlns: NS_VCARD }))).getChild("vCard", NS_VCARD);
  assert.equal(got?.getChildText("FN"), "Small");
});

test("XEP-0153: presence carries the photo hash, a client's stale hash is replaced, a new photo is re-broadcast", async () => {
  const a = await user("ph", true);
  const b = await user("ph", true);
  await subscribeBoth(a, b);
  const img1 = randomBytes(300);
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, photo(img1)));
  const hashIn = (el: XmlElement) => el.getChild("x", NS_UPDATE)?.getChildText("photo");
  // The new photo reaches the contact without the client sending presence again (§4.2).
  await b.waitFor("a presence with the first hash", (el) => el.is("presence") && el.attrs.from === a.jid && hashIn(el) === sha1(img1));

  // The client claims another hash: the server puts the real one in.
  b.stanzas.length = 0;
  await a.send(xml("presence", {}, xml("status", {}, "here"), xml("x", { xmlns: NS_UPDATE }, xml("photo", {}, "0".repeat(40)))));
  const p = await b.waitFor("the status presence", (el) => el.is("presence") && el.getChildText("status") === "here");
  assert.equal(p.getChildren("x", NS_UPDATE).length, 1, String(p));
  assert.equal(hashIn(p), sha1(img1));

  const img2 = randomBytes(300);
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, photo(img2)));
  const again = await b.waitFor("the presence with the new hash", (el) => el.is("presence") && hashIn(el) === sha1(img2));
  assert.equal(again.getChildText("status"), "here", "the presence re-sent is the client's last one");

  // No photo any more: an empty <photo/> (XEP-0153 §4.1).
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "no photo")));
  const none = await b.waitFor("the presence without photo", (el) => el.is("presence") && hashIn(el) === "");
  assert.ok(none.getChild("x", NS_UPDATE)?.getChild("photo"));
});

test("XEP-0398 §4: a client's empty <photo/> is left alone; an <x/> without photo gets the hash", async () => {
  const a = await user("ep", true);
  const b = await user("ep", true);
  await subscribeBoth(a, b);
  const img = randomBytes(100);
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, photo(img)));
  b.stanzas.length = 0;
  await a.send(xml("presence", {}, xml("status", {}, "empty"), xml("x", { xmlns: NS_UPDATE }, xml("photo"))));
  const p = await b.waitFor("the presence", (el) => el.is("presence") && el.getChildText("status") === "empty");
  assert.equal(p.getChild("x", NS_UPDATE)?.getChildText("photo"), "");
  await a.send(xml("presence", {}, xml("status", {}, "no photo child"), xml("x", { xmlns: NS_UPDATE })));
  const q = await b.waitFor("the presence", (el) => el.is("presence") && el.getChildText("status") === "no photo child");
  assert.equal(q.getChild("x", NS_UPDATE)?.getChildText("photo"), sha1(img));
});

test("a user without a vCard: the client's own update element is left alone", async () => {
  const a = await user("ph", true);
  const b = await user("ph", true);
  await subscribeBoth(a, b);
  b.stanzas.length = 0;
  await a.send(xml("presence", {}, xml("status", {}, "mine"), xml("x", { xmlns: NS_UPDATE }, xml("photo", {}, "ab".repeat(20)))));
  const p = await b.waitFor("the presence", (el) => el.is("presence") && el.getChildText("status") === "mine");
  assert.equal(p.getChild("x", NS_UPDATE)?.getChildText("photo"), "ab".repeat(20));
});

test("deleting the account deletes its vCard and private XML", async () => {
  const a = await user("del");
  const name = a.bare.split("@")[0]!;
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "Gone soon")));
  await iq(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("prefs", { xmlns: "x:prefs" }, "secret")));
  const r = await server.cli(["user", "delete", name]);
  assert.equal(r.code, 0, r.stderr);
  await server.addUser(name, `${name}-again`);
  const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username: name, password: `${name}-again`, resource: "r" });
  clients.push(c);
  const card = (await iq(c, "get", xml("vCard", { xmlns: NS_VCARD }))).getChild("vCard", NS_VCARD);
  assert.equal(card?.children.length, 0);
  const prefs = (await iq(c, "get", xml("query", { xmlns: NS_PRIVATE }, xml("prefs", { xmlns: "x:prefs" })))).getChild("query", NS_PRIVATE);
  assert.equal(prefs?.getChild("prefs", "x:prefs")?.getText(), "");
});

test("private XML: stored per namespace, returned to its owner, replaced by a new set", async () => {
  const a = await user("pv");
  const empty = await iq(a, "get", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: "storage:bookmarks" })));
  assert.equal(empty.attrs.type, "result");
  assert.equal(empty.getChild("query", NS_PRIVATE)?.getChild("storage", "storage:bookmarks")?.children.length, 0);
  const conf = xml("conference", { jid: "room@muc.example", autojoin: "true", name: "R&D" }, xml("nick", {}, "al"));
  assert.equal((await iq(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: "storage:bookmarks" }, conf)))).attrs.type, "result");
  await iq(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("exodus", { xmlns: "exodus:prefs" }, xml("defaultnick", {}, "Hamlet"))));
  const got = await iq(a, "get", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: "storage:bookmarks" })));
  const c = got.getChild("query", NS_PRIVATE)?.getChild("storage", "storage:bookmarks")?.getChild("conference");
  assert.equal(c?.attrs.name, "R&D");
  assert.equal(c?.getChildText("nick"), "al");
  await iq(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("exodus", { xmlns: "exodus:prefs" }, xml("defaultnick", {}, "Ophelia"))));
  const prefs = await iq(a, "get", xml("query", { xmlns: NS_PRIVATE }, xml("exodus", { xmlns: "exodus:prefs" })));
  assert.equal(prefs.getChild("query", NS_PRIVATE)?.getChild("exodus", "exodus:prefs")?.getChildText("defaultnick"), "Ophelia");
});

test("private XML: another account's is forbidden; reserved namespaces, empty queries and limits are refused, storing nothing", async () => {
  const a = await user("pv");
  const b = await user("pv");
  const q = (...children: XmlElement[]) => xml("query", { xmlns: NS_PRIVATE }, ...children);
  assert.equal(errorOf(await iq(b, "get", q(xml("prefs", { xmlns: "x:prefs" })), a.bare)), "forbidden");
  assert.equal(errorOf(await iq(b, "set", q(xml("prefs", { xmlns: "x:prefs" }, "evil")), a.bare)), "forbidden");
  for (const ns of ["jabber:iq:roster", "http://jabber.org/protocol/muc", "vcard-temp"]) {
    assert.equal(errorOf(await iq(a, "set", q(xml("x", { xmlns: ns }, "y")))), "not-acceptable", ns);
  }
  assert.equal(errorOf(await iq(a, "get", q())), "not-acceptable");
  assert.equal(errorOf(await iq(a, "set", q(xml("one", { xmlns: "x:1" }), xml("two", { xmlns: "x:2" })))), "not-acceptable");
  assert.equal(errorOf(await iq(a, "set", q(xml("big", { xmlns: "x:big" }, "z".repeat(3000))))), "not-acceptable");
  const big = await iq(a, "get", q(xml("big", { xmlns: "x:big" })));
  assert.equal(big.getChild("query", NS_PRIVATE)?.getChild("big", "x:big")?.getText(), "", "nothing stored");
  // private_max_items is 3: a fourth namespace is refused, replacing one of the three is not.
  for (const i of [1, 2, 3]) assert.equal((await iq(a, "set", q(xml("p", { xmlns: `x:n${i}` }, "v")))).attrs.type, "result");
  assert.equal(errorOf(await iq(a, "set", q(xml("p", { xmlns: "x:n4" }, "v")))), "resource-constraint");
  assert.equal((await iq(a, "set", q(xml("p", { xmlns: "x:n2" }, "w")))).attrs.type, "result");
});

test("disco: the server advertises vcard-temp", async () => {
  const a = await user("disco");
  const info = await iq(a, "get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), "localhost");
  const vars = info
    .getChild("query")!
    .getChildren("feature")
    .map((f) => f.attrs.var);
  assert.ok(vars.includes("vcard-temp"));
  assert.ok(vars.includes("urn:xmpp:blocking"));
});

test("XEP-0153: directed presence carries the photo hash too (a MUC join, say)", async () => {
  const a = await user("dp", true);
  const b = await user("dp", true);
  const img = randomBytes(200);
  await iq(a, "set", xml("vCard", { xmlns: NS_VCARD }, photo(img)));
  await a.send(xml("presence", { to: b.jid }, xml("status", {}, "directed")));
  const p = await b.waitFor("the directed presence", (el) => el.is("presence") && el.getChildText("status") === "directed");
  assert.equal(p.getChild("x", NS_UPDATE)?.getChildText("photo"), sha1(img));
});
