// Revocation replay on every path. Each path revokes what it can reach — a SASL2 client with a
// FAST token and a hibernating stream-management session, and an OAuth grant with an access
// and a refresh token — through: the manage-clients IQ, RFC 7009, the account page,
// `warden shell user revoke_client`, and a password change. Then every way back in is tried and
// must be refused: the FAST token, resumption of the revoked session (classic <resume/> and
// inside SASL2), the refresh token, the access token on REST and over SASL OAUTHBEARER (legacy
// SASL and SASL2), and the revoked client id with the password it knew. And all of it again
// after a server restart on the same data directory.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, show, NS_SASL, NS_STREAM, type XmlEl } from "../helpers/xml.js";
import { waitForElement } from "../helpers/xmpp-assert.js";
import {
  NS_BIND2,
  NS_SASL2,
  authenticateXml,
  bindXml,
  expectSasl2Success,
  failureCondition,
  plain2,
  plainInitialResponse,
  requestTokenXml,
  sasl2Result,
  sasl2Stream,
  tokenOf,
} from "../helpers/sasl2-client.js";
import { fastLogin, legacyLogin, listClients, nextId, revokeClient, passwd } from "../helpers/manage-clients.js";
import { WebClient } from "../helpers/account-web.js";
import { authorize, refreshWith, register, restStatus, webApp, type Reg } from "../helpers/oauth-web.js";

const NS_SM = "urn:xmpp:sm:3";

