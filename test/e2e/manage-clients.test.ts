// Client management against the real server, over raw sockets: what each kind of login leaves
// in the list (legacy SASL + bind, SASL2 with and without Bind2, FAST), the exact wire format of
// `xmpp:prosody.im/protocol/manage-clients` and XEP-0494 `urn:xmpp:cam:0`, revoking (connected
// clients are closed with not-authorized and lose their FAST tokens; a revoked client id stays
// out until the password changes), enforce_client_ids, and all of it across a restart.
// Reference: ../shared/reference/prosody-client-management.md §1 and checklist §7.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { NS_SASL, NS_STREAM, NS_STREAMS, child, parseServerOutput, show, type XmlEl } from "../helpers/xml.js";
import { expectStreamError, ping, waitForElement } from "../helpers/xmpp-assert.js";
import { NS_SASL2, assertSasl2Failure, authenticateXml, expectSasl2Success, plain2, plainInitialResponse, sasl2Stream } from "../helpers/sasl2-client.js";
import {
  NS_CAM,
  NS_MANAGE,
  assertClientNotFound,
  assertPasswordResetRequired,
  assertStamp,
  assertStanzaError,
  byId,
  fastLogin,
  getById,
  iq,
  legacyLogin,
  listClients,
  nextId,
  passwd,
  revokeClient,
  sasl2Login,
  sasl2LoginFails,
  type ListedClient,
} from "../helpers/manage-clients.js";

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

function keep<T extends { c: RawClient }>(x: T): T {
  open.push(x.c);
  return x;
}

async function newUser(prefix: string): Promise<{ name: string; pw: string; jid: string }> {
  const name = `${prefix}${++users}`;
  const pw = `pw-${name}-secret`;
  await server.addUser(name, pw);
  return { name, pw, jid: `${name}@localhost` };
}

const port = () => server.c2sPort;
const reEsc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const ids = (cs: ListedClient[]) => cs.map((c) => c.id);

/** The SASL2 refusal of a revoked client (no http_external_url on the test server). */
const REFUSED = "Access for this client was revoked. You can allow it again on your account page";

/** The stream error's <text/>. */
function streamErrorText(err: XmlEl): string | undefined {
  return child(err, "text", NS_STREAMS)?.text;
}

/** A revoked client's stream ends with not-authorized and a text naming it (`label`). */
async function expectRevokedStream(c: RawClient, what: string, label: string): Promise<void> {
  const err = await expectStreamError(c, "not-authorized").catch((e: Error) => {
    throw new Error(`${what}: ${e.message}`);
  });
  assert.equal(streamErrorText(err), `Access for ${label} was revoked by a client of your account`, `${what}: the stream error text: ${show(err)}`);
}

