// PEP (XEP-0163 on XEP-0060) end to end with raw XML clients over real sockets: publishing
// with publish-options, retrieval, retraction, configuration, deletion, access models, disco,
// limits, and bad input that must change nothing stored; account deletion removes the nodes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { child, show } from "../helpers/xml.js";
import { NS_OWNER, NS_PUBSUB, closeAll, errorOf, iq, itemIds, newUser, ok, online, publishXml, subscribe, type Client } from "../helpers/pep.js";

let server: TestServer;
let alice: Client;
let bob: Client; // a contact: subscribed to alice's presence
let eve: Client; // a stranger

before(async () => {
  server = await startServer({ pep_max_nodes: 20, pep_max_items: 20, pep_max_item_size: 2048, c2s_stanza_size_limit: 16384 });
  alice = await online(server, await newUser(server, "alice"));
  bob = await online(server, await newUser(server, "bob"));
  eve = await online(server, await newUser(server, "eve"));
  for (const c of [alice, bob, eve]) c.c.send("<presence/>");
  await subscribe(bob, alice);
});

after(async () => {
  closeAll();
  await server?.stop();
});

const geoloc = (text: string) => `<geoloc xmlns='http://jabber.org/protocol/geoloc'><text>${text}</text></geoloc>`;

test("publish auto-creates the node, assigns an id when absent, and items come back as published", async () => {
  const r = await ok(alice, "set", publishXml("http://jabber.org/protocol/geoloc", geoloc("home")));
  const id = child(child(child(r, "pubsub", NS_PUBSUB)!, "publish")!, "item")?.attrs.id;
  assert.ok(id && id.length >= 8, show(r));
  const items = await ok(alice, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='http://jabber.org/protocol/geoloc'/></pubsub>`, alice.bare);
  const item = child(child(child(items, "pubsub", NS_PUBSUB)!, "items")!, "item")!;
  assert.equal(item.attrs.id, id);
  assert.equal(child(item, "geoloc", "http://jabber.org/protocol/geoloc")?.children[0]?.text, "home");
});

test("max_items trims the oldest; a republished id becomes the newest; 'max' is the server's maximum", async () => {
  const node = "urn:test:trim";
  for (const id of ["a", "b", "c", "d"]) await ok(alice, "set", publishXml(node, geoloc(id), id, { "pubsub#max_items": "3" }));
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["b", "c", "d"]);
  await ok(alice, "set", publishXml(node, geoloc("b2"), "b", { "pubsub#max_items": "3" }));
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["c", "d", "b"]);
  assert.deepEqual(await itemIds(alice, alice.bare, node, " max_items='1'"), ["b"]);
  const byId = await ok(alice, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='${node}'><item id='c'/><item id='nope'/></items></pubsub>`);
  assert.deepEqual(
    child(child(byId, "pubsub")!, "items")!.children.map((i) => i.attrs.id),
    ["c"],
  );
  await ok(alice, "set", publishXml("urn:test:max", geoloc("x"), "x", { "pubsub#max_items": "max" }));
  const form = await ok(alice, "get", `<pubsub xmlns='${NS_OWNER}'><configure node='urn:test:max'/></pubsub>`);
  assert.match(show(form), /var="pubsub#max_items"[^>]*>?<value[^>]*>max</);
  // The same precondition again is met (stored as "max", not as a number).
  await ok(alice, "set", publishXml("urn:test:max", geoloc("y"), "y", { "pubsub#max_items": "max" }));
  assert.deepEqual(await itemIds(alice, alice.bare, "urn:test:max"), ["x", "y"]);
});

test("an items reply stays within the stanza size limit: the newest items that fit", async () => {
  const node = "urn:test:big";
  const ids = Array.from({ length: 20 }, (_, i) => `big${i}`);
  for (const id of ids) await ok(alice, "set", publishXml(node, geoloc(id + "x".repeat(1800)), id, { "pubsub#max_items": "max" }));
  const got = await itemIds(alice, alice.bare, node);
  assert.ok(got.length >= 5 && got.length < 10, got.join());
  assert.deepEqual(got, ids.slice(-got.length));
});

test("a publish-options precondition that the existing node does not meet is refused and stores nothing", async () => {
  const node = "urn:test:precondition";
  await ok(alice, "set", publishXml(node, geoloc("1"), "1", { "pubsub#access_model": "presence" }));
  const r = await iq(alice, "set", publishXml(node, geoloc("2"), "2", { "pubsub#access_model": "open" }));
  assert.deepEqual(errorOf(r), ["cancel", "conflict", "precondition-not-met"]);
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["1"]);
});

