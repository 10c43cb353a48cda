// Interop: client management with the real @xmpp/client 0.14 (an independently written SASL2 +
// Bind2 + FAST client) against the real server. A stable <user-agent id> makes it one client
// across logins; its FAST token is kept in a store shared between client objects, as an app
// keeps it across runs. PLAIN (over TLS) is forced through the `credentials` callback, since
// xmpp.js computes SCRAM-SHA-1's PBKDF2 very slowly (see ../shared/reference/clients.md §2.6).
// Reference: ../shared/reference/prosody-client-management.md §1, checklist §7.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { assertSasl2Failure } from "../helpers/sasl2-client.js";
import { NS_CAM, NS_MANAGE, fastLogin, passwd } from "../helpers/manage-clients.js";
import { XjsClient, xml, type XjsOptions, type TokenStore as XjsTokenStore, type XmlElement } from "../helpers/xjs.js";

type El = XmlElement;
/** How xmpp.js fails a login or an iq: the condition and text of the stream, SASL or stanza error. */
type XmppError = Error & { condition?: string; text?: string; application?: El; element?: El };

type TokenStore = XjsTokenStore;
type XOptions = XjsOptions;

/** A real @xmpp/client (test/helpers/xjs.ts) that also reads the account's client list. */
class XClient extends XjsClient {
  async list(ns = NS_MANAGE): Promise<El[]> {
    const reply = await this.iq("get", xml("list", { xmlns: ns }));
    const clients = reply.getChild("clients", ns);
    assert.ok(clients, `a <clients xmlns='${ns}'/> in ${reply}`);
    return clients.getChildElements();
  }
}

const summary = (c: El) => ({
  id: c.attrs.id,
  connected: c.attrs.connected,
  type: c.attrs.type,
  auth: c
    .getChild("auth")
    ?.getChildElements()
    .map((a) => a.name),
  software: c.getChild("user-agent")?.getChildText("software") ?? undefined,
  device: c.getChild("user-agent")?.getChildText("device") ?? undefined,
  firstSeen: c.getChildText("first-seen") ?? undefined,
  lastSeen: c.getChildText("last-seen") ?? undefined,
});

function only(clients: El[], id: string): ReturnType<typeof summary> {
  const hits = clients.filter((c) => c.attrs.id === id);
  assert.equal(hits.length, 1, `${id} is listed exactly once: ${clients.map(String).join("\n")}`);
  return summary(hits[0]!);
}

let server: TestServer;
const all: XClient[] = [];
let users = 0;

before(async () => {
  server = await startServer();
});
after(async () => {
  await Promise.allSettled(all.map((c) => c.stop()));
  await server?.stop();
});

async function newUser(prefix: string): Promise<{ username: string; password: string }> {
  const username = `${prefix}${++users}`;
  const password = `pw-${username}-secret`;
  await server.addUser(username, password);
  return { username, password };
}

function make(s: TestServer, user: { username: string; password: string }, o: Omit<XOptions, "service" | "username" | "password">): XClient {
  const c = new XClient({ service: `xmpp://127.0.0.1:${s.c2sPort}`, ...user, ...o });
  all.push(c);
  return c;
}

async function online(user: { username: string; password: string }, o: Omit<XOptions, "service" | "username" | "password">, s = server): Promise<XClient> {
  const c = make(s, user, o);
  await c.start();
  return c;
}

/** Asserts the iq request failed with this stanza error; returns the error. */
async function iqFails(p: Promise<unknown>, condition: string): Promise<Error & { condition: string; text: string; application?: El }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as XmppError,
  );
  assert.ok(err, `expected the ${condition} error, got a result`);
  assert.equal(err.condition, condition, `error condition: ${String(err.element ?? err)}`);
  return err as Error & { condition: string; text: string; application?: El };
}

