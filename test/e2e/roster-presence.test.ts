// Roster management (RFC 6121 §2), presence subscriptions (§3) and presence (§4), end to end
// over sockets with the raw client: exact stanzas, error conditions, and the state that both
// accounts' rosters end up in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, elementsOf, show, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, ping, waitForElement } from "../helpers/xmpp-assert.js";

const NS_ROSTER = "jabber:iq:roster";

let server: TestServer;
const clients: RawClient[] = [];
let userCount = 0;
let idCount = 0;

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

interface User {
  username: string;
  password: string;
  bare: string;
}

async function newUser(prefix: string): Promise<User> {
  const username = `${prefix}${++userCount}`;
  const password = `pw-${username}-secret`;
  await server.addUser(username, password);
  return { username, password, bare: `${username}@localhost` };
}

interface Client {
  c: RawClient;
  jid: string;
  bare: string;
}

/** Logs in; by default fetches the roster and sends initial presence, like real clients. */
async function online(user: User, resource: string, opts: { roster?: boolean; presence?: boolean } = {}): Promise<Client> {
  const c = await RawClient.connect(server.c2sPort);
  clients.push(c);
  const jid = await c.login(user.username, user.password, resource);
  const cl = { c, jid, bare: user.bare };
  if (opts.roster !== false) await getRoster(cl);
  if (opts.presence !== false) {
    c.send("<presence/>");
    // The account's own available resources get the presence, this one included (RFC 6121 §4.2.2).
    await waitForElement(c, (el) => el.name === "presence" && el.attrs.from === jid && el.attrs.type === undefined, "the echo of initial presence");
  }
  return cl;
}

const nextId = () => `t${++idCount}`;

async function iq(cl: Client, type: "get" | "set", payload: string, to?: string): Promise<XmlEl> {
  const id = nextId();
  cl.c.send(`<iq type='${type}' id='${id}'${to ? ` to='${to}'` : ""}>${payload}</iq>`);
  return waitForElement(cl.c, (el) => el.name === "iq" && el.attrs.id === id, `the reply to ${id}`);
}

async function getRoster(cl: Client, ver?: string): Promise<XmlEl> {
  const res = await iq(cl, "get", `<query xmlns='${NS_ROSTER}'${ver !== undefined ? ` ver='${ver}'` : ""}/>`);
  assert.equal(res.attrs.type, "result", show(res));
  return res;
}

/** The roster as [jid, subscription, ask, name, groups] rows. */
async function rosterRows(cl: Client): Promise<Array<[string, string, string | undefined]>> {
  const q = child(await getRoster(cl), "query", NS_ROSTER)!;
  return q.children.map((i) => [i.attrs.jid!, i.attrs.subscription!, i.attrs.ask]);
}

function isPush(el: XmlEl, jid: string): boolean {
  return el.name === "iq" && el.attrs.type === "set" && child(el, "query", NS_ROSTER)?.children[0]?.attrs.jid === jid;
}

/** Waits for a roster push about `jid` whose item satisfies `pred`; returns the <item/>. */
async function waitPush(cl: Client, jid: string, pred: (item: XmlEl) => boolean = () => true, what = `a roster push for ${jid}`): Promise<XmlEl> {
  const push = await waitForElement(cl.c, (el) => isPush(el, jid) && pred(child(el, "query", NS_ROSTER)!.children[0]!), what);
  assert.equal(push.attrs.to, cl.jid, "a push is addressed to the interested resource");
  assert.ok(push.attrs.from === undefined || push.attrs.from === cl.bare, `a push comes from the account: ${show(push)}`);
  return child(push, "query", NS_ROSTER)!.children[0]!;
}

function presenceFrom(cl: Client, from: string, type?: string, what?: string): Promise<XmlEl> {
  return waitForElement(
    cl.c,
    (el) => el.name === "presence" && el.attrs.from === from && el.attrs.type === type,
    what ?? `presence type=${type ?? "available"} from ${from}`,
  );
}

/** Everything received since the last clear, after a round trip proved the server is done. */
async function settled(cl: Client): Promise<XmlEl[]> {
  await ping(cl.c);
  return elementsOf(cl.c.received);
}