test("bad publish-options, payloads and node names are refused and create nothing", async () => {
  const cases: Array<[string, string[]]> = [
    [publishXml("urn:test:bad1", geoloc("x"), "x", { "pubsub#unknown_field": "1" }), ["cancel", "conflict", "precondition-not-met"]],
    [publishXml("urn:test:bad2", geoloc("x"), "x", { "pubsub#max_items": "21" }), ["cancel", "conflict", "precondition-not-met"]],
    [publishXml("urn:test:bad3", geoloc("x"), "x", { "pubsub#access_model": "authorize" }), ["cancel", "conflict", "precondition-not-met"]],
    [publishXml("urn:test:bad4", geoloc("x".repeat(3000)), "x"), ["modify", "not-acceptable", "payload-too-big"]],
    [publishXml("urn:test:bad5", geoloc("a") + geoloc("b"), "x"), ["modify", "bad-request", "invalid-payload"]],
    [`<pubsub xmlns='${NS_PUBSUB}'><publish node='urn:test:bad6'/></pubsub>`, ["modify", "bad-request", "item-required"]],
  ];
  for (const [xml, expected] of cases) {
    assert.deepEqual(errorOf(await iq(alice, "set", xml)), expected, xml);
    const node = /node='([^']+)'/.exec(xml)![1]!;
    const r = await iq(alice, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='${node}'/></pubsub>`);
    assert.deepEqual(errorOf(r).slice(0, 2), ["cancel", "item-not-found"], `${node} must not exist`);
  }
});

test("retract: a forged id is item-not-found and changes nothing; a real one is removed", async () => {
  const node = "urn:test:retract";
  await ok(alice, "set", publishXml(node, geoloc("1"), "one", { "pubsub#max_items": "5" }));
  await ok(alice, "set", publishXml(node, geoloc("2"), "two", { "pubsub#max_items": "5" }));
  const forged = await iq(alice, "set", `<pubsub xmlns='${NS_PUBSUB}'><retract node='${node}'><item id='three'/></retract></pubsub>`);
  assert.deepEqual(errorOf(forged).slice(0, 2), ["cancel", "item-not-found"]);
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["one", "two"]);
  await ok(alice, "set", `<pubsub xmlns='${NS_PUBSUB}'><retract node='${node}' notify='true'><item id='one'/></retract></pubsub>`);
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["two"]);
  const byBob = await iq(bob, "set", `<pubsub xmlns='${NS_PUBSUB}'><retract node='${node}'><item id='two'/></retract></pubsub>`, alice.bare);
  assert.deepEqual(errorOf(byBob).slice(0, 2), ["auth", "forbidden"]);
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["two"]);
});

test("access models: presence for contacts only, open for anyone, whitelist for the owner only (not-allowed + closed-node, XEP-0060 §6.5.9); only the owner publishes", async () => {
  await ok(alice, "set", publishXml("urn:test:presence", geoloc("p"), "p"));
  await ok(alice, "set", publishXml("urn:test:open", geoloc("o"), "o", { "pubsub#access_model": "open" }));
  await ok(alice, "set", publishXml("urn:test:white", geoloc("w"), "w", { "pubsub#access_model": "whitelist" }));
  assert.deepEqual(await itemIds(bob, alice.bare, "urn:test:presence"), ["p"]);
  assert.deepEqual(errorOf(await iq(eve, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='urn:test:presence'/></pubsub>`, alice.bare)), [
    "auth",
    "not-authorized",
    "presence-subscription-required",
  ]);
  assert.deepEqual(await itemIds(eve, alice.bare, "urn:test:open"), ["o"]);
  for (const who of [bob, eve]) {
    const r = await iq(who, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='urn:test:white'/></pubsub>`, alice.bare);
    assert.deepEqual(errorOf(r), ["cancel", "not-allowed", "closed-node"]);
  }
  const forged = await iq(eve, "set", publishXml("urn:test:open", geoloc("evil"), "o"), alice.bare);
  assert.deepEqual(errorOf(forged).slice(0, 2), ["auth", "forbidden"]);
  assert.equal(show(await ok(alice, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='urn:test:open'/></pubsub>`)).includes("evil"), false);
  const missing = await iq(bob, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='urn:test:none'/></pubsub>`, alice.bare);
  assert.deepEqual(errorOf(missing).slice(0, 2), ["cancel", "item-not-found"]);
});

test("configure: the form shows the node's values; unknown fields are refused; changes apply (fewer items, access)", async () => {
  const node = "urn:test:config";
  for (const id of ["1", "2", "3"]) await ok(alice, "set", publishXml(node, geoloc(id), id, { "pubsub#max_items": "5" }));
  const form = show(await ok(alice, "get", `<pubsub xmlns='${NS_OWNER}'><configure node='${node}'/></pubsub>`));
  assert.match(form, /var="pubsub#access_model"[^]*<value[^>]*>presence</);
  const submit = (fields: string) =>
    `<pubsub xmlns='${NS_OWNER}'><configure node='${node}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>${fields}</x></configure></pubsub>`;
  const bad = await iq(alice, "set", submit("<field var='pubsub#max_items'><value>2</value></field><field var='pubsub#bogus'><value>1</value></field>"));
  assert.deepEqual(errorOf(bad).slice(0, 2), ["modify", "not-acceptable"]);
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["1", "2", "3"]);
  const byBob = await iq(bob, "set", submit("<field var='pubsub#access_model'><value>open</value></field>"), alice.bare);
  assert.deepEqual(errorOf(byBob).slice(0, 2), ["auth", "forbidden"]);
  await ok(alice, "set", submit("<field var='pubsub#max_items'><value>2</value></field><field var='pubsub#access_model'><value>whitelist</value></field>"));
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["2", "3"]);
  const r = await iq(bob, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='${node}'/></pubsub>`, alice.bare);
  assert.deepEqual(errorOf(r), ["cancel", "not-allowed", "closed-node"]);
});

test("delete: the owner's node and its items go; nobody else may", async () => {
  const node = "urn:test:delete";
  await ok(alice, "set", publishXml(node, geoloc("1"), "1"));
  const byBob = await iq(bob, "set", `<pubsub xmlns='${NS_OWNER}'><delete node='${node}'/></pubsub>`, alice.bare);
  assert.deepEqual(errorOf(byBob).slice(0, 2), ["auth", "forbidden"]);
  assert.deepEqual(await itemIds(alice, alice.bare, node), ["1"]);
  await ok(alice, "set", `<pubsub xmlns='${NS_OWNER}'><delete node='${node}'/></pubsub>`);
  const gone = await iq(alice, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='${node}'/></pubsub>`);
  assert.deepEqual(errorOf(gone).slice(0, 2), ["cancel", "item-not-found"]);
  const again = await iq(alice, "set", `<pubsub xmlns='${NS_OWNER}'><delete node='${node}'/></pubsub>`);
  assert.deepEqual(errorOf(again).slice(0, 2), ["cancel", "item-not-found"]);
});