describe("listing", () => {
  test("a legacy client (RFC 6120 SASL + bind) is listed as client/<12 base64url chars>, in the exact wire format", async () => {
    const u = await newUser("legacy");
    const t0 = Date.now();
    const { c } = keep(await legacyLogin(port(), u.name, u.pw, "desk"));
    const t1 = Date.now();
    const { clients, raw } = await listClients(c);
    assert.equal(clients.length, 1, `one client: ${raw}`);
    const cl = clients[0]!;
    assert.match(cl.id, /^client\/[A-Za-z0-9_-]{12}$/, "a legacy client's id is client/ + 12 base64url characters");
    assert.equal(cl.connected, "true");
    assert.equal(cl.type, "session");
    assert.deepEqual(cl.children, ["first-seen", "last-seen", "auth", "user-agent"], `children in order: ${raw}`);
    assert.deepEqual(cl.auth, ["password"], `a PLAIN login shows <auth><password/></auth>: ${raw}`);
    assert.deepEqual(cl.uaChildren, [], `a legacy client has an empty <user-agent/>: ${raw}`);
    const first = assertStamp(cl.firstSeen, t0, t1, "first-seen");
    const last = assertStamp(cl.lastSeen, t0, t1, "last-seen");
    assert.ok(first <= last, "first-seen <= last-seen");
    // Serialisation: <clients xmlns=…>, then <client id connected type> with exactly these
    // attributes in this order and no xmlns of its own; the children inherit the namespace.
    assert.match(raw, new RegExp(`<clients xmlns=(['"])${reEsc(NS_MANAGE)}\\1>`), raw);
    assert.match(
      raw,
      new RegExp(
        `<client id=(['"])${reEsc(cl.id)}\\1 connected=(['"])true\\2 type=(['"])session\\3>` +
          `<first-seen>${reEsc(cl.firstSeen)}</first-seen><last-seen>${reEsc(cl.lastSeen)}</last-seen>` +
          `<auth><password/></auth><user-agent(/>|></user-agent>)</client>`,
      ),
      `exact <client/> serialisation: ${raw}`,
    );
    // Addressed to the account's own bare JID: the same answer.
    const again = await listClients(c, NS_MANAGE, u.jid);
    assert.deepEqual(ids(again.clients), [cl.id]);
  });

  test("a SASL2 client is listed as client/<user-agent id> verbatim with its software and device; a FAST token adds <fast/>; FAST logins keep it one client", async () => {
    const u = await newUser("sasl2");
    const clientId = "d4565fa7-4d72-4749-b3d3-740edbf87770";
    const ua = { id: clientId, software: "Gajim", device: "Juliet's laptop" };
    const t0 = Date.now();
    const a = await sasl2Login(port(), u.name, u.pw, { userAgent: ua, bind: "laptop" });
    const t1 = Date.now();
    assert.equal(a.token, undefined, "no token without <request-token/>");
    let { clients, raw } = await listClients(a.c);
    assert.deepEqual(ids(clients), [`client/${clientId}`], raw);
    let cl = clients[0]!;
    assert.equal(cl.connected, "true");
    assert.equal(cl.type, "session");
    assert.deepEqual(cl.children, ["first-seen", "last-seen", "auth", "user-agent"], raw);
    assert.deepEqual(cl.auth, ["password"], `password only, no FAST token yet: ${raw}`);
    assert.deepEqual(cl.uaChildren, ["software", "device"], raw);
    assert.equal(cl.software, "Gajim");
    assert.deepEqual(cl.softwareAttrs, {}, "no id or version on <software/> for a SASL2 client");
    assert.equal(cl.device, "Juliet's laptop");
    const firstSeen = cl.firstSeen;
    assertStamp(firstSeen, t0, t1, "first-seen");
    assert.match(raw, new RegExp(`<client id=(['"])client/${reEsc(clientId)}\\1 connected=(['"])true\\2 type=(['"])session\\3>`), raw);
    a.c.close();

    // Again with <request-token/>: it now holds a FAST token.
    const b = await sasl2Login(port(), u.name, u.pw, { userAgent: ua, bind: "laptop", requestToken: true });
    assert.ok(b.token?.startsWith("secret-token:fast-"), `a FAST token in <success/>: ${show(b.success)}`);
    ({ clients, raw } = await listClients(b.c));
    assert.deepEqual(ids(clients), [`client/${clientId}`], `still one client: ${raw}`);
    cl = clients[0]!;
    assert.deepEqual(cl.auth, ["password", "fast"], `<auth><password/><fast/></auth>: ${raw}`);
    assert.equal(cl.firstSeen, firstSeen, "first-seen is kept");
    b.c.close();

    // A FAST login, claiming another device: same client, same user agent (captured once).
    const t2 = Date.now();
    const f = keep(await fastLogin(port(), u.name, b.token!, { id: clientId, software: "Gajim", device: "Renamed" }, { bind: "laptop" }));
    assert.equal(f.result.name, "success", `FAST login: ${show(f.result)}`);
    await waitForElement(f.c, (el) => el.name === "features" && el.ns === NS_STREAM, "the features after FAST success");
    ({ clients, raw } = await listClients(f.c));
    assert.deepEqual(ids(clients), [`client/${clientId}`], `still one client after FAST: ${raw}`);
    cl = clients[0]!;
    assert.equal(cl.connected, "true");
    assert.deepEqual(cl.auth, ["password", "fast"], raw);
    assert.equal(cl.firstSeen, firstSeen, "first-seen is kept");
    assertStamp(cl.lastSeen, t2, Date.now(), "last-seen after the FAST login");
    assert.equal(cl.device, "Juliet's laptop", "the device of the first login stays");
  });

  test("a SASL2 client that binds the old way (RFC 6120 iq) is still tracked by its client id, once; so is one that never binds", async () => {
    const u = await newUser("oldbind");
    const a = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "old-binder", software: "OldBind" }, bind: false }));
    assert.ok(a.jid?.startsWith(`${u.jid}/`), `bound with an iq: ${a.jid}`);
    let { clients, raw } = await listClients(a.c);
    assert.deepEqual(ids(clients), ["client/old-binder"], `one client, not also a legacy record: ${raw}`);
    assert.equal(clients[0]!.connected, "true");
    assert.deepEqual(clients[0]!.auth, ["password"]);
    assert.equal(clients[0]!.software, "OldBind");

    // Authenticated with SASL2 but no resource bound (yet): connected all the same.
    keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "never-binds" }, bind: false, legacyBind: false }));
    ({ clients, raw } = await listClients(a.c));
    assert.deepEqual(ids(clients).sort(), ["client/never-binds", "client/old-binder"], raw);
    const nb = getById(clients, "client/never-binds");
    assert.equal(nb.connected, "true", raw);
    assert.deepEqual(nb.auth, ["password"], raw);
    assert.deepEqual(nb.uaChildren, [], "no software or device given: empty <user-agent/>");
  });

  test("each client is listed exactly once, oldest last-seen first; a legacy client is matched by its resource", async () => {
    const u = await newUser("once");
    // Legacy "r1" twice: one record. Legacy "r2": another.
    const l1 = await legacyLogin(port(), u.name, u.pw, "r1");
    const legacyR1 = (await listClients(l1.c)).clients[0]!.id;
    l1.c.close();
    const l1b = keep(await legacyLogin(port(), u.name, u.pw, "r1"));
    const afterR1 = (await listClients(l1b.c)).clients;
    assert.deepEqual(ids(afterR1), [legacyR1], "a second login binding the same resource updates the same legacy record");
    keep(await legacyLogin(port(), u.name, u.pw, "r2"));
    // SASL2 client A: Bind2 + token, then a FAST login; SASL2 client B: binds the old way.
    const a = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "client-a", software: "A" }, bind: "a", requestToken: true });
    a.c.close();
    const fa = keep(await fastLogin(port(), u.name, a.token!, { id: "client-a" }, { bind: "a" }));
    assert.equal(fa.result.name, "success", show(fa.result));
    const b = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "client-b", software: "B" }, bind: false }));
    const { clients, raw } = await listClients(b.c);
    const listed = ids(clients);
    assert.equal(new Set(listed).size, listed.length, `no client listed twice: ${raw}`);
    const legacyR2 = listed.find((id) => id !== legacyR1 && /^client\/[A-Za-z0-9_-]{12}$/.test(id));
    assert.ok(legacyR2, `the r2 legacy client: ${raw}`);
    assert.deepEqual([...listed].sort(), [legacyR1, legacyR2, "client/client-a", "client/client-b"].sort(), raw);
    for (const cl of clients) assert.equal(cl.connected, "true", `${cl.id} is connected: ${raw}`);
    assert.deepEqual(getById(clients, "client/client-a").auth, ["password", "fast"]);
    const stamps = clients.map((c) => Date.parse(c.lastSeen));
    assert.deepEqual(
      stamps,
      [...stamps].sort((x, y) => x - y),
      `ordered by last-seen, ascending: ${raw}`,
    );
  });

  test("XEP-0494 (urn:xmpp:cam:0): the same clients, each with <permission status='unrestricted'/>", async () => {
    const u = await newUser("cam");
    const a = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "cam-client", software: "Cammy", device: "Phone" }, requestToken: true }));
    keep(await legacyLogin(port(), u.name, u.pw, "legacy"));
    const manage = await listClients(a.c, NS_MANAGE);
    const { clients, raw } = await listClients(a.c, NS_CAM);
    assert.deepEqual(ids(clients), ids(manage.clients), "the same clients in both namespaces");
    assert.match(raw, new RegExp(`<clients xmlns=(['"])${reEsc(NS_CAM)}\\1>`), raw);
    for (const cl of clients) {
      assert.equal(cl.permission, "unrestricted", `${cl.id}: <permission status='unrestricted'/>: ${raw}`);
      assert.deepEqual(
        cl.children.filter((n) => n !== "permission"),
        ["first-seen", "last-seen", "auth", "user-agent"],
        raw,
      );
      assert.equal(cl.children.filter((n) => n === "permission").length, 1, raw);
      const m = manage.clients.find((x) => x.id === cl.id)!;
      assert.deepEqual(
        [cl.connected, cl.type, cl.auth, cl.software, cl.device, cl.firstSeen],
        [m.connected, m.type, m.auth, m.software, m.device, m.firstSeen],
      );
    }
    for (const m of manage.clients) assert.equal(m.permission, undefined, "no <permission/> in the Prosody namespace");
    assert.deepEqual(getById(clients, "client/cam-client").auth, ["password", "fast"]);
  });

  test("the account advertises both namespaces in disco#info on its bare JID", async () => {
    const u = await newUser("disco");
    const { c } = keep(await legacyLogin(port(), u.name, u.pw));
    const id = nextId("disco");
    const { reply } = await iq(c, id, `<iq type='get' id='${id}' to='${u.jid}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    assert.equal(reply.attrs.type, "result", show(reply));
    const vars = reply.children[0]!.children.filter((f) => f.name === "feature").map((f) => f.attrs.var);
    assert.ok(vars.includes(NS_MANAGE), `${NS_MANAGE} advertised: ${show(reply)}`);
    assert.ok(vars.includes(NS_CAM), `${NS_CAM} advertised: ${show(reply)}`);
  });

  test("list or revoke addressed to another user's bare JID: service-unavailable, and nothing is revoked", async () => {
    const u = await newUser("nosy");
    const v = await newUser("victim");
    const victim = keep(await sasl2Login(port(), v.name, v.pw, { userAgent: { id: "victim-phone" } }));
    const { c } = keep(await legacyLogin(port(), u.name, u.pw));
    for (const ns of [NS_MANAGE, NS_CAM]) {
      const id = nextId("other");
      const { reply } = await iq(c, id, `<iq type='get' id='${id}' to='${v.jid}'><list xmlns='${ns}'/></iq>`);
      assertStanzaError(reply, "cancel", "service-unavailable", `list in ${ns} to another account`);
      assert.equal(
        reply.children.some((ch) => ch.name === "clients"),
        false,
        `no list of the other account's clients: ${show(reply)}`,
      );
      const r = await revokeClient(c, "client/victim-phone", ns, v.jid);
      assertStanzaError(r.reply, "cancel", "service-unavailable", `revoke in ${ns} to another account`);
    }
    // To a bare JID without an account: the same answer.
    const id = nextId("ghost");
    const { reply } = await iq(c, id, `<iq type='get' id='${id}' to='nobody-here@localhost'><list xmlns='${NS_MANAGE}'/></iq>`);
    assertStanzaError(reply, "cancel", "service-unavailable", "list to a JID without an account");
    await ping(victim.c);
    assert.equal(victim.c.closed, false);
    const { clients } = await listClients(victim.c);
    assert.deepEqual(ids(clients), ["client/victim-phone"]);
  });
});

