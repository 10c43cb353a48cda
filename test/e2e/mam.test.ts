// The message archive (XEP-0313 urn:xmpp:mam:2 and #extended) end to end over real sockets:
// what is archived on both sides (XEP-0334 hints, types), the XEP-0359 stanza-id on delivered
// messages, offline ones and carbon copies matching the archive ids, spoofed ids stripped,
// paging with RSM (after, before, the last page, flip-page), the form fields, the metadata,
// and the errors for bad queries and for another user's archive.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, show, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, waitForElement } from "../helpers/xmpp-assert.js";
import { NS_MAM, NS_SID, form, nextId, query, queryOk, rsm, stanzaIdOf } from "../helpers/mam.js";

let server: TestServer;
const open: RawClient[] = [];
let users = 0;

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

interface User {
  name: string;
  pw: string;
  bare: string;
}
async function newUser(prefix: string): Promise<User> {
  const name = `${prefix}${++users}`;
  await server.addUser(name, `pw-${name}`);
  return { name, pw: `pw-${name}`, bare: `${name}@localhost` };
}

/** Logs in with `resource` and sends initial presence (so bare-JID messages are delivered). */
async function online(u: User, resource: string, presence = true): Promise<RawClient> {
  const c = await RawClient.connect(server.c2sPort);
  open.push(c);
  const jid = await c.login(u.name, u.pw, resource);
  if (presence) {
    c.send("<presence/>");
    await waitForElement(c, (el) => el.name === "presence" && el.attrs.from === jid, "the presence echo");
  }
  return c;
}

function chat(to: string, id: string, body?: string, extra = "", type = "chat"): string {
  return `<message to='${to}' type='${type}' id='${id}'>${body !== undefined ? `<body>${body}</body>` : ""}${extra}</message>`;
}

async function received(c: RawClient, id: string, what = `message ${id}`): Promise<XmlEl> {
  return waitForElement(c, (el) => el.name === "message" && el.attrs.id === id, what);
}

/** Alice sends bob `n` chat messages; resolves when bob has them all (their ids m<prefix>0…). */
async function exchange(a: RawClient, b: RawClient, bob: User, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) a.send(chat(bob.bare, `${prefix}${i}`, `${prefix} ${i}`));
  await received(b, `${prefix}${n - 1}`);
}

