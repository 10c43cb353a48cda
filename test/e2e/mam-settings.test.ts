// The message archive's settings and side effects, over real sockets: archiving preferences
// (XEP-0313 §6) stored and honoured, max_archive_query_results, the client list showing which
// clients sync the archive (urn:warden:client-holdings:0), account deletion taking the archive
// with it, and retention (archive_expires_after) deleting old messages.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, show, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, waitForElement } from "../helpers/xmpp-assert.js";
import { NS_MAM, nextId, queryOk, rsm } from "../helpers/mam.js";
import { NS_MANAGE, sasl2Login } from "../helpers/manage-clients.js";

const NS_HOLDINGS = "urn:warden:client-holdings:0";

let server: TestServer;
const open: RawClient[] = [];
let users = 0;

before(async () => {
  server = await startServer({ max_archive_query_results: 5 });
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
async function newUser(s: TestServer, prefix: string): Promise<User> {
  const name = `${prefix}${++users}`;
  await s.addUser(name, `pw-${name}`);
  return { name, pw: `pw-${name}`, bare: `${name}@localhost` };
}

async function online(s: TestServer, u: User, resource: string): Promise<RawClient> {
  const c = await RawClient.connect(s.c2sPort);
  open.push(c);
  const jid = await c.login(u.name, u.pw, resource);
  c.send("<presence/>");
  await waitForElement(c, (el) => el.name === "presence" && el.attrs.from === jid, "the presence echo");
  return c;
}

async function say(from: RawClient, to: RawClient, toJid: string, id: string): Promise<void> {
  from.send(`<message to='${toJid}' type='chat' id='${id}'><body>${id}</body></message>`);
  await waitForElement(to, (el) => el.name === "message" && el.attrs.id === id, `message ${id}`);
}

async function iq(c: RawClient, type: string, payload: string): Promise<XmlEl> {
  const id = nextId("iq");
  c.send(`<iq type='${type}' id='${id}'>${payload}</iq>`);
  return waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, `the reply to ${id}`);
}

const bodies = async (c: RawClient) => (await queryOk(c)).results.map((r) => r.body);

describe("preferences", () => {
  test("default 'always' until set; 'never' with an always list keeps only that contact; get returns what was set", async () => {
    const alice = await newUser(server, "alice");
    const bob = await newUser(server, "bob");
    const carol = await newUser(server, "carol");
    const a = await online(server, alice, "a");
    const b = await online(server, bob, "b");
    const c = await online(server, carol, "c");

    const initial = await iq(b, "get", `<prefs xmlns='${NS_MAM}'/>`);
    assert.equal(child(initial, "prefs", NS_MAM)?.attrs.default, "always", show(initial));

    const set = await iq(b, "set", `<prefs xmlns='${NS_MAM}' default='never'><always><jid>${carol.bare}/ignored-resource</jid></always><never/></prefs>`);
    assert.equal(set.attrs.type, "result", show(set));
    const got = child(await iq(b, "get", `<prefs xmlns='${NS_MAM}'/>`), "prefs", NS_MAM)!;
    assert.equal(got.attrs.default, "never");
    assert.deepEqual(
      child(got, "always")!.children.map((j) => j.text),
      [carol.bare],
    );
    assert.deepEqual(child(got, "never")!.children, []);

    await say(a, b, bob.bare, "from-alice");
    await say(c, b, bob.bare, "from-carol");
    assert.deepEqual(await bodies(b), ["from-carol"], "bob keeps only carol's");
    assert.deepEqual(await bodies(a), ["from-alice"], "alice's own preferences still keep what she sent");

    // 'roster': only contacts in the roster.
    await iq(b, "set", `<prefs xmlns='${NS_MAM}' default='roster'><always/><never><jid>${carol.bare}</jid></never></prefs>`);
    const r = await iq(b, "set", `<query xmlns='jabber:iq:roster'><item jid='${alice.bare}'/></query>`);
    assert.equal(r.attrs.type, "result", show(r));
    await say(a, b, bob.bare, "alice-in-roster");
    await say(c, b, bob.bare, "carol-never");
    assert.deepEqual(await bodies(b), ["from-carol", "alice-in-roster"]);
  });

  test("bad preferences are refused and change nothing", async () => {
    const bob = await newUser(server, "bob");
    const b = await online(server, bob, "b");
    const bad = await iq(b, "set", `<prefs xmlns='${NS_MAM}' default='sometimes'/>`);
    await expectStanzaError(b, "iq", bad.attrs.id, "modify", "bad-request");
    const badJid = await iq(b, "set", `<prefs xmlns='${NS_MAM}' default='never'><always><jid>@@bad</jid></always></prefs>`);
    await expectStanzaError(b, "iq", badJid.attrs.id, "modify", "jid-malformed");
    const got = child(await iq(b, "get", `<prefs xmlns='${NS_MAM}'/>`), "prefs", NS_MAM)!;
    assert.equal(got.attrs.default, "always");
  });
});

test("max_archive_query_results caps a page: <max>100</max> gets 5, not complete", async () => {
  const alice = await newUser(server, "alice");
  const bob = await newUser(server, "bob");
  const a = await online(server, alice, "a");
  const b = await online(server, bob, "b");
  for (let i = 0; i < 7; i++) await say(a, b, bob.bare, `cap${i}`);
  const page = await queryOk(b, rsm({ max: 100 }));
  assert.equal(page.results.length, 5);
  assert.equal(page.complete, false);
  const rest = await queryOk(b, rsm({ max: 100, after: page.last }));
  assert.deepEqual(
    rest.results.map((r) => r.body),
    ["cap5", "cap6"],
  );
  assert.equal(rest.complete, true);
});

test("the client list shows which clients sync the archive", async () => {
  const bob = await newUser(server, "bob");
  const syncing = await sasl2Login(server.c2sPort, bob.name, bob.pw, { userAgent: { id: "mam-syncer", software: "Syncer" }, bind: "one" });
  const idle = await sasl2Login(server.c2sPort, bob.name, bob.pw, { userAgent: { id: "mam-idle", software: "Idle" }, bind: "two" });
  open.push(syncing.c, idle.c);
  // The manage-clients list, read directly: the <holdings/> element is Warden's extension.
  const list = async () => {
    const reply = await iq(idle.c, "get", `<list xmlns='${NS_MANAGE}'/>`);
    assert.equal(reply.attrs.type, "result", show(reply));
    const clients = child(reply, "clients", NS_MANAGE)!.children;
    return (id: string) => {
      const el = clients.find((c) => c.attrs.id === id);
      assert.ok(el, `client ${id} listed: ${show(reply)}`);
      return child(el, "holdings", NS_HOLDINGS)?.children ?? [];
    };
  };
  assert.deepEqual((await list())("client/mam-syncer"), [], "nothing held before a query");
  await queryOk(syncing.c);
  const holdingsOf = await list();
  const held = holdingsOf("client/mam-syncer");
  assert.equal(held.length, 1);
  assert.equal(held[0]!.attrs.kind, "archive");
  assert.match(held[0]!.text, /^syncs the message archive \(last \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/);
  assert.deepEqual(holdingsOf("client/mam-idle"), [], "a client that never queried holds nothing");
});

test("deleting the account deletes its archive and preferences", async () => {
  const alice = await newUser(server, "alice");
  const bob = await newUser(server, "bob");
  const a = await online(server, alice, "a");
  let b = await online(server, bob, "b");
  await iq(b, "set", `<prefs xmlns='${NS_MAM}' default='roster'/>`);
  await iq(b, "set", `<query xmlns='jabber:iq:roster'><item jid='${alice.bare}'/></query>`);
  await say(a, b, bob.bare, "before-deletion");
  assert.deepEqual(await bodies(b), ["before-deletion"]);
  const del = await server.cli(["user", "delete", bob.name]);
  assert.equal(del.code, 0, del.stderr);
  await b.waitClosed();
  await server.addUser(bob.name, bob.pw);
  b = await online(server, bob, "b");
  assert.deepEqual(await bodies(b), [], "the new account's archive is empty");
  const got = child(await iq(b, "get", `<prefs xmlns='${NS_MAM}'/>`), "prefs", NS_MAM)!;
  assert.equal(got.attrs.default, "always", "the preferences went too");
});

test("retention: messages older than archive_expires_after are deleted (at start, then hourly)", async () => {
  const s = await startServer({ archive_expires_after: 2 });
  try {
    const alice = await newUser(s, "alice");
    const bob = await newUser(s, "bob");
    const a = await online(s, alice, "a");
    const b = await online(s, bob, "b");
    await say(a, b, bob.bare, "old");
    assert.deepEqual(await bodies(b), ["old"]);
    a.close();
    b.close();
    await sleep(2100);
    await s.restart();
    const b2 = await online(s, bob, "b");
    assert.deepEqual(await bodies(b2), [], "expired at the next purge");
    b2.close();
  } finally {
    await s.stop();
  }
});