describe("listing", () => {
  test("xmpp.js SASL2 login with a stable client id: client/<id>, session, connected, its software and device, <password/> and (it holds a FAST token) <fast/>; its FAST login stays the same client", async () => {
    const user = await newUser("xjs");
    const id = randomUUID();
    const store: TokenStore = {};
    const t0 = Date.now();
    const a = await online(user, { id, software: "Warden Interop", device: "CI runner", resource: "laptop", store });
    const t1 = Date.now();
    const auths = a.authenticates();
    assert.equal(auths.length, 1, a.wireLog());
    assert.match(auths[0]!, /mechanism="PLAIN"/, "PLAIN, forced by the credentials callback");
    assert.match(auths[0]!, new RegExp(`<user-agent id="${id}"><software>Warden Interop</software><device>CI runner</device></user-agent>`));
    assert.match(auths[0]!, /<request-token xmlns="urn:xmpp:fast:0" mechanism="HT-SHA-256-NONE"\/>/, "xmpp.js asks for a FAST token");
    assert.ok(store.token?.token.startsWith("secret-token:fast-"), `xmpp.js saved the FAST token: ${JSON.stringify(store)}`);

    let clients = await a.list();
    assert.equal(clients.length, 1, clients.map(String).join("\n"));
    const first = only(clients, `client/${id}`);
    assert.equal(first.connected, "true");
    assert.equal(first.type, "session");
    assert.deepEqual(first.auth, ["password", "fast"]);
    assert.equal(first.software, "Warden Interop");
    assert.equal(first.device, "CI runner");
    const fs = Date.parse(first.firstSeen!);
    assert.ok(fs >= Math.floor(t0 / 1000) * 1000 && fs <= t1, `first-seen ${first.firstSeen} is the login time`);
    assert.deepEqual(
      clients[0]!.getChildElements().map((e) => e.name),
      ["first-seen", "last-seen", "auth", "user-agent"],
    );

    // XEP-0494 namespace: the same client, with <permission status='unrestricted'/>.
    const cam = await a.list(NS_CAM);
    assert.equal(cam.length, 1);
    assert.equal(cam[0]!.attrs.id, `client/${id}`);
    assert.equal(cam[0]!.getChild("permission")?.attrs.status, "unrestricted", String(cam[0]));
    await a.stop();

    // Next run of the app: a new client object, same id, same token store → FAST.
    const b = await online(user, { id, software: "Warden Interop", device: "CI runner", resource: "laptop", store });
    const bAuth = b.authenticates();
    assert.equal(bAuth.length, 1, `one authentication, with the token: ${b.wireLog()}`);
    assert.match(bAuth[0]!, /mechanism="HT-SHA-256-NONE"/, b.wireLog());
    assert.match(bAuth[0]!, /<fast xmlns="urn:xmpp:fast:0"\/>/);
    clients = await b.list();
    assert.equal(clients.length, 1, `still one client after the FAST login: ${clients.map(String).join("\n")}`);
    const again = only(clients, `client/${id}`);
    assert.equal(again.connected, "true");
    assert.deepEqual(again.auth, ["password", "fast"]);
    assert.equal(again.firstSeen, first.firstSeen, "first-seen is kept");
    assert.ok(Date.parse(again.lastSeen!) >= Date.parse(first.lastSeen!), "last-seen moves forward");
    assert.deepEqual([again.software, again.device], ["Warden Interop", "CI runner"]);
    await b.stop();
  });

  test("two xmpp.js clients with different ids are two entries; each knows the other's connected state", async () => {
    const user = await newUser("two");
    const a = await online(user, { id: "app-one", software: "One", resource: "one" });
    const b = await online(user, { id: "app-two", software: "Two", resource: "two" });
    let clients = await a.list();
    assert.deepEqual(clients.map((c) => c.attrs.id).sort(), ["client/app-one", "client/app-two"]);
    assert.equal(only(clients, "client/app-two").connected, "true");
    await b.stop();
    // The server may see the stream end a moment after stop() returns.
    for (let i = 0; i < 50; i++) {
      clients = await a.list();
      if (only(clients, "client/app-two").connected === "false") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const t = only(clients, "client/app-two");
    assert.equal(t.connected, "false");
    assert.deepEqual(t.auth, ["password", "fast"], "a disconnected client keeps its access (password, FAST token)");
    await a.stop();
  });
});

describe("revoking", () => {
  test("revoking a connected xmpp.js client: not-authorized stream error, its FAST token is refused, password-reset-required; it cannot log in again until the password changes", async () => {
    const user = await newUser("xrev");
    const id = randomUUID();
    const store: TokenStore = {};
    const phone = await online(user, { id, software: "Phone App", device: "Phone", resource: "phone", store });
    const token = store.token?.token;
    assert.ok(token, "the phone holds a FAST token");
    const admin = await online(user, { id: "admin-app", software: "Admin", resource: "admin" });
    const firstSeen = only(await admin.list(), `client/${id}`).firstSeen;

    const err = await iqFails(admin.iq("set", xml("revoke", { xmlns: NS_MANAGE, id: `client/${id}` })), "service-unavailable");
    assert.equal(err.text, "Password reset required");
    assert.equal(err.application?.name, "password-reset-required", `the application condition: ${String((err as XmppError).element)}`);
    assert.equal(err.application?.getNS(), NS_MANAGE);

    // The phone's stream ends with <not-authorized/> and the revocation text.
    const streamErr = await phone.until("the phone's stream error", () => phone.errors.find((e) => e.name === "StreamError"));
    assert.equal(streamErr.condition, "not-authorized", String(streamErr));
    assert.equal(streamErr.text, "Access for Phone App on Phone was revoked by a client of your account");
    await phone.until("the phone disconnected", () => (phone.status === "disconnect" || phone.status === "offline" ? true : undefined));

    // Gone from the list.
    const listed = (await admin.list()).map((c) => c.attrs.id);
    assert.deepEqual(listed, ["client/admin-app"]);
    // Its FAST token is refused.
    const f = await fastLogin(server.c2sPort, user.username, token, { id });
    assertSasl2Failure(f.result, "not-authorized");
    f.c.close();
    // The app starting again (token, then password fallback) is refused: this client id is revoked.
    const retry = make(server, user, { id, software: "Phone App", device: "Phone", resource: "phone", store });
    const e = await retry.start().then(
      () => undefined,
      (x: unknown) => x as XmppError,
    );
    assert.ok(e, `the revoked client logged in again: ${retry.wireLog()}`);
    assert.equal(e.condition, "not-authorized", String(e));
    assert.equal(e.text, "Access for this client was revoked. You can allow it again on your account page", String(e));
    const tries = retry.authenticates();
    assert.match(tries[0] ?? "", /mechanism="HT-SHA-256-NONE"/, `first the token: ${retry.wireLog()}`);
    assert.match(tries[1] ?? "", /mechanism="PLAIN"/, `then the password: ${retry.wireLog()}`);
    assert.equal(store.token, undefined, "xmpp.js dropped the refused token");
    await retry.stop();
    // Another client id still logs in with the same password.
    const other = await online(user, { id: "another-app", resource: "other" });
    await other.stop();

    // After a password change the same client id is let in again, as the same client.
    await passwd(server, user.username, user.password + "-new");
    const reset = await admin.until("admin closed by the password change", () => admin.errors.find((x) => x.name === "StreamError"));
    assert.equal(reset.condition, "reset");
    const back = await online({ ...user, password: user.password + "-new" }, { id, software: "Phone App", device: "Phone", resource: "phone", store });
    const entry = only(await back.list(), `client/${id}`);
    assert.equal(entry.connected, "true");
    assert.equal(entry.firstSeen, firstSeen, "the record survived the revocation");
    assert.deepEqual(entry.auth, ["password", "fast"], "a fresh token after the password change");
    await back.stop();
  });
});

describe("restart", () => {
  test("after a restart: the client is listed (not connected) with its details, its FAST token still works, a revoked client stays refused", async () => {
    const user = await newUser("xrestart");
    const id = randomUUID();
    const store: TokenStore = {};
    const a = await online(user, { id, software: "Survivor", device: "Box", resource: "a", store });
    const doomedStore: TokenStore = {};
    const doomed = await online(user, { id: "doomed-app", software: "Doomed", resource: "d", store: doomedStore });
    const err = await iqFails(a.iq("set", xml("revoke", { xmlns: NS_MANAGE, id: "client/doomed-app" })), "service-unavailable");
    assert.equal(err.text, "Password reset required");
    await doomed.until("doomed disconnected", () => (doomed.status === "disconnect" || doomed.status === "offline" ? true : undefined));
    const before = only(await a.list(), `client/${id}`);
    await a.stop();
    await doomed.stop();

    await server.restart();

    const lister = await online(user, { id: "lister", resource: "l" });
    const clients = await lister.list();
    assert.deepEqual(clients.map((c) => c.attrs.id).sort(), [`client/${id}`, "client/lister"].sort(), clients.map(String).join("\n"));
    const after = only(clients, `client/${id}`);
    assert.equal(after.connected, "false");
    assert.deepEqual({ ...after, connected: "true" }, before, "the record is unchanged by the restart");

    // FAST with the token from before the restart.
    const b = await online(user, { id, software: "Survivor", device: "Box", resource: "a", store });
    assert.match(b.authenticates()[0] ?? "", /mechanism="HT-SHA-256-NONE"/);
    assert.equal(b.authenticates().length, 1, `the token was accepted after the restart: ${b.wireLog()}`);
    assert.equal(only(await b.list(), `client/${id}`).firstSeen, before.firstSeen);
    await b.stop();

    // The revoked client stays out.
    const retry = make(server, user, { id: "doomed-app", resource: "d", store: doomedStore });
    const e = await retry.start().then(
      () => undefined,
      (x: unknown) => x as XmppError,
    );
    assert.ok(e, "the revoked client logged in after the restart");
    assert.equal(e.condition, "not-authorized", String(e));
    assert.equal(e.text, "Access for this client was revoked. You can allow it again on your account page");
    await retry.stop();
    await lister.stop();
  });
});

describe("enforce_client_ids", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.addUser("ida", "ida-secret");
    s.configure({ enforce_client_ids: true });
    await s.restart();
  });
  after(async () => {
    await s?.stop();
  });

  test("on: xmpp.js with a client id logs in and is tracked; with a <user-agent/> lacking an id it is refused", async () => {
    const user = { username: "ida", password: "ida-secret" };
    const c = await online(user, { id: "ida-phone", software: "IdaApp", resource: "p" }, s);
    const clients = await c.list();
    assert.equal(only(clients, "client/ida-phone").software, "IdaApp");
    await c.stop();

    const noId = make(s, user, { id: undefined, software: "Anon", resource: "q" });
    const e = await noId.start().then(
      () => undefined,
      (x: unknown) => x as XmppError,
    );
    assert.ok(e, `a client without an id logged in: ${noId.wireLog()}`);
    assert.equal(e.condition, "malformed-request", String(e));
    assert.equal(e.text, "Client identifier required but not supplied");
    await noId.stop();
  });
});