/** Full mutual subscription between two online clients. */
async function subscribeBoth(a: Client, b: Client): Promise<void> {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    x.c.send(`<presence to='${y.bare}' type='subscribe'/>`);
    await presenceFrom(y, x.bare, "subscribe");
    y.c.send(`<presence to='${x.bare}' type='subscribed'/>`);
    await presenceFrom(x, y.bare, "subscribed");
  }
  a.c.clear();
  b.c.clear();
}

// --- roster management -----------------------------------------------------------------------

test("roster versioning: ver on results and pushes, empty result when up to date", async () => {
  const u = await newUser("ver");
  const contact = (await newUser("vc")).bare;
  const a = await online(u, "one", { presence: false });

  const first = child(await getRoster(a), "query", NS_ROSTER)!;
  assert.ok(first.attrs.ver !== undefined, `a roster result carries ver: ${show(first)}`);
  assert.equal(first.children.length, 0);

  const res = await iq(a, "set", `<query xmlns='${NS_ROSTER}'><item jid='${contact}' name='Pal'><group>Friends</group><group>Work</group></item></query>`);
  assert.equal(res.attrs.type, "result", show(res));
  const push = await waitForElement(a.c, (el) => isPush(el, contact), "the push");
  const pushVer = child(push, "query", NS_ROSTER)!.attrs.ver;
  assert.ok(pushVer !== undefined && pushVer !== first.attrs.ver, `the push carries the new ver: ${show(push)}`);
  const item = child(push, "query", NS_ROSTER)!.children[0]!;
  assert.deepEqual([item.attrs.name, item.attrs.subscription, item.attrs.ask], ["Pal", "none", undefined]);
  assert.deepEqual(
    item.children.map((g) => g.text),
    ["Friends", "Work"],
  );

  // Up to date: an empty result (no <query/>), RFC 6121 §2.6.3.
  const same = await getRoster(a, pushVer);
  assert.equal(same.children.length, 0, `expected an empty result: ${show(same)}`);
  // Stale: the whole roster with the current ver.
  const stale = child(await getRoster(a, first.attrs.ver), "query", NS_ROSTER)!;
  assert.equal(stale.attrs.ver, pushVer);
  assert.deepEqual(
    stale.children.map((i) => i.attrs.jid),
    [contact],
  );

  // Update: name and groups replaced; another interested resource gets the push too.
  const b = await online(u, "two", { presence: false });
  a.c.clear();
  await iq(a, "set", `<query xmlns='${NS_ROSTER}'><item jid='${contact}'><group>Work</group></item></query>`);
  for (const cl of [a, b]) {
    const it = await waitPush(cl, contact, (i) => i.children.length === 1);
    assert.equal(it.attrs.name, undefined);
    assert.deepEqual(
      it.children.map((g) => g.text),
      ["Work"],
    );
  }

  // Remove: a push with subscription='remove', and the roster is empty again.
  a.c.clear();
  b.c.clear();
  const rm = await iq(b, "set", `<query xmlns='${NS_ROSTER}'><item jid='${contact}' subscription='remove'/></query>`);
  assert.equal(rm.attrs.type, "result", show(rm));
  for (const cl of [a, b]) await waitPush(cl, contact, (i) => i.attrs.subscription === "remove");
  assert.deepEqual(await rosterRows(a), []);
});