let server: TestServer;
let app: Reg;
const sockets: RawClient[] = [];
const track = (c: RawClient) => {
  sockets.push(c);
  return c;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  // Dozens of refused logins from one address are the point here: the login throttle must not
  // slow them down to minutes or refuse the password logins the resumption probes start with.
  server = await startServer({ oauth2_rate_limit: 100_000, login_failure_limit: 1000, login_failure_window: 1 });
  app = await register(`http://127.0.0.1:${server.httpPort}`, webApp("Replay App"));
});
after(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

type Way =
  | "FAST token"
  | "classic <resume/>"
  | "SASL2 inline <resume/>"
  | "refresh token"
  | "access token on REST"
  | "access token over legacy SASL OAUTHBEARER"
  | "access token over SASL2 OAUTHBEARER"
  | "revoked client id with the password";

const CLIENT_WAYS: Way[] = ["FAST token", "classic <resume/>", "SASL2 inline <resume/>", "revoked client id with the password"];
const GRANT_WAYS: Way[] = ["refresh token", "access token on REST", "access token over legacy SASL OAUTHBEARER", "access token over SASL2 OAUTHBEARER"];

/** What had access before the revocation, and what is tried afterwards. */
interface Victim {
  path: string;
  user: string;
  /** The password the revoked client knew. */
  oldPassword: string;
  /** The account's password now (the attacker is given it where that makes the test stronger). */
  password: string;
  clientId: string;
  fastToken: string;
  smId: string;
  access: string;
  refresh: string;
  grantSelector: string;
  ways: Way[];
}
const victims: Victim[] = [];

/** A SASL2 client (id, FAST token, SM enabled then its connection cut) and an OAuth grant. */
async function victim(path: string, ways: Way[]): Promise<Victim> {
  const user = `v${victims.length}${path.replace(/[^a-z]/g, "")}`.slice(0, 20);
  const password = `pw-${user}-long-enough`;
  await server.addUser(user, password);
  const clientId = randomUUID();
  const ua = { id: clientId, software: "Replay Victim", device: "Stolen phone" };
  const { c } = await sasl2Stream(server.c2sPort);
  track(c);
  c.send(
    authenticateXml("PLAIN", plainInitialResponse(user, password), {
      userAgent: ua,
      extra: bindXml("victim", `<enable xmlns='${NS_SM}' resume='true'/>`) + requestTokenXml("HT-SHA-256-NONE"),
    }),
  );
  const { success } = await expectSasl2Success(c);
  const fastToken = tokenOf(success)?.token;
  assert.ok(fastToken, `a FAST token: ${show(success)}`);
  const enabled = child(child(success, "bound", NS_BIND2)!, "enabled", NS_SM);
  assert.ok(enabled?.attrs.id, `SM enabled with resumption: ${show(success)}`);
  c.close(); // the session now hibernates, waiting to be resumed
  await sleep(150);

  // Before the revocation each kind of credential works (so that the refusals below mean something).
  const fast = await fastLogin(server.c2sPort, user, fastToken, ua, { bind: false });
  track(fast.c);
  assert.equal(fast.result.name, "success", `the FAST token works before the revocation: ${show(fast.result)}`);
  fast.c.close();
  const tokens = await authorize(server, app, user, password);
  assert.equal(await restStatus(server, tokens.access), 200, "the access token works before the revocation");
  const bearer = await bearerSasl2(user, tokens.access);
  assert.equal(bearer, "success", "OAUTHBEARER works before the revocation");

  const pw = await legacyLogin(server.c2sPort, user, password, "owner");
  track(pw.c);
  const { clients } = await listClients(pw.c);
  pw.c.close();
  const grant = clients.find((x) => x.id.startsWith("grant/"));
  assert.ok(grant, `the grant is listed: ${JSON.stringify(clients.map((x) => x.id))}`);
  assert.ok(
    clients.some((x) => x.id === `client/${clientId}`),
    "the client is listed",
  );
  const v: Victim = {
    path,
    user,
    oldPassword: password,
    password,
    clientId,
    fastToken,
    smId: enabled.attrs.id,
    access: tokens.access,
    refresh: tokens.refresh,
    grantSelector: grant.id,
    ways,
  };
  victims.push(v);
  return v;
}

// --- the ways back in ---------------------------------------------------------------------------

const gs2Bearer = (user: string | undefined, token: string) =>
  Buffer.from(`n,${user ? `a=${user}@localhost` : ""},\x01auth=Bearer ${token}\x01host=localhost\x01\x01`).toString("base64");

/** TLS stream with its features (not authenticated). */
async function tlsStream(): Promise<RawClient> {
  const c = track(await RawClient.connect(server.c2sPort));
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.clear();
  return c;
}

async function bearerLegacy(user: string, token: string): Promise<string> {
  const c = await tlsStream();
  c.send(`<auth xmlns='${NS_SASL}' mechanism='OAUTHBEARER'>${gs2Bearer(user, token)}</auth>`);
  const first = await waitForElement(c, (el) => el.ns === NS_SASL && ["challenge", "success", "failure"].includes(el.name), "the OAUTHBEARER answer", 10_000);
  let outcome = first.name;
  if (first.name === "challenge") {
    c.clear();
    c.send(`<response xmlns='${NS_SASL}'>AQ==</response>`);
    outcome = (await waitForElement(c, (el) => el.ns === NS_SASL && ["success", "failure"].includes(el.name), "the OAUTHBEARER outcome", 10_000)).name;
  }
  c.close();
  return outcome;
}

async function bearerSasl2(user: string, token: string): Promise<string> {
  const { c } = await sasl2Stream(server.c2sPort);
  track(c);
  c.send(authenticateXml("OAUTHBEARER", { raw: gs2Bearer(user, token) }));
  const first = await waitForElement(
    c,
    (el) => el.ns === NS_SASL2 && ["challenge", "success", "failure"].includes(el.name),
    "the SASL2 OAUTHBEARER answer",
    10_000,
  );
  let outcome = first.name;
  if (first.name === "challenge") {
    c.clear();
    c.send(`<response xmlns='${NS_SASL2}'>AQ==</response>`);
    outcome = (await sasl2Result(c)).name;
  }
  c.close();
  return outcome;
}

/** Classic XEP-0198 resumption after a password login (the strongest attacker: knows the current password). */
async function classicResume(v: Victim): Promise<XmlEl> {
  const c = await tlsStream();
  c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${v.user}\0${v.password}`).toString("base64")}</auth>`);
  await c.waitFor(/<success/);
  c.clear();
  c.openStream();
  await waitForElement(c, (el) => el.name === "features" && el.ns === NS_STREAM, "features after auth");
  c.clear();
  c.send(`<resume xmlns='${NS_SM}' previd='${v.smId}' h='0'/>`);
  const el = await waitForElement(c, (e) => e.ns === NS_SM && ["resumed", "failed"].includes(e.name), "the answer to <resume/>", 10_000);
  c.close();
  return el;
}