describe("revoking", () => {
  test("unknown ids and malformed selectors: item-not-found with the text 'Client not found', in both namespaces", async () => {
    const u = await newUser("notfound");
    const { c } = keep(await legacyLogin(port(), u.name, u.pw));
    const selectors = [
      "client/nope",
      "foo/bar",
      "nosslash",
      undefined,
      "",
      "client/",
      "/client",
      "grant/nope",
      "grant/",
      "software/Nope",
      "software/",
      "CLIENT/x",
    ];
    for (const ns of [NS_MANAGE, NS_CAM]) {
      for (const sel of selectors) {
        const { reply } = await revokeClient(c, sel, ns);
        assertClientNotFound(reply, `revoke ${sel === undefined ? "(no id)" : `'${sel}'`} in ${ns}`);
      }
    }
    // Its own (legacy) client's id with a wrong case is someone else: not found either.
    const own = (await listClients(c)).clients[0]!.id;
    const flipped = "client/" + [...own.slice("client/".length)].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join("");
    if (flipped !== own) assertClientNotFound((await revokeClient(c, flipped)).reply, `revoke ${flipped} (the case-changed id of ${own})`);
    assert.equal(c.closed, false);
  });

  test("revoking a connected SASL2 client: its stream ends with not-authorized, its FAST token is refused, the answer is password-reset-required; its id stays out until the password changes", async () => {
    const u = await newUser("revoke");
    const t0 = Date.now();
    const phone = await sasl2Login(port(), u.name, u.pw, {
      userAgent: { id: "phone", software: "Conversations", device: "Pixel" },
      bind: "phone",
      requestToken: true,
    });
    const t1 = Date.now();
    assert.ok(phone.token, "the phone holds a FAST token");
    const admin = keep(await legacyLogin(port(), u.name, u.pw, "admin"));
    const before = getById((await listClients(admin.c)).clients, "client/phone");
    assertStamp(before.firstSeen, t0, t1, "phone first-seen");

    const { reply } = await revokeClient(admin.c, "client/phone");
    assertPasswordResetRequired(reply, NS_MANAGE, "revoking a connected client that used a password");
    await expectRevokedStream(phone.c, "the revoked client's stream", "Conversations on Pixel");

    // Gone from the list; the revoker is fine.
    let { clients, raw } = await listClients(admin.c);
    assert.equal(byId(clients, "client/phone"), undefined, `the revoked client is no longer listed: ${raw}`);
    // Its FAST token is dead.
    const f = keep(await fastLogin(port(), u.name, phone.token, { id: "phone" }));
    assertSasl2Failure(f.result, "not-authorized");
    // The password does not bring this client id back.
    const p = keep(await sasl2LoginFails(port(), u.name, u.pw, { id: "phone", software: "Conversations" }));
    assertSasl2Failure(p.failure, "not-authorized", REFUSED);
    assert.equal(p.c.closed, false, "a SASL2 failure leaves the stream open");
    // Other clients of the account are not affected.
    keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "tablet" } }));
    // Revoking it again: the record is stale, and the answer is a proper not-found.
    assertClientNotFound((await revokeClient(admin.c, "client/phone")).reply, "revoking an already revoked client");

    // A password change lets it back in, as the same client (first-seen kept).
    await passwd(server, u.name, u.pw + "-new");
    await expectStreamError(admin.c, "reset");
    const back = keep(await sasl2Login(port(), u.name, u.pw + "-new", { userAgent: { id: "phone", software: "Other" }, bind: "phone" }));
    ({ clients, raw } = await listClients(back.c));
    const again = getById(clients, "client/phone");
    assert.equal(again.connected, "true");
    assert.deepEqual(again.auth, ["password"], `the new password login only: ${raw}`);
    assert.equal(again.firstSeen, before.firstSeen, "the record is kept across revocation (first-seen)");
    assert.equal(again.software, "Conversations", "the user agent of the first login");
    // The token from before the revocation stays dead; it was also issued before the last
    // password change, which XEP-0484 and the reference answer with credentials-expired (§7 item 51).
    const f2 = keep(await fastLogin(port(), u.name, phone.token, { id: "phone" }));
    assertSasl2Failure(f2.result, "credentials-expired");
  });

  test("revoking a connected legacy client closes it with not-authorized; the answer is password-reset-required", async () => {
    const u = await newUser("revlegacy");
    const victim = await legacyLogin(port(), u.name, u.pw, "old-client");
    const admin = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "admin-app" } }));
    const { clients } = await listClients(admin.c);
    const legacy = clients.find((c) => c.id !== "client/admin-app");
    assert.ok(legacy, `the legacy client is listed: ${JSON.stringify(ids(clients))}`);
    const { reply } = await revokeClient(admin.c, legacy.id);
    assertPasswordResetRequired(reply, NS_MANAGE, "revoking a connected legacy client");
    await expectRevokedStream(victim.c, "the legacy client's stream", "the client “old-client”");
    assert.deepEqual(ids((await listClients(admin.c)).clients), ["client/admin-app"]);
  });

  test("revoking a disconnected password client: password-reset-required (in the XEP-0494 namespace too); a record made stale by a password change is not found", async () => {
    const u = await newUser("revoff");
    const gone = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "gone", software: "Gone" } });
    gone.c.close();
    const gone2 = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "gone2" } });
    gone2.c.close();
    const admin = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "admin" } }));
    // Wait until the server has seen both go.
    let clients: ListedClient[] = [];
    for (let i = 0; i < 50; i++) {
      clients = (await listClients(admin.c)).clients;
      if (getById(clients, "client/gone").connected === "false" && getById(clients, "client/gone2").connected === "false") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(getById(clients, "client/gone").connected, "false", "a closed client is listed as not connected");
    assert.deepEqual(getById(clients, "client/gone").auth, ["password"], "…and still has access through the password");
    assertPasswordResetRequired((await revokeClient(admin.c, "client/gone")).reply, NS_MANAGE, "revoking a disconnected client");
    assertPasswordResetRequired((await revokeClient(admin.c, "client/gone2", NS_CAM)).reply, NS_CAM, "revoking in urn:xmpp:cam:0");
    const listed = ids((await listClients(admin.c)).clients);
    assert.deepEqual(listed, ["client/admin"], "revoked clients are no longer listed");
    assertSasl2Failure((await sasl2LoginFails(port(), u.name, u.pw, { id: "gone" })).failure, "not-authorized", REFUSED);

    // Another password client, then a password change: its record remains but gives no access.
    const stale = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "stale" } });
    stale.c.close();
    await passwd(server, u.name, u.pw + "2");
    await expectStreamError(admin.c, "reset");
    const admin2 = keep(await sasl2Login(port(), u.name, u.pw + "2", { userAgent: { id: "admin" } }));
    assert.deepEqual(ids((await listClients(admin2.c)).clients), ["client/admin"], "password-only clients vanish after a password change");
    assertClientNotFound((await revokeClient(admin2.c, "client/stale")).reply, "revoking a client whose access ended with the password change");
    assert.equal(admin2.c.closed, false);
  });

  test("software/NAME revokes the first listed client with that software; software/NAME/VERSION needs a version (SASL2 clients have none)", async () => {
    const u = await newUser("software");
    const alpha = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "alpha-1", software: "Alpha" }, bind: "alpha" }));
    const beta = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "beta-1", software: "Beta" }, bind: "beta" });
    const s1 = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "same-1", software: "Same" }, bind: "s1" });
    s1.c.close();
    const s2 = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "same-2", software: "Same" }, bind: "s2" });
    s2.c.close();
    const admin = keep(await legacyLogin(port(), u.name, u.pw, "admin"));

    assertClientNotFound((await revokeClient(admin.c, "software/Beta/1.0")).reply, "software/NAME/VERSION for a client without a version");
    assertClientNotFound((await revokeClient(admin.c, "software/Gamma")).reply, "software/ of no client");
    assertClientNotFound((await revokeClient(admin.c, "software/beta")).reply, "software/ is case-sensitive");

    assertPasswordResetRequired((await revokeClient(admin.c, "software/Beta")).reply, NS_MANAGE, "software/Beta");
    await expectRevokedStream(beta.c, "the Beta client's stream", "Beta");
    await ping(alpha.c);

    const before = ids((await listClients(admin.c)).clients).filter((id) => id.startsWith("client/same-"));
    assert.deepEqual([...before].sort(), ["client/same-1", "client/same-2"]);
    assertPasswordResetRequired((await revokeClient(admin.c, "software/Same")).reply, NS_MANAGE, "software/Same");
    const { clients, raw } = await listClients(admin.c);
    const after = ids(clients).filter((id) => id.startsWith("client/same-"));
    assert.deepEqual(after, [before[1]], `only the first listed 'Same' client was revoked: ${raw}`);
    assert.ok(byId(clients, "client/alpha-1"), "Alpha is untouched");
    assert.equal(byId(clients, "client/beta-1"), undefined, "Beta is gone");
  });

  test("a hibernating (XEP-0198) session is listed as connected; revoking its client ends it: it cannot be resumed", async () => {
    const u = await newUser("hibernate");
    const NS_SM = "urn:xmpp:sm:3";
    // A legacy client with resumable SM, and a SASL2 client with SM enabled through Bind2.
    const legacy = await legacyLogin(port(), u.name, u.pw, "sm-legacy");
    legacy.c.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await waitForElement(legacy.c, (el) => el.name === "enabled" && el.ns === NS_SM, "<enabled/>");
    const legacyPrevid = enabled.attrs.id!;
    assert.ok(legacyPrevid, show(enabled));
    // And one without SM, for comparison.
    const modern = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "sm-modern" }, bind: "no-sm" });
    modern.c.close();
    // Bind2 with <enable/>: the resumption id comes in <bound/>.
    const { c: m } = await sasl2Stream(port());
    m.send(
      authenticateXml("PLAIN", plainInitialResponse(u.name, u.pw), {
        userAgent: { id: "sm-sasl2" },
        extra: `<bind xmlns='urn:xmpp:bind:0'><tag>sm</tag><enable xmlns='${NS_SM}' resume='true'/></bind>`,
      }),
    );
    const { success } = await expectSasl2Success(m);
    const bound = success.children.find((ch) => ch.name === "bound")!;
    const sasl2Previd = bound?.children.find((ch) => ch.name === "enabled" && ch.ns === NS_SM)?.attrs.id;
    assert.ok(sasl2Previd, `SM enabled in <bound/>: ${show(success)}`);

    // Both connections drop without a goodbye: the sessions hibernate.
    legacy.c.close();
    m.close();
    const admin = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "sm-admin" } }));
    let clients: ListedClient[] = [];
    for (let i = 0; i < 30; i++) {
      clients = (await listClients(admin.c)).clients;
      // The client without SM shows up as not connected once the server has seen it go.
      if (byId(clients, "client/sm-modern")?.connected === "false") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const legacyEntry = clients.find((c) => /^client\/[A-Za-z0-9_-]{12}$/.test(c.id));
    assert.ok(legacyEntry, `the legacy client is listed: ${JSON.stringify(ids(clients))}`);
    assert.equal(legacyEntry.connected, "true", "a hibernating legacy session counts as connected");
    assert.equal(getById(clients, "client/sm-sasl2").connected, "true", "a hibernating SASL2 session counts as connected");
    assert.equal(getById(clients, "client/sm-modern").connected, "false", "a closed session without SM is not connected");

    assertPasswordResetRequired((await revokeClient(admin.c, legacyEntry.id)).reply, NS_MANAGE, "revoking a hibernating legacy client");
    assertPasswordResetRequired((await revokeClient(admin.c, "client/sm-sasl2")).reply, NS_MANAGE, "revoking a hibernating SASL2 client");

    // Resuming the legacy session (after a fresh legacy login, which a legacy client can still do): refused.
    const r = await RawClient.connect(port());
    open.push(r);
    await r.startTls();
    r.openStream();
    await r.waitFor(/<\/stream:features>/);
    r.clear();
    r.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${u.name}\0${u.pw}`).toString("base64")}</auth>`);
    await r.waitFor(/<success/);
    r.clear();
    r.openStream();
    await r.waitFor(/<\/stream:features>/);
    r.clear();
    r.send(`<resume xmlns='${NS_SM}' h='0' previd='${legacyPrevid}'/>`);
    const failed = await waitForElement(r, (el) => el.ns === NS_SM && (el.name === "failed" || el.name === "resumed"), "the answer to <resume/>");
    assert.equal(failed.name, "failed", `the revoked legacy session was resumed: ${show(failed)}`);
    assert.equal(failed.children[0]?.name, "item-not-found", show(failed));

    // Resuming the SASL2 session from another client id: refused too (the session is gone).
    const { c: m2 } = await sasl2Stream(port());
    open.push(m2);
    m2.send(
      authenticateXml("PLAIN", plainInitialResponse(u.name, u.pw), {
        userAgent: { id: "sm-thief" },
        extra: `<resume xmlns='${NS_SM}' h='0' previd='${sasl2Previd}'/>`,
      }),
    );
    const s2 = await expectSasl2Success(m2);
    assert.equal(
      s2.success.children.some((ch) => ch.name === "resumed"),
      false,
      `the revoked SASL2 session was resumed: ${show(s2.success)}`,
    );
    assert.ok(
      s2.success.children.some((ch) => ch.name === "failed" && ch.ns === NS_SM),
      `<failed/> in <success/>: ${show(s2.success)}`,
    );
  });

  test("a session that revokes its own client is closed with not-authorized", async () => {
    const u = await newUser("selfrevoke");
    const me = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "me" } });
    const id = nextId("self");
    me.c.send(`<iq type='set' id='${id}'><revoke xmlns='${NS_MANAGE}' id='client/me'/></iq>`);
    await expectRevokedStream(me.c, "the self-revoking session", "this client");
    assertSasl2Failure((await sasl2LoginFails(port(), u.name, u.pw, { id: "me" })).failure, "not-authorized", REFUSED);
  });
});