test("roster set errors (RFC 6121 §2.3.3, §2.5.3) and another account's roster", async () => {
  const u = await newUser("err");
  const other = await newUser("other");
  const a = await online(u, "r", { presence: false });
  const q = (items: string) => `<query xmlns='${NS_ROSTER}'>${items}</query>`;
  const cases: Array<[string, string, string]> = [
    [q(`<item jid='x@localhost'/><item jid='y@localhost'/>`), "modify", "bad-request"],
    [q(`<item jid='x@localhost'><group>G</group><group>G</group></item>`), "modify", "bad-request"],
    [q(`<item jid='x@localhost'><group></group></item>`), "modify", "not-acceptable"],
    [q(`<item jid='x@localhost' name='${"n".repeat(2000)}'/>`), "modify", "not-acceptable"],
    [q(`<item jid='not a jid@@localhost'/>`), "modify", "jid-malformed"],
    [q(`<item/>`), "modify", "jid-malformed"],
    [q(``), "modify", "bad-request"],
    [q(`<item jid='nobody@localhost' subscription='remove'/>`), "cancel", "item-not-found"],
  ];
  for (const [payload, type, condition] of cases) {
    const id = nextId();
    a.c.send(`<iq type='set' id='${id}'>${payload}</iq>`);
    await expectStanzaError(a.c, "iq", id, type, condition);
  }
  // Nothing was stored by the failed sets.
  assert.deepEqual(await rosterRows(a), []);

  // Only the account itself may see or change its roster.
  for (const type of ["get", "set"]) {
    const id = nextId();
    a.c.send(`<iq type='${type}' id='${id}' to='${other.bare}'>${type === "get" ? `<query xmlns='${NS_ROSTER}'/>` : q(`<item jid='x@localhost'/>`)}</iq>`);
    await expectStanzaError(a.c, "iq", id, "auth", "forbidden");
  }
  // Addressed to the account's own bare JID is the same as no 'to'.
  const own = await iq(a, "get", `<query xmlns='${NS_ROSTER}'/>`, u.bare);
  assert.equal(own.attrs.type, "result", show(own));
});

// --- subscriptions ---------------------------------------------------------------------------

test("a subscription request to an offline contact is kept, hidden from its roster, and delivered at its next initial presence", async () => {
  const ua = await newUser("alice");
  const ub = await newUser("bob");
  const a = await online(ua, "home");

  a.c.send(`<presence to='${ub.bare}' type='subscribe'><status>it is me</status></presence>`);
  // The sender's roster gets the contact with a pending-out request (RFC 6121 §3.1.2).
  const pending = await waitPush(a, ub.bare);
  assert.deepEqual([pending.attrs.subscription, pending.attrs.ask], ["none", "subscribe"]);

  // Bob logs in: the request is not a roster item (RFC 6121 §3.1.3)…
  const b = await online(ub, "desk", { presence: false });
  assert.deepEqual(await rosterRows(b), []);
  // …and arrives with initial presence, from Alice's bare JID.
  b.c.clear();
  b.c.send("<presence/>");
  const req = await presenceFrom(b, ua.bare, "subscribe", "the stored subscription request");
  assert.equal(req.attrs.to, ub.bare);

  // Bob approves: both rosters change, Alice gets the approval and Bob's presence.
  a.c.clear();
  b.c.send(`<presence to='${ua.bare}' type='subscribed'/>`);
  const bItem = await waitPush(b, ua.bare);
  assert.deepEqual([bItem.attrs.subscription, bItem.attrs.ask], ["from", undefined]);
  await presenceFrom(a, ub.bare, "subscribed");
  const aItem = await waitPush(a, ub.bare, (i) => i.attrs.subscription === "to");
  assert.equal(aItem.attrs.ask, undefined);
  await presenceFrom(a, b.jid, undefined, "Bob's presence after the approval (RFC 6121 §3.1.5)");

  assert.deepEqual(await rosterRows(a), [[ub.bare, "to", undefined]]);
  assert.deepEqual(await rosterRows(b), [[ua.bare, "from", undefined]]);

  // Presence flows one way only: Bob sees nothing of Alice's presence changes.
  b.c.clear();
  a.c.clear();
  a.c.send("<presence><show>away</show></presence>");
  await presenceFrom(a, a.jid, undefined, "the echo of Alice's new presence");
  b.c.send("<presence><show>dnd</show></presence>");
  await waitForElement(a.c, (el) => el.name === "presence" && el.attrs.from === b.jid && child(el, "show")?.text === "dnd", "Bob's dnd presence");
  assert.ok(!(await settled(b)).some((el) => el.name === "presence" && el.attrs.from === a.jid), "Bob is not subscribed to Alice");
});