/** Resumption inside SASL2 <authenticate/>, with the current password and a fresh client id. */
async function sasl2Resume(v: Victim): Promise<XmlEl> {
  const { c } = await sasl2Stream(server.c2sPort);
  track(c);
  const result = await plain2(c, v.user, v.password, {
    userAgent: { id: randomUUID(), software: "Resumer" },
    extra: `<resume xmlns='${NS_SM}' previd='${v.smId}' h='0'/>`,
  });
  c.close();
  return result;
}

/** Tries one way; returns undefined when refused, or what let it in. */
async function tryWay(v: Victim, way: Way): Promise<string | undefined> {
  switch (way) {
    case "FAST token": {
      const { c, result } = await fastLogin(server.c2sPort, v.user, v.fastToken, { id: v.clientId, software: "Replay Victim" }, { bind: false });
      c.close();
      return result.name === "failure" ? undefined : show(result);
    }
    case "classic <resume/>": {
      const el = await classicResume(v);
      return el.name === "failed" ? undefined : show(el);
    }
    case "SASL2 inline <resume/>": {
      const el = await sasl2Resume(v);
      return el.name === "failure" || (child(el, "resumed", NS_SM) === undefined && child(el, "failed", NS_SM) !== undefined) ? undefined : show(el);
    }
    case "refresh token": {
      const r = await refreshWith(`http://127.0.0.1:${server.httpPort}`, app, v.refresh);
      return r.status === 400 && r.body.error === "invalid_grant" ? undefined : `${r.status} ${JSON.stringify(r.body)}`;
    }
    case "access token on REST": {
      const s = await restStatus(server, v.access);
      return s === 401 ? undefined : `REST answered ${s}`;
    }
    case "access token over legacy SASL OAUTHBEARER": {
      const o = await bearerLegacy(v.user, v.access);
      return o === "failure" ? undefined : o;
    }
    case "access token over SASL2 OAUTHBEARER": {
      const o = await bearerSasl2(v.user, v.access);
      return o === "failure" ? undefined : o;
    }
    case "revoked client id with the password": {
      const { c } = await sasl2Stream(server.c2sPort);
      track(c);
      const result = await plain2(c, v.user, v.oldPassword, { userAgent: { id: v.clientId, software: "Replay Victim" }, extra: bindXml("victim") });
      c.close();
      // As documented: not-authorized (the client's access was revoked, or its password is no longer the password).
      return result.name === "failure" && failureCondition(result) === "not-authorized" ? undefined : show(result);
    }
  }
}

async function assertNoWayBack(vs: Victim[], when: string): Promise<void> {
  const got: string[] = [];
  let tried = 0;
  for (const v of vs) {
    for (const way of v.ways) {
      tried++;
      const inside = await tryWay(v, way);
      if (inside !== undefined) got.push(`${v.path} ${when}: ${way} got in: ${inside}`);
    }
  }
  assert.deepEqual(got, [], `${got.length} of ${tried} ways back in worked`);
}

const count = (ways: Way[]) => ways.length;

// --- the paths --------------------------------------------------------------------------------------

const ALL = [...CLIENT_WAYS, ...GRANT_WAYS];

test(`control: without a revocation, each of the ${count(ALL)} probes gets in (so a refusal below is a real refusal)`, async () => {
  const v = await victim("control", ALL);
  victims.pop(); // not revoked: not part of the replay after the restart
  const missed: string[] = [];
  for (const way of ALL) {
    if ((await tryWay(v, way)) === undefined) missed.push(way);
    await sleep(150); // a resumed session hibernates again once its new connection is cut
  }
  assert.deepEqual(missed, [], "every probe gets in when nothing was revoked");
});

test(`manage-clients IQ (revoke client/… and grant/…): 0 of ${count(ALL)} ways back in`, async () => {
  const v = await victim("iq", ALL);
  const { c } = await legacyLogin(server.c2sPort, v.user, v.password, "owner-iq");
  track(c);
  for (const sel of [`client/${v.clientId}`, v.grantSelector]) {
    const { reply } = await revokeClient(c, sel);
    assert.equal(reply.attrs.type === "result" || /password-reset-required/.test(show(reply)), true, `revoke ${sel}: ${show(reply)}`);
  }
  c.close();
  await assertNoWayBack([v], "after the IQ");
});