describe("restart", () => {
  test("records and revocations persist across a restart: clients listed with connected=false, a revoked client stays refused, FAST tokens still work", async () => {
    const u = await newUser("persist");
    const legacy = await legacyLogin(port(), u.name, u.pw, "persist");
    const phone = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "persist-phone", software: "Phoney", device: "P1" }, requestToken: true });
    const doomed = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "doomed", software: "Doomed" } });
    const lister = await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "lister" } });
    assertPasswordResetRequired((await revokeClient(lister.c, "client/doomed")).reply, NS_MANAGE, "revoke before the restart");
    await expectRevokedStream(doomed.c, "doomed", "Doomed");
    const beforeList = (await listClients(lister.c)).clients;
    assert.deepEqual(
      [...ids(beforeList)].sort(),
      ["client/lister", "client/persist-phone", beforeList.find((c) => /^client\/[A-Za-z0-9_-]{12}$/.test(c.id))?.id].sort(),
    );

    await server.restart();
    for (const c of [legacy.c, phone.c, lister.c]) await c.waitClosed(10_000);

    const lister2 = keep(await sasl2Login(port(), u.name, u.pw, { userAgent: { id: "lister" } }));
    const { clients, raw } = await listClients(lister2.c);
    assert.deepEqual([...ids(clients)].sort(), [...ids(beforeList)].sort(), `the same clients after the restart: ${raw}`);
    for (const b of beforeList) {
      const a = getById(clients, b.id);
      if (b.id === "client/lister") {
        assert.equal(a.connected, "true");
        continue;
      }
      assert.equal(a.connected, "false", `${b.id} is not connected after the restart`);
      assert.deepEqual(
        [a.type, a.firstSeen, a.lastSeen, a.auth, a.software, a.device],
        [b.type, b.firstSeen, b.lastSeen, b.auth, b.software, b.device],
        `${b.id} unchanged: ${raw}`,
      );
    }
    assert.deepEqual(getById(clients, "client/persist-phone").auth, ["password", "fast"]);
    // The revoked client stays out.
    assertSasl2Failure((await sasl2LoginFails(port(), u.name, u.pw, { id: "doomed" })).failure, "not-authorized", REFUSED);
    assertClientNotFound((await revokeClient(lister2.c, "client/doomed")).reply, "the revoked client after the restart");
    // The FAST token issued before the restart works.
    const f = keep(await fastLogin(port(), u.name, phone.token!, { id: "persist-phone" }));
    assert.equal(f.result.name, "success", `FAST after the restart: ${show(f.result)}`);
    // Revoking it after the restart: closed, token dead.
    assertPasswordResetRequired((await revokeClient(lister2.c, "client/persist-phone")).reply, NS_MANAGE, "revoke after the restart");
    await expectRevokedStream(f.c, "the FAST session revoked after the restart", "Phoney on P1");
    const f2 = keep(await fastLogin(port(), u.name, phone.token!, { id: "persist-phone" }));
    assertSasl2Failure(f2.result, "not-authorized");
  });
});