describe("archiving", () => {
  test("chat and normal messages with a body are archived on both sides; hints, types without a body, errors and headlines are not", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const a = await online(alice, "phone");
    const b = await online(bob, "laptop");
    a.send(chat(bob.bare, "keep1", "hello"));
    a.send(chat(bob.bare, "nostore", "secret", "<no-store xmlns='urn:xmpp:hints'/>"));
    a.send(chat(bob.bare, "noperm", "secret", "<no-permanent-store xmlns='urn:xmpp:hints'/>"));
    a.send(chat(bob.bare, "state", undefined, "<composing xmlns='http://jabber.org/protocol/chatstates'/>"));
    a.send(chat(bob.bare, "stored-state", undefined, "<active xmlns='http://jabber.org/protocol/chatstates'/><store xmlns='urn:xmpp:hints'/>"));
    a.send(chat(bob.bare, "headline", "news", "", "headline"));
    a.send(chat(bob.bare, "normal", "plain", "", "normal"));
    await received(b, "normal");

    const bobs = await queryOk(b);
    assert.deepEqual(
      bobs.results.map((r) => r.message.attrs.id),
      ["keep1", "stored-state", "normal"],
      "bob's archive holds what he received and may keep",
    );
    assert.equal(bobs.complete, true);
    assert.equal(bobs.count, 3);
    assert.equal(bobs.first, bobs.results[0]!.id);
    assert.equal(bobs.last, bobs.results[2]!.id);
    const first = bobs.results[0]!;
    assert.equal(first.message.attrs.from, `${alice.bare}/phone`);
    assert.equal(first.body, "hello");
    assert.ok(Math.abs(Date.parse(first.stamp) - Date.now()) < 60_000, `a delay stamp of now: ${first.stamp}`);

    const alices = await queryOk(a);
    assert.deepEqual(
      alices.results.map((r) => r.message.attrs.id),
      ["keep1", "stored-state", "normal"],
      "alice's archive holds what she sent",
    );
    assert.notDeepEqual(
      alices.results.map((r) => r.id),
      bobs.results.map((r) => r.id),
      "each archive has its own ids",
    );
  });

  test("the delivered message carries the archive id as <stanza-id by=bare JID>; a spoofed one is removed, origin-id kept", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const a = await online(alice, "phone");
    const b = await online(bob, "laptop");
    const spoof = `<stanza-id xmlns='${NS_SID}' by='${bob.bare}' id='forged'/><stanza-id xmlns='${NS_SID}' by='other@example.org' id='theirs'/>`;
    a.send(chat(bob.bare, "s1", "hi", `${spoof}<origin-id xmlns='${NS_SID}' id='origin-1'/>`));
    const msg = await received(b, "s1");
    const ids = msg.children.filter((ch) => ch.name === "stanza-id" && ch.attrs.by === bob.bare);
    assert.equal(ids.length, 1, `exactly one stanza-id by bob: ${show(msg)}`);
    assert.notEqual(ids[0]!.attrs.id, "forged");
    assert.equal(stanzaIdOf(msg, "other@example.org"), "theirs", "an id by another entity is not ours to remove");
    assert.equal(child(msg, "origin-id", NS_SID)?.attrs.id, "origin-1");
    const archived = await queryOk(b);
    assert.equal(archived.results.length, 1);
    assert.equal(archived.results[0]!.id, ids[0]!.attrs.id, "the stanza-id is the archive id");
    assert.equal(stanzaIdOf(archived.results[0]!.message, bob.bare), undefined, "the forged id is not in the archive either");
  });

  test("a message kept offline is archived, and delivered later with the same stanza-id", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const a = await online(alice, "phone");
    a.send(chat(bob.bare, "off1", "while you were out"));
    // Alice's own archive answers once the message went through the router.
    await queryOk(a);
    const b = await online(bob, "laptop");
    const msg = await received(b, "off1");
    const sid = stanzaIdOf(msg, bob.bare);
    assert.ok(sid, `the offline message has bob's stanza-id: ${show(msg)}`);
    const archived = await queryOk(b);
    assert.deepEqual(
      archived.results.map((r) => r.id),
      [sid],
    );
  });

  test("carbon copies carry the same ids as the archive: sent copies the sender's, received copies the recipient's", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const a1 = await online(alice, "one");
    const a2 = await online(alice, "two");
    const b1 = await online(bob, "one");
    const b2 = await online(bob, "two");
    for (const c of [a2, b2]) {
      const id = nextId("carbons");
      c.send(`<iq type='set' id='${id}'><enable xmlns='urn:xmpp:carbons:2'/></iq>`);
      await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id && el.attrs.type === "result", "carbons enabled");
    }
    a1.send(chat(`${bob.bare}/one`, "c1", "to bob's first device"));
    const delivered = await received(b1, "c1");
    const carbonOf = (c: RawClient, kind: string) =>
      waitForElement(c, (el) => el.name === "message" && !!child(el, kind, "urn:xmpp:carbons:2"), `a ${kind} carbon`).then((el) => {
        const m = child(child(child(el, kind)!, "forwarded")!, "message");
        assert.ok(m, `a carbon with a message: ${show(el)}`);
        return m;
      });
    const sent = await carbonOf(a2, "sent");
    const rcvd = await carbonOf(b2, "received");

    const bobs = await queryOk(b2);
    const alices = await queryOk(a2);
    assert.equal(bobs.results.length, 1);
    assert.equal(alices.results.length, 1);
    assert.equal(stanzaIdOf(delivered, bob.bare), bobs.results[0]!.id, "delivered: bob's archive id");
    assert.equal(stanzaIdOf(rcvd, bob.bare), bobs.results[0]!.id, "received carbon: bob's archive id");
    assert.equal(stanzaIdOf(sent, alice.bare), alices.results[0]!.id, "sent carbon: alice's archive id");
    assert.equal(stanzaIdOf(delivered, alice.bare), undefined, "the recipient does not get the sender's id");
  });
});

