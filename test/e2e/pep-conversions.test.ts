// The conversions between legacy stores and PEP, end to end with @xmpp/client: vCard photo ↔
// User Avatar (XEP-0398, XEP-0084) with the XEP-0153 hash following, and private XML bookmarks
// ↔ PEP bookmarks (XEP-0411, XEP-0402), each way, and what the account advertises.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml, type XmlElement } from "../interop/xmppjs-client.js";

const NS_VCARD = "vcard-temp";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_DATA = "urn:xmpp:avatar:data";
const NS_METADATA = "urn:xmpp:avatar:metadata";
const NS_PRIVATE = "jabber:iq:private";
const NS_LEGACY = "storage:bookmarks";
const NS_BOOKMARKS = "urn:xmpp:bookmarks:1";

let server: TestServer;
const clients: Interop[] = [];
let n = 0;
let ids = 0;

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of clients) await c.stop().catch(() => {});
  await server?.stop();
});

async function user(prefix: string): Promise<Interop> {
  const username = `${prefix}${++n}`;
  await server.addUser(username, `${username}-secret`);
  const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: `${username}-secret`, resource: "r" });
  clients.push(c);
  await c.send(xml("presence"));
  return c;
}

async function ok(c: Interop, type: "get" | "set", payload: XmlElement, to?: string): Promise<XmlElement> {
  const id = `t${++ids}`;
  await c.send(xml("iq", { type, id, ...(to ? { to } : {}) }, payload));
  const r = await c.waitFor(`the answer to ${id}`, (el) => el.is("iq") && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"));
  assert.equal(r.attrs.type, "result", String(r));
  return r;
}

const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
const items = async (c: Interop, node: string) =>
  (await ok(c, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })), c.bare)).getChild("pubsub")!.getChild("items")!.getChildren("item");
const publish = (node: string, id: string, payload: XmlElement, options?: Record<string, string>) =>
  xml(
    "pubsub",
    { xmlns: NS_PUBSUB },
    xml("publish", { node }, xml("item", { id }, payload)),
    ...(options ? [options] : []).map((o) =>
      xml(
        "publish-options",
        {},
        xml(
          "x",
          { xmlns: "jabber:x:data", type: "submit" },
          xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "http://jabber.org/protocol/pubsub#publish-options")),
          ...Object.entries(o).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
        ),
      ),
    ),
  );
const vcardOf = async (c: Interop) => (await ok(c, "get", xml("vCard", { xmlns: NS_VCARD }))).getChild("vCard", NS_VCARD)!;
const legacyOf = async (c: Interop) =>
  (await ok(c, "get", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY })))).getChild("query")!.getChild("storage", NS_LEGACY)!;

test("the account advertises both conversions", async () => {
  const a = await user("adv");
  const info = await ok(a, "get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), a.bare);
  const vars = info
    .getChild("query")!
    .getChildren("feature")
    .map((f) => f.attrs.var);
  assert.ok(vars.includes("urn:xmpp:pep-vcard-conversion:0"), vars.join(" "));
  assert.ok(vars.includes("urn:xmpp:bookmarks:1#compat"), vars.join(" "));
  assert.ok(vars.includes("urn:xmpp:bookmarks:1#compat-pep") && vars.includes("urn:xmpp:bookmarks-conversion:0"), vars.join(" "));
});

test("XEP-0398: a vCard photo becomes the PEP avatar (data, then metadata with its SHA-1), and removing it disables the avatar", async () => {
  const a = await user("av");
  const img = randomBytes(700);
  await ok(
    a,
    "set",
    xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "A"), xml("PHOTO", {}, xml("TYPE", {}, "image/jpeg"), xml("BINVAL", {}, img.toString("base64")))),
  );
  const [meta] = await items(a, NS_METADATA);
  const info = meta?.getChild("metadata", NS_METADATA)?.getChild("info");
  assert.equal(meta?.attrs.id, sha1(img));
  assert.deepEqual([info?.attrs.id, info?.attrs.bytes, info?.attrs.type], [sha1(img), "700", "image/jpeg"]);
  const [data] = await items(a, NS_DATA);
  assert.equal(data?.attrs.id, sha1(img));
  assert.equal(Buffer.from(data.getChild("data", NS_DATA)!.getText(), "base64").equals(img), true);

  await ok(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "A")));
  const [off] = await items(a, NS_METADATA);
  assert.ok(off?.getChild("metadata", NS_METADATA), String(off));
  assert.equal(off!.getChild("metadata", NS_METADATA)!.getChildren("info").length, 0, "an empty <metadata/>");
});

