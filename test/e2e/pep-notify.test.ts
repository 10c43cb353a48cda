// PEP notifications (XEP-0163 §4) end to end with raw XML clients: "+notify" interest learned
// from entity capabilities (XEP-0115: the server asks disco#info, checks the hash, caches by
// ver), notifications to own resources and to contacts the access model allows, last-item
// delivery on presence, retract and delete notifications, interest forgotten when unavailable.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { child, show, type XmlEl } from "../helpers/xml.js";
import {
  NS_EVENT,
  NS_OWNER,
  NS_PUBSUB,
  closeAll,
  newUser,
  noneArrives,
  notification,
  ok,
  online,
  presenceWithCaps,
  publishXml,
  subscribe,
  type User,
} from "../helpers/pep.js";

let server: TestServer;

before(async () => {
  server = await startServer();
});
after(async () => {
  closeAll();
  await server?.stop();
});

const mood = (m: string) => `<mood xmlns='http://jabber.org/protocol/mood'><${m}/></mood>`;
const NODE = "http://jabber.org/protocol/mood";
const isEventFor = (node: string) => (el: XmlEl) => el.name === "message" && child(el, "event", NS_EVENT) !== undefined && show(el).includes(node);

async function pair(): Promise<{ a: User; b: User }> {
  return { a: await newUser(server, "a"), b: await newUser(server, "b") };
}

test("notifications reach interested own resources and contacts, not the uninterested nor strangers", async () => {
  const { a, b } = await pair();
  const stranger = await online(server, await newUser(server, "s"));
  const a1 = await online(server, a, "one");
  const a2 = await online(server, a, "two");
  const b1 = await online(server, b);
  await presenceWithCaps(a1, [NODE]);
  await presenceWithCaps(a2, ["urn:xmpp:other"]);
  await presenceWithCaps(b1, [NODE], { expectQuery: false }); // same ver as a1: cached, not asked again
  await presenceWithCaps(stranger, [NODE], { expectQuery: false });
  await subscribe(b1, a1);
  await ok(a1, "set", publishXml(NODE, mood("happy"), "m1"));
  for (const who of [a1, b1]) {
    const n = await notification(who, a.bare, NODE, "happy");
    assert.equal(n.attrs.type, "headline");
    assert.equal(child(child(child(n, "event", NS_EVENT)!, "items")!, "item")?.attrs.id, "m1", show(n));
  }
  await noneArrives(a2, isEventFor(NODE));
  await noneArrives(stranger, isEventFor(NODE));
});

test("a whitelist node (bookmarks) notifies only the owner's resources", async () => {
  const { a, b } = await pair();
  const bm = "urn:xmpp:bookmarks:1";
  const a1 = await online(server, a);
  const b1 = await online(server, b);
  await presenceWithCaps(a1, [bm]);
  await presenceWithCaps(b1, [bm], { expectQuery: false });
  await subscribe(b1, a1);
  const conf = "<conference xmlns='urn:xmpp:bookmarks:1' name='Room' autojoin='true'><nick>a</nick></conference>";
  const opts = { "pubsub#persist_items": "true", "pubsub#max_items": "max", "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist" };
  await ok(a1, "set", publishXml(bm, conf, "room@conference.localhost", opts));
  await notification(a1, a.bare, bm, "room@conference.localhost");
  await noneArrives(b1, isEventFor(bm));
});

test("caps whose hash does not match the disco#info answer are not believed: no notifications", async () => {
  const { a } = await pair();
  const liar = await online(server, a, "liar");
  const other = await online(server, a, "other");
  await presenceWithCaps(liar, ["urn:test:lie"], { lie: true });
  await presenceWithCaps(other, ["urn:test:truth"]);
  await ok(other, "set", publishXml("urn:xmpp:extra", mood("sad"), "x"));
  await noneArrives(liar, isEventFor("urn:xmpp:extra"));
});

test("last-item delivery: a contact (and an own resource) coming online with +notify gets the last item, with its delay", async () => {
  const { a, b } = await pair();
  const a1 = await online(server, a);
  const b1 = await online(server, b);
  a1.c.send("<presence/>");
  b1.c.send("<presence/>");
  await subscribe(b1, a1);
  const node = "urn:test:last";
  await ok(a1, "set", publishXml(node, mood("first"), "1", { "pubsub#max_items": "5" }));
  await ok(a1, "set", publishXml(node, mood("second"), "2", { "pubsub#max_items": "5" }));
  const b2 = await online(server, b, "later");
  await presenceWithCaps(b2, [node]);
  const n = await notification(b2, a.bare, node, "second");
  assert.ok(child(n, "delay", "urn:xmpp:delay")?.attrs.stamp, show(n));
  assert.equal(show(n).includes("first"), false, show(n));
  const a2 = await online(server, a, "later");
  await presenceWithCaps(a2, [node], { expectQuery: false });
  await notification(a2, a.bare, node, "second");
  // The same presence again (same ver) sends nothing new.
  b2.c.clear();
  await presenceWithCaps(b2, [node], { expectQuery: false });
  await noneArrives(b2, isEventFor(node));
});

test("last-item delivery: a new subscriber gets the last item once the contact approves", async () => {
  const { a, b } = await pair();
  const a1 = await online(server, a);
  const b1 = await online(server, b);
  const node = "urn:test:newsub";
  a1.c.send("<presence/>");
  await presenceWithCaps(b1, [node]);
  await ok(a1, "set", publishXml(node, mood("before"), "1"));
  await noneArrives(b1, isEventFor(node));
  await subscribe(b1, a1);
  await notification(b1, a.bare, node, "before");
});

test("retract and delete notify; an unavailable session's interest is forgotten", async () => {
  const { a, b } = await pair();
  const a1 = await online(server, a);
  const b1 = await online(server, b);
  const node = "urn:test:gone";
  await presenceWithCaps(a1, [node]);
  await presenceWithCaps(b1, [node], { expectQuery: false });
  await subscribe(b1, a1);
  await ok(a1, "set", publishXml(node, mood("x"), "x", { "pubsub#max_items": "5" }));
  await notification(b1, a.bare, node, "x");
  await ok(a1, "set", `<pubsub xmlns='${NS_PUBSUB}'><retract node='${node}' notify='1'><item id='x'/></retract></pubsub>`);
  const r = await notification(b1, a.bare, node, "retract");
  assert.equal(child(child(child(r, "event", NS_EVENT)!, "items")!, "retract")?.attrs.id, "x");
  await ok(a1, "set", publishXml(node, mood("y"), "y"));
  await notification(b1, a.bare, node, '"y"');
  await ok(a1, "set", `<pubsub xmlns='${NS_OWNER}'><delete node='${node}'/></pubsub>`);
  const d = await notification(b1, a.bare, node, "delete");
  assert.equal(child(child(d, "event", NS_EVENT)!, "delete")?.attrs.node, node);
  b1.c.send("<presence type='unavailable'/>");
  await ok(b1, "get", "<ping xmlns='urn:xmpp:ping'/>", "localhost");
  b1.c.clear();
  await ok(a1, "set", publishXml(node, mood("z"), "z"));
  await notification(a1, a.bare, node, '"z"');
  await noneArrives(b1, isEventFor(node));
});