test(`RFC 7009 revocation of the refresh token: 0 of ${count(GRANT_WAYS)} ways back in`, async () => {
  const v = await victim("rfc7009", GRANT_WAYS);
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/oauth2/revoke`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret!)}`).toString("base64")}`,
    },
    body: new URLSearchParams({ token: v.refresh, token_type_hint: "refresh_token" }),
  });
  assert.equal(res.status, 200);
  await assertNoWayBack([v], "after RFC 7009");
});

test(`the account page (revoke the client, then the app): 0 of ${count(ALL)} ways back in`, async () => {
  const v = await victim("page", ALL);
  const web = new WebClient(`http://127.0.0.1:${server.httpPort}`);
  await web.signIn(v.user, v.password);
  for (const id of [`client/${v.clientId}`, v.grantSelector]) {
    const confirm = await web.get(`/account/revoke?id=${encodeURIComponent(id)}`);
    assert.equal(confirm.status, 200, `the confirmation for ${id}: ${confirm.status} ${confirm.location ?? ""}`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
    const r = await web.post("/account/revoke", { csrf, id, password: v.password });
    assert.equal(r.status, 303, `revoke ${id}: ${r.status} ${r.text.slice(0, 300)}`);
    assert.doesNotMatch(await web.account(), new RegExp(`data-client="${id.replace(/[/]/g, "\\/")}"`), `${id} is gone from the list`);
  }
  await assertNoWayBack([v], "after the account page");
});