test("XEP-0398: a PEP avatar becomes the vCard photo, other vCard fields kept, and the contact's presence gets the new hash", async () => {
  const a = await user("pa");
  const b = await user("pa");
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    await x.send(xml("presence", { to: y.bare, type: "subscribe" }));
    await y.waitFor("the request", (el) => el.is("presence") && el.attrs.type === "subscribe" && el.attrs.from === x.bare);
    await y.send(xml("presence", { to: x.bare, type: "subscribed" }));
    await x.waitFor("the approval", (el) => el.is("presence") && el.attrs.type === "subscribed" && el.attrs.from === y.bare);
  }
  await ok(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("NICKNAME", {}, "kept")));
  const img = randomBytes(400);
  const id = sha1(img);
  await ok(a, "set", publish(NS_DATA, id, xml("data", { xmlns: NS_DATA }, img.toString("base64"))));
  await ok(a, "set", publish(NS_METADATA, id, xml("metadata", { xmlns: NS_METADATA }, xml("info", { id, bytes: "400", type: "image/png" }))));
  const card = await vcardOf(a);
  assert.equal(card.getChildText("NICKNAME"), "kept");
  assert.equal(card.getChild("PHOTO")?.getChildText("TYPE"), "image/png");
  assert.equal(Buffer.from(card.getChild("PHOTO")!.getChildText("BINVAL")!, "base64").equals(img), true);
  await b.waitFor("presence with the avatar's hash", (el) => el.is("presence") && el.getChild("x", "vcard-temp:x:update")?.getChildText("photo") === id);

  // Disabled in PEP: the vCard loses its photo.
  await ok(a, "set", publish(NS_METADATA, "current", xml("metadata", { xmlns: NS_METADATA })));
  const after = await vcardOf(a);
  assert.equal(after.getChild("PHOTO"), undefined);
  assert.equal(after.getChildText("NICKNAME"), "kept");
});

test("XEP-0411: private XML bookmarks become PEP bookmarks (one item per room), and a room dropped is retracted", async () => {
  const a = await user("bm");
  const conf = (jid: string, nick: string) => xml("conference", { jid, name: `Room ${nick}`, autojoin: "1" }, xml("nick", {}, nick));
  await ok(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }, conf("one@muc.example", "n1"), conf("two@muc.example", "n2"))));
  const got = await items(a, NS_BOOKMARKS);
  assert.deepEqual(got.map((i) => i.attrs.id).sort(), ["one@muc.example", "two@muc.example"]);
  const one = got.find((i) => i.attrs.id === "one@muc.example")!.getChild("conference", NS_BOOKMARKS)!;
  assert.deepEqual([one.attrs.name, one.attrs.autojoin, one.getChildText("nick")], ["Room n1", "true", "n1"]);

  await ok(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }, conf("two@muc.example", "n2"))));
  assert.deepEqual(
    (await items(a, NS_BOOKMARKS)).map((i) => i.attrs.id),
    ["two@muc.example"],
  );
  // The legacy copy is the client's, untouched by the PEP side's own events.
  assert.deepEqual(
    (await legacyOf(a)).getChildren("conference").map((c) => c.attrs.jid),
    ["two@muc.example"],
  );
});

test("XEP-0411: PEP bookmarks become private XML bookmarks, keeping legacy <url/> entries; a retraction removes the room", async () => {
  const a = await user("bp");
  await ok(a, "set", xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }, xml("url", { name: "Site", url: "https://example.org/" }))));
  const options = { "pubsub#persist_items": "true", "pubsub#max_items": "max", "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist" };
  await ok(
    a,
    "set",
    publish(NS_BOOKMARKS, "room@muc.example", xml("conference", { xmlns: NS_BOOKMARKS, name: "The Room", autojoin: "true" }, xml("nick", {}, "me")), options),
  );
  const legacy = await legacyOf(a);
  const c = legacy.getChild("conference");
  assert.deepEqual([c?.attrs.jid, c?.attrs.name, c?.attrs.autojoin, c?.getChildText("nick")], ["room@muc.example", "The Room", "true", "me"]);
  assert.equal(legacy.getChild("url")?.attrs.url, "https://example.org/");

  await ok(a, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node: NS_BOOKMARKS, notify: "true" }, xml("item", { id: "room@muc.example" }))));
  const after = await legacyOf(a);
  assert.equal(after.getChildren("conference").length, 0);
  assert.equal(after.getChildren("url").length, 1);
});