test("disco: the account is a pubsub/pep service with the features that work; items list the nodes the requester may see", async () => {
  const info = show(await ok(alice, "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", alice.bare));
  assert.match(info, /<identity [^>]*category="pubsub" type="pep"/);
  for (const f of [
    "publish",
    "publish-options",
    "auto-create",
    "retrieve-items",
    "retract-items",
    "delete-nodes",
    "config-node",
    "access-open",
    "access-presence",
    "access-whitelist",
  ])
    assert.ok(info.includes(`var="http://jabber.org/protocol/pubsub#${f}"`), f);
  await ok(alice, "set", publishXml("urn:test:disco-w", geoloc("w"), "w", { "pubsub#access_model": "whitelist" }));
  await ok(alice, "set", publishXml("urn:test:disco-p", geoloc("p"), "p"));
  const nodes = async (who: Client) =>
    child(await ok(who, "get", "<query xmlns='http://jabber.org/protocol/disco#items'/>", alice.bare), "query")!.children.map((i) => i.attrs.node);
  const own = await nodes(alice);
  assert.ok(own.includes("urn:test:disco-w") && own.includes("urn:test:disco-p"), own.join());
  const contact = await nodes(bob);
  assert.ok(contact.includes("urn:test:disco-p") && !contact.includes("urn:test:disco-w"), contact.join());
  assert.equal((await iq(eve, "get", "<query xmlns='http://jabber.org/protocol/disco#items'/>", alice.bare)).attrs.type, "error");
});

test("nodes per account are limited; account deletion removes every node", async () => {
  const user = await newUser(server, "carol");
  const carol = await online(server, user);
  for (let i = 0; i < 20; i++) await ok(carol, "set", publishXml(`urn:test:n${i}`, geoloc("x"), "x", { "pubsub#access_model": "open" }));
  assert.deepEqual(errorOf(await iq(carol, "set", publishXml("urn:test:n20", geoloc("x"), "x"))).slice(0, 2), ["cancel", "policy-violation"]);
  assert.deepEqual(await itemIds(eve, user.bare, "urn:test:n0"), ["x"]);
  const del = await server.cli(["user", "delete", user.username]);
  assert.equal(del.code, 0, del.stderr);
  await server.addUser(user.username, user.password);
  const r = await iq(eve, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='urn:test:n0'/></pubsub>`, user.bare);
  assert.deepEqual(errorOf(r).slice(0, 2), ["cancel", "item-not-found"]);
});