test(`warden shell user revoke_client (client/… and grant/…): 0 of ${count(ALL)} ways back in`, async () => {
  const v = await victim("shell", ALL);
  for (const sel of [`client/${v.clientId}`, v.grantSelector]) {
    const r = await server.cli(["shell", "user", "revoke_client", `${v.user}@localhost`, sel]);
    assert.ok(r.code === 0 || r.code === 75, `revoke_client ${sel}: ${r.code} ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /revoked|Password reset required/i);
  }
  await assertNoWayBack([v], "after the shell");
});

test(`a password change (warden user passwd): 0 of ${count(ALL)} ways back in, even for an attacker who knows the new password where it helps`, async () => {
  const v = await victim("passwd", ALL);
  v.password = `${v.oldPassword}-new`;
  await passwd(server, v.user, v.password);
  await assertNoWayBack([v], "after the password change");
});

test(`the account page's password change: 0 of ${count(ALL)} ways back in`, async () => {
  const v = await victim("pagepw", ALL);
  const web = new WebClient(`http://127.0.0.1:${server.httpPort}`);
  await web.signIn(v.user, v.password);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await web.account())![1]!;
  const next = `${v.oldPassword}-changed`;
  const r = await web.post("/account/password", { csrf, current_password: v.password, new_password: next, confirm_password: next });
  assert.equal(r.status, 303, `password change: ${r.status} ${r.text.slice(0, 300)}`);
  v.password = next;
  await assertNoWayBack([v], "after the page's password change");
});

// Signing out everywhere else ends sessions, tokens and grants, but (as the page says) not the
// password: a client that knows it may sign in again, so that way is not tried here.
const SIGN_OUT_WAYS = ALL.filter((w) => w !== "revoked client id with the password");

test(`the account page's "sign out everywhere else": 0 of ${count(SIGN_OUT_WAYS)} ways back in`, async () => {
  const v = await victim("signout", SIGN_OUT_WAYS);
  const web = new WebClient(`http://127.0.0.1:${server.httpPort}`);
  await web.signIn(v.user, v.password);
  const confirm = await web.get("/account/sign-out-others");
  const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
  const r = await web.post("/account/sign-out-others", { csrf, password: v.password });
  assert.equal(r.status, 303, `sign out everywhere else: ${r.status} ${r.text.slice(0, 300)}`);
  await assertNoWayBack([v], "after signing out everywhere else");
});

test(`after a restart on the same data directory: 0 of ${6 * count(ALL) + count(GRANT_WAYS) - 1} ways back in (every path's ways tried again)`, async () => {
  assert.equal(victims.length, 7, "every path ran before the restart");
  await server.restart();
  await assertNoWayBack(victims, "after the restart");
  // The account itself still works: the refusals are about the revoked things, not a broken server.
  const ok = await legacyLogin(server.c2sPort, victims[0]!.user, victims[0]!.password, `after-${nextId()}`);
  track(ok.c);
  ok.c.close();
});

test("a live session revoked over IQ: its stream ends, and neither classic nor SASL2 resumption brings it back (0 of 2), before or after a restart", async () => {
  const user = "livesm";
  const password = "pw-livesm-long-enough";
  await server.addUser(user, password);
  const clientId = randomUUID();
  const { c } = await sasl2Stream(server.c2sPort);
  track(c);
  c.send(
    authenticateXml("PLAIN", plainInitialResponse(user, password), {
      userAgent: { id: clientId, software: "Live" },
      extra: bindXml("live", `<enable xmlns='${NS_SM}' resume='true'/>`),
    }),
  );
  const { success } = await expectSasl2Success(c);
  const smId = child(child(success, "bound", NS_BIND2)!, "enabled", NS_SM)!.attrs.id!;
  const owner = await legacyLogin(server.c2sPort, user, password, "owner");
  track(owner.c);
  const { reply } = await revokeClient(owner.c, `client/${clientId}`);
  assert.ok(reply.attrs.type === "result" || /password-reset-required/.test(show(reply)), show(reply));
  await c.waitClosed(5000);
  assert.match(c.received, /<stream:error>/, "the revoked stream got a stream error");
  const v = {
    path: "live",
    user,
    oldPassword: password,
    password,
    clientId,
    fastToken: "",
    smId,
    access: "",
    refresh: "",
    grantSelector: "",
    ways: [],
  } as Victim;
  for (const round of ["before", "after"]) {
    if (round === "after") await server.restart();
    const classic = await classicResume(v);
    assert.equal(classic.name, "failed", `classic <resume/> ${round} the restart: ${show(classic)}`);
    const inline = await sasl2Resume(v);
    assert.equal(child(inline, "resumed", NS_SM), undefined, `SASL2 <resume/> ${round} the restart: ${show(inline)}`);
  }
});

test("a hibernating OAUTHBEARER session: after RFC 7009 revocation of its grant, neither classic nor SASL2 resumption brings it back (0 of 2)", async () => {
  const user = "bearersm";
  const password = "pw-bearersm-long-enough";
  await server.addUser(user, password);
  const tokens = await authorize(server, app, user, password);
  const { c } = await sasl2Stream(server.c2sPort);
  track(c);
  c.send(
    authenticateXml(
      "OAUTHBEARER",
      { raw: gs2Bearer(user, tokens.access) },
      { userAgent: { id: randomUUID(), software: "Bearer app" }, extra: bindXml("app", `<enable xmlns='${NS_SM}' resume='true'/>`) },
    ),
  );
  const { success } = await expectSasl2Success(c);
  const smId = child(child(success, "bound", NS_BIND2)!, "enabled", NS_SM)?.attrs.id;
  assert.ok(smId, `SM enabled for the token session: ${show(success)}`);
  c.close();
  await sleep(150);
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/oauth2/revoke`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.client_id)}:${encodeURIComponent(app.client_secret!)}`).toString("base64")}`,
    },
    body: new URLSearchParams({ token: tokens.access }),
  });
  assert.equal(res.status, 200);
  const v = {
    path: "bearer",
    user,
    oldPassword: password,
    password,
    clientId: "",
    fastToken: "",
    smId,
    access: "",
    refresh: "",
    grantSelector: "",
    ways: [],
  } as Victim;
  const classic = await classicResume(v);
  assert.equal(classic.name, "failed", `classic <resume/> of the revoked token session: ${show(classic)}`);
  const inline = await sasl2Resume(v);
  assert.equal(child(inline, "resumed", NS_SM), undefined, `SASL2 <resume/> of the revoked token session: ${show(inline)}`);
});