test("XEP-0398: an avatar whose data does not hash to its id is not copied into the vCard", async () => {
  const a = await user("bad");
  await ok(a, "set", xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, "unchanged")));
  const id = sha1(randomBytes(50)); // the id of some other image
  await ok(a, "set", publish(NS_DATA, id, xml("data", { xmlns: NS_DATA }, randomBytes(60).toString("base64"))));
  await ok(a, "set", publish(NS_METADATA, id, xml("metadata", { xmlns: NS_METADATA }, xml("info", { id, bytes: "60", type: "image/png" }))));
  const card = await vcardOf(a);
  assert.equal(card.getChild("PHOTO"), undefined);
  assert.equal(card.getChildText("FN"), "unchanged");
});

test("XEP-0411: the PEP node storage:bookmarks, private XML and bookmarks:1 hold the same rooms, whichever a client writes", async () => {
  const a = await user("bl");
  const legacyNode = async () => (await items(a, NS_LEGACY)).find((i) => i.attrs.id === "current")?.getChild("storage", NS_LEGACY);
  const rooms = (storage: XmlElement | undefined) => (storage?.getChildren("conference") ?? []).map((c) => c.attrs.jid).sort();

  // An XEP-0048-over-PEP client publishes: private XML and bookmarks:1 follow.
  const storage = xml(
    "storage",
    { xmlns: NS_LEGACY },
    xml("conference", { jid: "pep@muc.example", name: "PEP room", autojoin: "true" }, xml("nick", {}, "me")),
  );
  await ok(a, "set", publish(NS_LEGACY, "current", storage, { "pubsub#persist_items": "true", "pubsub#access_model": "whitelist" }));
  assert.deepEqual(rooms(await legacyOf(a)), ["pep@muc.example"]);
  assert.deepEqual(
    (await items(a, NS_BOOKMARKS)).map((i) => i.attrs.id),
    ["pep@muc.example"],
  );

  // A private XML client writes: the legacy node follows.
  await ok(
    a,
    "set",
    xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }, xml("conference", { jid: "priv@muc.example", autojoin: "false" }))),
  );
  assert.deepEqual(rooms(await legacyNode()), ["priv@muc.example"]);

  // A bookmarks:1 client adds a room: both legacy copies follow.
  const options = { "pubsub#persist_items": "true", "pubsub#max_items": "max", "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist" };
  await ok(a, "set", publish(NS_BOOKMARKS, "new@muc.example", xml("conference", { xmlns: NS_BOOKMARKS, name: "New" }), options));
  assert.deepEqual(rooms(await legacyNode()), ["new@muc.example", "priv@muc.example"]);
  assert.deepEqual(rooms(await legacyOf(a)), ["new@muc.example", "priv@muc.example"]);

  // Only the owner may read it (whitelist).
  const b = await user("bx");
  const id = `t${++ids}`;
  await b.send(xml("iq", { type: "get", id, to: a.bare }, xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: NS_LEGACY }))));
  const refused = await b.waitFor("the refusal", (el) => el.is("iq") && el.attrs.id === id);
  assert.equal(refused.attrs.type, "error", String(refused));
});

test("XEP-0411 §6: bookmarks are never copied into a PEP node that others may read", async () => {
  const a = await user("bo");
  const open = xml("storage", { xmlns: NS_LEGACY }, xml("conference", { jid: "public@muc.example", autojoin: "false" }));
  await ok(a, "set", publish(NS_LEGACY, "current", open, { "pubsub#access_model": "open" }));
  await ok(
    a,
    "set",
    xml("query", { xmlns: NS_PRIVATE }, xml("storage", { xmlns: NS_LEGACY }, xml("conference", { jid: "secret@muc.example", autojoin: "false" }))),
  );
  const stored = (await items(a, NS_LEGACY)).find((i) => i.attrs.id === "current")!.getChild("storage", NS_LEGACY)!;
  assert.deepEqual(
    stored.getChildren("conference").map((c) => c.attrs.jid),
    ["public@muc.example"],
  );
});