describe("queries", () => {
  let alice: User, bob: User, carol: User;
  let a: RawClient, b: RawClient;
  let all: string[];
  before(async () => {
    alice = await newUser("alice");
    bob = await newUser("bob");
    carol = await newUser("carol");
    a = await online(alice, "phone");
    b = await online(bob, "laptop");
    const c = await online(carol, "desk");
    await exchange(a, b, bob, 20, "p");
    c.send(chat(bob.bare, "fromcarol", "carol here"));
    await received(b, "fromcarol");
    all = (await queryOk(b, rsm({ max: 100 }))).results.map((r) => r.id);
    assert.equal(all.length, 21);
  });

  test("paging forward with RSM <after/> walks the whole archive in order", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await queryOk(b, rsm({ max: 8, after }));
      pages++;
      seen.push(...page.results.map((r) => r.id));
      if (page.complete) break;
      assert.equal(page.results.length, 8);
      after = page.last;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, all);
  });

  test("<max>0</max> asks for the count alone (XEP-0059 §2.7)", async () => {
    const counted = await queryOk(b, rsm({ max: 0 }));
    assert.equal(counted.count, 21);
    assert.equal(counted.results.length, 0);
    assert.equal(counted.first, undefined);
    assert.equal((await queryOk(b, form({ with: carol.bare }) + rsm({ max: 0 }))).count, 1);
  });

  test("an empty <before/> is the last page, <before>id</before> the page before it, <flip-page/> reverses a page", async () => {
    const last = await queryOk(b, rsm({ max: 5, before: true }));
    assert.deepEqual(
      last.results.map((r) => r.id),
      all.slice(-5),
    );
    assert.equal(last.complete, false, "more before it");
    const prev = await queryOk(b, rsm({ max: 5, before: last.first }));
    assert.deepEqual(
      prev.results.map((r) => r.id),
      all.slice(-10, -5),
    );
    const flipped = await queryOk(b, rsm({ max: 5, before: true }) + `<flip-page xmlns='${NS_MAM}'/>`);
    assert.deepEqual(
      flipped.results.map((r) => r.id),
      all.slice(-5).reverse(),
    );
    const whole = await queryOk(b, rsm({ max: 50, before: true }));
    assert.equal(whole.complete, true);
  });

  test("'with' filters by bare or full JID; #extended after-id, before-id and ids", async () => {
    const byCarol = await queryOk(b, form({ with: carol.bare }));
    assert.deepEqual(
      byCarol.results.map((r) => r.message.attrs.id),
      ["fromcarol"],
    );
    assert.equal((await queryOk(b, form({ with: `${carol.bare}/desk` }))).results.length, 1);
    assert.equal((await queryOk(b, form({ with: `${carol.bare}/elsewhere` }))).results.length, 0);
    const empty = await queryOk(b, form({ with: "nobody@localhost" }));
    assert.equal(empty.complete, true);
    assert.equal(empty.first, undefined, "an empty page has no <first/>");
    assert.equal(empty.count, 0);

    const between = await queryOk(b, form({ "after-id": all[2]!, "before-id": all[6]! }));
    assert.deepEqual(
      between.results.map((r) => r.id),
      all.slice(3, 6),
    );
    const picked = await queryOk(b, form({ ids: [all[9]!, all[1]!] }));
    assert.deepEqual(
      picked.results.map((r) => r.id),
      [all[1], all[9]],
    );
  });

  test("start and end filter by time; a future start matches nothing", async () => {
    const past = new Date(Date.now() - 3600_000).toISOString();
    const future = new Date(Date.now() + 3600_000).toISOString();
    assert.equal((await queryOk(b, form({ start: past, end: future }) + rsm({ max: 100 }))).results.length, 21);
    assert.equal((await queryOk(b, form({ start: future }))).results.length, 0);
    assert.equal((await queryOk(b, form({ end: past }))).results.length, 0);
    assert.equal((await queryOk(b, form({ start: "2020-01-01T00:00:00+02:00" }) + rsm({ max: 100 }))).results.length, 21);
  });

  test("bad queries get the XEP's errors and change nothing", async () => {
    const err = async (inner: string, type: string, condition: string, opts: { to?: string } = {}) => {
      const r = await query(b, inner, opts);
      await expectStanzaError(b, "iq", r.reply.attrs.id, type, condition);
      assert.equal(r.results.length, 0, "no results before the error");
    };
    await err(rsm({ after: "no-such-id" }), "cancel", "item-not-found");
    await err(rsm({ before: "no-such-id" }), "cancel", "item-not-found");
    await err(form({ "after-id": "no-such-id" }), "cancel", "item-not-found");
    await err(form({ ids: [all[0]!, "no-such-id"] }), "cancel", "item-not-found");
    await err(form({ start: "yesterday" }), "modify", "bad-request");
    await err(form({ end: "2024-13-45T99:00:00Z" }), "modify", "bad-request");
    await err(form({ start: "2024-01-01T00:00:00" }), "modify", "bad-request");
    await err(form({ "{urn:example}search": "x" }), "cancel", "feature-not-implemented");
    await err(form({ "include-groupchat": "true" }), "cancel", "feature-not-implemented");
    await err(rsm({ max: -1 }), "modify", "bad-request");
    // Alice's archive is hers alone.
    await err("", "auth", "forbidden", { to: alice.bare });
    assert.equal((await queryOk(b, rsm({ max: 100 }))).results.length, 21, "the archive is unchanged");
  });

  test("the query form, the metadata, and disco on the account", async () => {
    const id = nextId("form");
    b.send(`<iq type='get' id='${id}'><query xmlns='${NS_MAM}'/></iq>`);
    const formReply = await waitForElement(b, (el) => el.name === "iq" && el.attrs.id === id, "the form");
    const x = child(child(formReply, "query", NS_MAM)!, "x", "jabber:x:data")!;
    assert.deepEqual(
      x.children.filter((f) => f.name === "field").map((f) => `${f.attrs.var}:${f.attrs.type}`),
      ["FORM_TYPE:hidden", "with:jid-single", "start:text-single", "end:text-single", "before-id:text-single", "after-id:text-single", "ids:list-multi"],
    );

    const mid = nextId("meta");
    b.send(`<iq type='get' id='${mid}'><metadata xmlns='${NS_MAM}'/></iq>`);
    const meta = child(await waitForElement(b, (el) => el.name === "iq" && el.attrs.id === mid, "the metadata"), "metadata", NS_MAM)!;
    assert.equal(child(meta, "start")?.attrs.id, all[0]);
    assert.equal(child(meta, "end")?.attrs.id, all[all.length - 1]);
    assert.ok(!Number.isNaN(Date.parse(child(meta, "end")!.attrs.timestamp!)));

    const did = nextId("disco");
    b.send(`<iq type='get' id='${did}' to='${bob.bare}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    const info = await waitForElement(b, (el) => el.name === "iq" && el.attrs.id === did, "disco#info");
    const vars = child(info, "query")!
      .children.filter((f) => f.name === "feature")
      .map((f) => f.attrs.var);
    for (const f of [NS_MAM, `${NS_MAM}#extended`, NS_SID]) assert.ok(vars.includes(f), `${f} advertised: ${show(info)}`);

    const oid = nextId("other");
    b.send(`<iq type='get' id='${oid}' to='${alice.bare}'><metadata xmlns='${NS_MAM}'/></iq>`);
    await expectStanzaError(b, "iq", oid, "auth", "forbidden");
  });
});