describe("enforce_client_ids", () => {
  let s: TestServer;
  const clients: RawClient[] = [];
  before(async () => {
    s = await startServer();
    await s.addUser("eve", "eve-secret");
  });
  after(async () => {
    for (const c of clients) c.close();
    await s?.stop();
  });

  async function features(): Promise<{ c: RawClient; features: XmlEl }> {
    const r = await sasl2Stream(s.c2sPort);
    clients.push(r.c);
    return r;
  }

  test("off (the default): legacy SASL is offered and works, and the client is tracked", async () => {
    const { features: f, c } = await features();
    assert.ok(child(f, "mechanisms", NS_SASL), `legacy <mechanisms/> offered: ${show(f)}`);
    c.close();
    const l = await legacyLogin(s.c2sPort, "eve", "eve-secret", "legacy-eve");
    clients.push(l.c);
    const { clients: listed } = await listClients(l.c);
    assert.equal(listed.length, 1);
    assert.match(listed[0]!.id, /^client\/[A-Za-z0-9_-]{12}$/);
    l.c.close();
  });

  test("on: no legacy mechanisms; SASL2 without a client id and legacy <auth/> are refused with the reference's failures; SASL2 with a client id logs in", async () => {
    s.configure({ enforce_client_ids: true });
    await s.restart();
    const { c, features: f } = await features();
    assert.equal(child(f, "mechanisms", NS_SASL), undefined, `no <mechanisms xmlns='${NS_SASL}'/> in the features: ${show(f)}`);
    assert.ok(child(f, "authentication", NS_SASL2), `SASL2 offered: ${show(f)}`);

    // No <user-agent/>, then <user-agent/> without id: refused, the stream stays open.
    let failure = await plain2(c, "eve", "eve-secret");
    assertSasl2Failure(failure, "malformed-request", "Client identifier required but not supplied");
    assert.equal(c.closed, false);
    failure = await plain2(c, "eve", "eve-secret", { userAgent: { software: "NoId" } });
    assertSasl2Failure(failure, "malformed-request", "Client identifier required but not supplied");
    // On the same stream, with a client id: success.
    c.clear();
    c.send(
      authenticateXml("PLAIN", plainInitialResponse("eve", "eve-secret"), {
        userAgent: { id: "eve-phone", software: "EvePhone" },
        extra: "<bind xmlns='urn:xmpp:bind:0'><tag>p</tag></bind>",
      }),
    );
    await expectSasl2Success(c);
    const { clients: listed } = await listClients(c);
    assert.ok(byId(listed, "client/eve-phone"), `tracked: ${JSON.stringify(ids(listed))}`);

    // A SASL2 client with an id may still bind the RFC 6120 way.
    const old = await sasl2Login(s.c2sPort, "eve", "eve-secret", { userAgent: { id: "eve-old-bind" }, bind: false });
    clients.push(old.c);
    assert.ok(old.jid?.startsWith("eve@localhost/"), `bound with an iq under enforce_client_ids: ${old.jid}`);
    assert.equal(getById((await listClients(old.c)).clients, "client/eve-old-bind").connected, "true");

    // Legacy <auth/>: a SASL2-namespaced failure (as the reference does).
    const { c: c2 } = await features();
    c2.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from("\0eve\0eve-secret").toString("base64")}</auth>`);
    const el = await c2.waitUntil(
      (t) => parseServerOutput(t).flatMap((i) => (i.kind === "element" && (i.el.name === "failure" || i.el.name === "success") ? [i.el] : []))[0],
      "the answer to <auth/>",
    );
    assert.equal(el.name, "failure", show(el));
    assert.equal(el.ns, NS_SASL2, `the failure is in ${NS_SASL2}: ${show(el)}`);
    assertSasl2Failure(el, "malformed-request", "Legacy SASL authentication is not available on this server");
    assert.equal(c2.closed, false);
  });

  test("off again: legacy SASL works, and the clients recorded meanwhile are still there", async () => {
    s.configure({ enforce_client_ids: false });
    await s.restart();
    const l = await legacyLogin(s.c2sPort, "eve", "eve-secret", "legacy-eve");
    clients.push(l.c);
    const { clients: listed, raw } = await listClients(l.c);
    assert.equal(listed.length, 3, raw);
    assert.equal(getById(listed, "client/eve-phone").connected, "false");
    assert.equal(getById(listed, "client/eve-phone").software, "EvePhone");
  });
});