test("refusing a request: the requester's pending-out is cancelled and the refuser keeps no item", async () => {
  const ua = await newUser("req");
  const ub = await newUser("ref");
  const a = await online(ua, "r");
  const b = await online(ub, "r");

  a.c.send(`<presence to='${ub.bare}' type='subscribe'/>`);
  await presenceFrom(b, ua.bare, "subscribe");
  await waitPush(a, ub.bare, (i) => i.attrs.ask === "subscribe");
  a.c.clear();
  b.c.send(`<presence to='${ua.bare}' type='unsubscribed'/>`);
  await presenceFrom(a, ub.bare, "unsubscribed");
  const item = await waitPush(a, ub.bare, (i) => i.attrs.ask === undefined);
  assert.equal(item.attrs.subscription, "none");
  assert.deepEqual(await rosterRows(b), [], "a refused request leaves no item behind");
  assert.deepEqual(await rosterRows(a), [[ub.bare, "none", undefined]]);

  // A repeated request is delivered again, as a new one.
  b.c.clear();
  a.c.send(`<presence to='${ub.bare}' type='subscribe'/>`);
  await presenceFrom(b, ua.bare, "subscribe");
});

test("a subscription request to an account that does not exist is answered with unsubscribed", async () => {
  const ua = await newUser("lonely");
  const a = await online(ua, "r");
  a.c.send(`<presence to='ghost-${Date.now()}@localhost' type='subscribe'/>`);
  await waitForElement(a.c, (el) => el.name === "presence" && el.attrs.type === "unsubscribed" && el.attrs.from!.startsWith("ghost-"), "the unsubscribed");
});

test("mutual subscription: initial presence brings contacts' presence, changes and unavailable are broadcast", async () => {
  const ua = await newUser("ann");
  const ub = await newUser("ben");
  const a = await online(ua, "laptop");
  const b = await online(ub, "phone");
  await subscribeBoth(a, b);
  assert.deepEqual(await rosterRows(a), [[ub.bare, "both", undefined]]);
  assert.deepEqual(await rosterRows(b), [[ua.bare, "both", undefined]]);

  // A second resource of Ann comes online: it gets Ben's presence and that of Ann's other
  // resource; Ben and Ann's other resource get its presence.
  const a2 = await online(ua, "tablet", { roster: false, presence: false });
  a2.c.send("<presence><priority>5</priority><status>second</status></presence>");
  await presenceFrom(a2, b.jid);
  await presenceFrom(a2, a.jid);
  const seenByBen = await presenceFrom(b, a2.jid);
  assert.equal(child(seenByBen, "status")?.text, "second");
  assert.equal(seenByBen.attrs.to, ub.bare);
  await presenceFrom(a, a2.jid);

  // Unavailable is broadcast to contacts and the account's other resources.
  a.c.clear();
  b.c.clear();
  a2.c.send("<presence type='unavailable'><status>bye</status></presence>");
  const off = await presenceFrom(b, a2.jid, "unavailable");
  assert.equal(child(off, "status")?.text, "bye");
  await presenceFrom(a, a2.jid, "unavailable");

  // A dropped connection is an unavailable presence sent by the server.
  b.c.clear();
  a.c.close();
  await presenceFrom(b, a.jid, "unavailable", "the unavailable sent for Ann's dropped connection");
});

test("removing a roster item cancels both subscriptions (RFC 6121 §2.5.2)", async () => {
  const ua = await newUser("rma");
  const ub = await newUser("rmb");
  const a = await online(ua, "r");
  const b = await online(ub, "r");
  await subscribeBoth(a, b);

  const res = await iq(a, "set", `<query xmlns='${NS_ROSTER}'><item jid='${ub.bare}' subscription='remove'/></query>`);
  assert.equal(res.attrs.type, "result", show(res));
  await waitPush(a, ub.bare, (i) => i.attrs.subscription === "remove");
  // Ben receives the unsubscribe and the unsubscribed, Ann's unavailable, and his item ends at none.
  await presenceFrom(b, ua.bare, "unsubscribe");
  await presenceFrom(b, ua.bare, "unsubscribed");
  await presenceFrom(b, a.jid, "unavailable", "Ann's presence is withdrawn from Ben");
  await waitPush(b, ua.bare, (i) => i.attrs.subscription === "none");
  assert.deepEqual(await rosterRows(b), [[ua.bare, "none", undefined]]);
  assert.deepEqual(await rosterRows(a), []);

  // No more presence either way.
  a.c.clear();
  b.c.clear();
  a.c.send("<presence><show>chat</show></presence>");
  b.c.send("<presence><show>chat</show></presence>");
  await presenceFrom(a, a.jid);
  await presenceFrom(b, b.jid);
  assert.ok(!(await settled(a)).some((el) => el.attrs.from === b.jid));
  assert.ok(!(await settled(b)).some((el) => el.attrs.from === a.jid));
});

test("unsubscribe: the subscriber stops receiving presence and both items are updated", async () => {
  const ua = await newUser("una");
  const ub = await newUser("unb");
  const a = await online(ua, "r");
  const b = await online(ub, "r");
  await subscribeBoth(a, b);

  a.c.send(`<presence to='${ub.bare}' type='unsubscribe'/>`);
  await waitPush(a, ub.bare, (i) => i.attrs.subscription === "from");
  await presenceFrom(b, ua.bare, "unsubscribe");
  await waitPush(b, ua.bare, (i) => i.attrs.subscription === "to");
  await presenceFrom(a, b.jid, "unavailable", "Ben appears offline to Ann");

  // Ben still gets Ann's presence; Ann no longer gets Ben's.
  a.c.clear();
  b.c.clear();
  a.c.send("<presence><show>xa</show></presence>");
  await waitForElement(b.c, (el) => el.name === "presence" && el.attrs.from === a.jid && child(el, "show")?.text === "xa", "Ann's presence");
  b.c.send("<presence><show>xa</show></presence>");
  await presenceFrom(b, b.jid);
  assert.ok(!(await settled(a)).some((el) => el.attrs.from === b.jid));
});

// --- directed presence and probes ------------------------------------------------------------

test("directed presence reaches a non-contact, who gets unavailable when the sender leaves", async () => {
  const ua = await newUser("dira");
  const uc = await newUser("dirc");
  const a = await online(ua, "r");
  const c = await online(uc, "r");

  a.c.send(`<presence to='${c.jid}'><status>hello you</status></presence>`);
  const got = await presenceFrom(c, a.jid);
  assert.equal(child(got, "status")?.text, "hello you");

  // A broadcast presence does not go to a directed-presence target…
  c.c.clear();
  a.c.send("<presence><show>away</show></presence>");
  await presenceFrom(a, a.jid);
  assert.ok(!(await settled(c)).some((el) => el.attrs.from === a.jid));
  // …but the unavailable at the end of the session does (RFC 6121 §4.6.3).
  a.c.close();
  await presenceFrom(c, a.jid, "unavailable");
});

test("probes: answered for a subscriber, nothing revealed otherwise", async () => {
  const ua = await newUser("pra");
  const ub = await newUser("prb");
  const ux = await newUser("prx");
  const a = await online(ua, "r");
  const b = await online(ub, "r");
  const x = await online(ux, "r");
  await subscribeBoth(a, b);

  a.c.send(`<presence to='${ub.bare}' type='probe'/>`);
  const ans = await presenceFrom(a, b.jid);
  assert.equal(ans.attrs.to, a.jid);

  // Ben is offline for a subscriber when he has no available resource.
  b.c.send("<presence type='unavailable'/>");
  await presenceFrom(a, b.jid, "unavailable");
  a.c.clear();
  a.c.send(`<presence to='${ub.bare}' type='probe'/>`);
  await presenceFrom(a, ub.bare, "unavailable", "the unavailable answer to the probe");

  // A non-subscriber learns nothing: no presence of Ben's, no error that tells him apart.
  b.c.send("<presence/>");
  await presenceFrom(a, b.jid);
  x.c.send(`<presence to='${ub.bare}' type='probe'/>`);
  const seen = await settled(x);
  assert.ok(!seen.some((el) => el.attrs.from?.startsWith(ub.bare)), `nothing revealed to a non-subscriber: ${seen.map(show).join()}`);
});

test("presence without 'to' from a session that never fetched the roster still works; no push reaches it", async () => {
  const ua = await newUser("np");
  const contact = (await newUser("npc")).bare;
  const a = await online(ua, "interested");
  const quiet = await online(ua, "quiet", { roster: false });
  await iq(a, "set", `<query xmlns='${NS_ROSTER}'><item jid='${contact}'/></query>`);
  await waitPush(a, contact);
  const seen = await settled(quiet);
  assert.ok(!seen.some((el) => isPush(el, contact)), `a resource that never asked for the roster gets no push: ${seen.map(show).join()}`);
});
