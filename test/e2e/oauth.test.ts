// OAuth 2.0 end to end against the real server, playing a real OAuth client with a standard
// library (oauth4webapi) and a browser with plain HTTP requests (cookies, HTML forms):
// registration, authorization code with PKCE, the REST API, refresh, the grant in the
// manage-clients list, revocation over XMPP / RFC 7009 / the admin shell / a password change,
// SASL OAUTHBEARER (legacy and SASL2) and its sessions closed on revocation, the device flow,
// refresh-token and code reuse, PKCE and redirect URI errors, expired codes, CSRF, limits.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import { request as httpsRequest } from "node:https";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { formOf, type Form } from "../helpers/oauth-web.js";
import { child, show, NS_SASL, type XmlEl } from "../helpers/xml.js";
import { expectStreamError, waitForElement } from "../helpers/xmpp-assert.js";

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const NS_MANAGE = "xmpp:prosody.im/protocol/manage-clients";
const NS_SASL2 = "urn:xmpp:sasl:2";
const REDIRECT = "https://app.example.org/callback";

let server: TestServer;
let as: oauth.AuthorizationServer;
/** Every token the server handed out, to check that none reached its log. */
const issued: string[] = [];
const sockets: RawClient[] = [];
let seq = 0;
const nextId = (p = "q") => `${p}${++seq}`;

interface User {
  name: string;
  password: string;
  jid: string;
}
let alice: User, bob: User, carol: User, dave: User, erin: User;

async function newUser(name: string, srv = server): Promise<User> {
  const u = { name, password: `pw-${name}-secret`, jid: `${name}@localhost` };
  await srv.addUser(u.name, u.password);
  return u;
}

async function discover(srv: TestServer): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(`http://127.0.0.1:${srv.httpPort}`);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
}

before(async () => {
  // Debug logging, so that "tokens never reach the log" looks at everything the server says.
  server = await startServer({ oauth2_rate_limit: 100_000, oauth2_device_poll_interval: 1, login_failure_window: 1, log_level: "debug" });
  as = await discover(server);
  alice = await newUser("alice");
  bob = await newUser("bob");
  carol = await newUser("carol");
  dave = await newUser("dave");
  erin = await newUser("erin");
});

after(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

// --- an OAuth client --------------------------------------------------------------------------

type Reg = oauth.OmitSymbolProperties<oauth.Client> & { client_secret?: string };

async function register(meta: Record<string, unknown>, authServer = as): Promise<Reg> {
  const res = await oauth.dynamicClientRegistrationRequest(authServer, meta as Partial<oauth.Client>, insecure);
  return await oauth.processDynamicClientRegistrationResponse(res);
}

async function registerError(meta: Record<string, unknown>): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(as.registration_endpoint!, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(meta) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

function webApp(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_name: name,
    client_uri: "https://app.example.org/",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    scope: "xmpp xmpp:user offline_access",
    software_id: "0f0c2a3e-52a1-4f3c-9a3b-2d6f1c0e8b11",
    software_version: "1.2.3",
    ...extra,
  };
}

function clientAuth(reg: Reg): oauth.ClientAuth {
  return reg.client_secret ? oauth.ClientSecretBasic(reg.client_secret) : oauth.None();
}

// --- a browser ---------------------------------------------------------------------------------

interface Page {
  status: number;
  html: string;
  location?: string;
  headers: Headers;
}
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly origin: string) {}

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const nv = c.split(";")[0]!;
      const eq = nv.indexOf("=");
      this.cookies.set(nv.slice(0, eq).trim(), nv.slice(eq + 1).trim());
    }
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private async page(res: Response): Promise<Page> {
    this.keep(res);
    return { status: res.status, html: await res.text(), location: res.headers.get("location") ?? undefined, headers: res.headers };
  }

  async get(url: string | URL): Promise<Page> {
    return this.page(await fetch(url, { redirect: "manual", headers: { cookie: this.cookieHeader(), "sec-fetch-site": "cross-site" } }));
  }

  /** Submits a form as a browser would: its hidden fields and checked boxes, plus `fields` (which replace same-named ones). */
  async submit(form: Form, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<Page> {
    const body = new URLSearchParams();
    for (const [k, v] of form.fields) if (!(k in fields)) body.append(k, v);
    for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one);
    const res = await fetch(new URL(form.action, this.origin), {
      method: "POST",
      redirect: "manual",
      body,
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: this.cookieHeader(),
        origin: this.origin,
        "sec-fetch-site": "same-origin",
        ...headers,
      },
    });
    return this.page(res);
  }
}

interface Pkce {
  verifier: string;
  challenge: string;
  state: string;
}

async function pkce(): Promise<Pkce> {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier), state: oauth.generateRandomState() };
}

function authorizationUrl(reg: Reg, p: Pkce, params: Record<string, string | undefined> = {}, authServer = as): URL {
  const url = new URL(authServer.authorization_endpoint!);
  const all: Record<string, string | undefined> = {
    client_id: reg.client_id,
    redirect_uri: REDIRECT,
    response_type: "code",
    scope: "xmpp offline_access",
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: "S256",
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** The login and consent forms, as a user would fill them in; returns the page after consent. */
async function consent(url: URL, user: User, opts: { scopes?: string[]; decision?: string } = {}): Promise<{ page: Page; browser: Browser; login: Page }> {
  const browser = new Browser(url.origin);
  const login = await browser.get(url);
  assert.equal(login.status, 200, `login page: ${login.html}`);
  const consentPage = await browser.submit(formOf(login), { action: "login", username: user.name, password: user.password });
  assert.equal(consentPage.status, 200, `consent page: ${consentPage.html}`);
  const fields: Record<string, string | string[]> = { decision: opts.decision ?? "allow" };
  if (opts.scopes) fields.scope = opts.scopes;
  const page = await browser.submit(formOf(consentPage), fields);
  return { page, browser, login };
}

/** Authorize (browser) then exchange the code (oauth4webapi). */
async function authorize(reg: Reg, user: User, opts: { scope?: string; scopes?: string[] } = {}, authServer = as): Promise<oauth.TokenEndpointResponse> {
  const p = await pkce();
  const { page } = await consent(authorizationUrl(reg, p, { scope: opts.scope }, authServer), user, { scopes: opts.scopes });
  assert.equal(page.status, 303, `expected a redirect to the app: ${page.html}`);
  const params = oauth.validateAuthResponse(authServer, reg, new URL(page.location!), p.state);
  const res = await oauth.authorizationCodeGrantRequest(authServer, reg, clientAuth(reg), params, REDIRECT, p.verifier, insecure);
  const tokens = await oauth.processAuthorizationCodeResponse(authServer, reg, res);
  issued.push(tokens.access_token);
  if (tokens.refresh_token) issued.push(tokens.refresh_token);
  return tokens;
}

async function refresh(reg: Reg, refreshToken: string): Promise<oauth.TokenEndpointResponse> {
  const res = await oauth.refreshTokenGrantRequest(as, reg, clientAuth(reg), refreshToken, insecure);
  const tokens = await oauth.processRefreshTokenResponse(as, reg, res);
  issued.push(tokens.access_token);
  if (tokens.refresh_token) issued.push(tokens.refresh_token);
  return tokens;
}

async function oauthError(p: Promise<unknown>, code: string, description?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof oauth.ResponseBodyError, `expected an OAuth error response, got ${String(err)}`);
    assert.equal(err.error, code, `error_description: ${err.error_description}`);
    if (description) assert.match(err.error_description ?? "", description);
    return true;
  });
}

// --- the REST API ------------------------------------------------------------------------------

function restUrl(path: string): string {
  return `http://127.0.0.1:${server.httpPort}${path}`;
}

async function rest(
  token: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> | undefined; headers: Headers }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(restUrl(path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, headers: res.headers };
}

// --- XMPP ---------------------------------------------------------------------------------------

function gs2Bearer(user: User | undefined, token: string): string {
  return Buffer.from(`n,${user ? `a=${user.jid}` : ""},\x01auth=Bearer ${token}\x01host=localhost\x01\x01`).toString("base64");
}

async function tlsStream(): Promise<{ c: RawClient; features: string }> {
  const c = await RawClient.connect(server.c2sPort);
  sockets.push(c);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  const features = c.received;
  c.clear();
  return { c, features };
}

/** Legacy SASL OAUTHBEARER, stream restart, bind: a session ready for stanzas. */
async function bearerSession(token: string, user: User): Promise<RawClient> {
  const { c, features } = await tlsStream();
  assert.match(features, /<mechanism>OAUTHBEARER<\/mechanism>/, "OAUTHBEARER is offered over TLS");
  c.send(`<auth xmlns='${NS_SASL}' mechanism='OAUTHBEARER'>${gs2Bearer(user, token)}</auth>`);
  await c.waitFor(/<success/);
  c.clear();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.clear();
  c.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>oauth-app</resource></bind></iq>`);
  await c.waitFor(/<jid>/);
  c.clear();
  return c;
}

async function passwordSession(user: User): Promise<RawClient> {
  const c = await RawClient.connect(server.c2sPort);
  sockets.push(c);
  await c.login(user.name, user.password, `pw-${nextId()}`);
  return c;
}

async function iq(c: RawClient, xml: (id: string) => string): Promise<XmlEl> {
  const id = nextId("iq");
  c.send(xml(id));
  return waitForElement(
    c,
    (el) => el.name === "iq" && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"),
    `the reply to ${id}`,
    10_000,
  );
}

async function listClients(c: RawClient): Promise<XmlEl[]> {
  const reply = await iq(c, (id) => `<iq type='get' id='${id}'><list xmlns='${NS_MANAGE}'/></iq>`);
  assert.equal(reply.attrs.type, "result", show(reply));
  return child(reply, "clients", NS_MANAGE)!.children.filter((ch) => ch.name === "client");
}

function softwareOf(el: XmlEl): XmlEl | undefined {
  const ua = child(el, "user-agent");
  return ua && child(ua, "software");
}

async function grantIdOf(c: RawClient, appName: string): Promise<string> {
  const entry = (await listClients(c)).find((e) => softwareOf(e)?.text === appName && e.attrs.id!.startsWith("grant/"));
  assert.ok(entry, `no grant/… entry for ${appName}`);
  return entry.attrs.id!.slice("grant/".length);
}

async function revokeOverXmpp(c: RawClient, selector: string): Promise<XmlEl> {
  return iq(c, (id) => `<iq type='set' id='${id}'><revoke xmlns='${NS_MANAGE}' id='${selector}'/></iq>`);
}

// ================================================================================================

describe("the authorization code flow, end to end", () => {
  test("register, authorize with PKCE, REST, refresh, the grant in manage-clients, revoke over XMPP", async () => {
    const reg = await register(webApp("Desktop Chat App"));
    assert.ok(reg.client_secret, "a confidential client gets a secret");

    // The login page shows the app, its URI and the scopes asked for.
    const p = await pkce();
    const { page, login } = await consent(authorizationUrl(reg, p), alice);
    assert.match(login.html, /Desktop Chat App/);
    assert.match(login.html, /https:\/\/app\.example\.org\//);
    assert.match(login.html, /<b>xmpp<\/b>/);
    assert.match(login.html, /<b>offline_access<\/b>/);
    assert.equal(page.status, 303);
    const params = oauth.validateAuthResponse(as, reg, new URL(page.location!), p.state);
    assert.equal(new URL(page.location!).searchParams.get("iss"), as.issuer, "RFC 9207 iss");
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      reg,
      await oauth.authorizationCodeGrantRequest(as, reg, clientAuth(reg), params, REDIRECT, p.verifier, insecure),
    );
    issued.push(tokens.access_token, tokens.refresh_token!);
    assert.equal(tokens.token_type, "bearer");
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.scope, "xmpp offline_access");
    assert.match(tokens.access_token, /^secret-token:[A-Za-z0-9_-]{43}$/);
    assert.ok(tokens.refresh_token, "offline_access gives a refresh token");

    // The REST API with the bearer token.
    const pw = await passwordSession(alice);
    const set = await iq(
      pw,
      (id) => `<iq type='set' id='${id}'><query xmlns='jabber:iq:roster'><item jid='${bob.jid}' name='Bob'><group>Friends</group></item></query></iq>`,
    );
    assert.equal(set.attrs.type, "result");
    const roster = await rest(tokens.access_token, "GET", "/rest/roster");
    assert.equal(roster.status, 200);
    assert.deepEqual(roster.json?.items, [{ jid: bob.jid, name: "Bob", subscription: "none", groups: ["Friends"] }]);
    const bobSession = await passwordSession(bob);
    bobSession.send("<presence/>");
    await new Promise((r) => setTimeout(r, 200));
    bobSession.clear();
    const sent = await rest(tokens.access_token, "POST", "/rest/message", { to: bob.jid, body: "Hello from REST <&>" });
    assert.equal(sent.status, 202);
    const msg = await waitForElement(bobSession, (el) => el.name === "message" && el.attrs.id === sent.json?.id, "the REST message at bob");
    assert.equal(msg.attrs.from, alice.jid);
    assert.equal(child(msg, "body")!.text, "Hello from REST <&>");

    // Refresh: new tokens, the old refresh token is spent.
    const refreshed = await refresh(reg, tokens.refresh_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "rotated");
    assert.equal((await rest(refreshed.access_token, "GET", "/rest/roster")).status, 200);

    // Introspection, for the client the token belongs to.
    const intro = await oauth.processIntrospectionResponse(
      as,
      reg,
      await oauth.introspectionRequest(as, reg, clientAuth(reg), refreshed.access_token, insecure),
    );
    assert.equal(intro.active, true);
    assert.equal(intro.username, alice.jid);
    assert.equal(intro.scope, "xmpp offline_access");

    // The grant in the manage-clients list.
    const entries = await listClients(pw);
    const entry = entries.find((e) => softwareOf(e)?.text === "Desktop Chat App");
    assert.ok(entry, `the app is listed: ${entries.map(show).join("\n")}`);
    assert.match(entry.attrs.id!, /^grant\/[A-Za-z0-9_-]{12}$/);
    assert.equal(entry.attrs.type, "access");
    assert.equal(entry.attrs.connected, "false");
    assert.deepEqual(
      child(entry, "auth")!.children.map((ch) => ch.name),
      ["grant"],
    );
    assert.deepEqual(softwareOf(entry)!.attrs, { id: "0f0c2a3e-52a1-4f3c-9a3b-2d6f1c0e8b11", version: "1.2.3" });
    assert.equal(child(child(entry, "user-agent")!, "uri")!.text, "https://app.example.org/");
    const grantId = entry.attrs.id!.slice("grant/".length);
    const firstLastSeen = child(entry, "last-seen")!.text;

    // Its last-seen moves when its tokens are used.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await rest(refreshed.access_token, "GET", "/rest/roster")).status, 200);
    const again = (await listClients(pw)).find((e) => e.attrs.id === `grant/${grantId}`);
    assert.ok(again && child(again, "last-seen")!.text > firstLastSeen, `last-seen moved on: ${firstLastSeen} → ${again && child(again, "last-seen")!.text}`);

    // The app also logs in over XMPP with OAUTHBEARER.
    const app = await bearerSession(refreshed.access_token, alice);

    // Revoked over XMPP, from the password session.
    const result = await revokeOverXmpp(pw, `grant/${grantId}`);
    assert.equal(result.attrs.type, "result", show(result));
    // Its OAUTHBEARER session is closed at once, told which app lost access; its REST calls and refreshes fail.
    const closed = await expectStreamError(app, "not-authorized");
    assert.match(show(closed), />Access for Desktop Chat App was revoked by a client of your account</);
    const after = await rest(refreshed.access_token, "GET", "/rest/roster");
    assert.equal(after.status, 401);
    assert.equal(after.json?.error, "invalid_token");
    assert.match(after.headers.get("www-authenticate")!, /^Bearer realm="localhost", error="invalid_token"/);
    await oauthError(refresh(reg, refreshed.refresh_token!), "invalid_grant");
    const intro2 = await oauth.processIntrospectionResponse(
      as,
      reg,
      await oauth.introspectionRequest(as, reg, clientAuth(reg), refreshed.access_token, insecure),
    );
    assert.equal(intro2.active, false);
    assert.ok(!(await listClients(pw)).some((e) => e.attrs.id === `grant/${grantId}`), "gone from the list");
  });

  test("an OAUTHBEARER session shows the app and its grant in the list", async () => {
    const reg = await register(webApp("Listed While Connected"));
    const tokens = await authorize(reg, carol);
    const app = await bearerSession(tokens.access_token, carol);
    const pw = await passwordSession(carol);
    const entry = (await listClients(pw)).find((e) => softwareOf(e)?.text === "Listed While Connected");
    assert.ok(entry, "listed while connected");
    assert.equal(entry.attrs.connected, "true");
    assert.ok(
      child(entry, "auth")!.children.some((ch) => ch.name === "grant"),
      show(entry),
    );
    app.close();
  });

  test("RFC 7009 revocation revokes the grant: REST fails, the XMPP session closes", async () => {
    const reg = await register(webApp("Revoked By Itself"));
    const tokens = await authorize(reg, alice);
    const app = await bearerSession(tokens.access_token, alice);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, reg, clientAuth(reg), tokens.refresh_token!, insecure));
    await expectStreamError(app, "not-authorized");
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 401);
    // An unknown token is answered the same (RFC 7009 §2.2).
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, reg, clientAuth(reg), "secret-token:nothing", insecure));
  });

  test("the admin shell revokes a grant", async () => {
    const reg = await register(webApp("Revoked By The Admin"));
    const tokens = await authorize(reg, dave);
    const pw = await passwordSession(dave);
    const grantId = await grantIdOf(pw, "Revoked By The Admin");
    const r = await server.cli(["shell", "user", "revoke_client", dave.jid, `grant/${grantId}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 401);
    await oauthError(refresh(reg, tokens.refresh_token!), "invalid_grant");
  });

  test("a password change invalidates every grant issued before it", async () => {
    const reg = await register(webApp("Before The Password Change"));
    const tokens = await authorize(reg, erin);
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 200);
    const app = await bearerSession(tokens.access_token, erin);
    erin.password = "a-new-password";
    const r = await server.cli(["user", "passwd", erin.jid], `${erin.password}\n${erin.password}\n`);
    assert.equal(r.code, 0, r.stderr);
    await app.waitClosed(5000);
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 401);
    await oauthError(refresh(reg, tokens.refresh_token!), "invalid_grant");
    // A new authorisation works.
    const fresh = await authorize(reg, erin);
    assert.equal((await rest(fresh.access_token, "GET", "/rest/roster")).status, 200);
  });

  test("a restricted scope (xmpp:user) may chat but not manage the account's clients", async () => {
    const reg = await register(webApp("Restricted App"));
    const tokens = await authorize(reg, bob, { scope: "xmpp:user" });
    assert.equal(tokens.scope, "xmpp:user");
    assert.equal(tokens.refresh_token, undefined, "no refresh token without offline_access");
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 200);
    const app = await bearerSession(tokens.access_token, bob);
    const reply = await iq(app, (id) => `<iq type='get' id='${id}'><list xmlns='${NS_MANAGE}'/></iq>`);
    assert.equal(reply.attrs.type, "error");
    assert.ok(child(child(reply, "error")!, "forbidden"), show(reply));
    app.close();
  });

  test("consent per scope: unticking offline_access gives no refresh token", async () => {
    const reg = await register(webApp("Per-Scope Consent"));
    const tokens = await authorize(reg, bob, { scopes: ["xmpp"] });
    assert.equal(tokens.scope, "xmpp");
    assert.equal(tokens.refresh_token, undefined);
  });

  test("denying consent sends access_denied to the app", async () => {
    const reg = await register(webApp("Denied App"));
    const p = await pkce();
    const { page } = await consent(authorizationUrl(reg, p), bob, { decision: "deny" });
    assert.equal(page.status, 303);
    assert.throws(
      () => oauth.validateAuthResponse(as, reg, new URL(page.location!), p.state),
      (err: unknown) => err instanceof oauth.AuthorizationResponseError && err.error === "access_denied",
    );
  });
});

describe("refresh tokens and codes", () => {
  test("a reused refresh token revokes the grant", async () => {
    const reg = await register(webApp("Refresh Reuse"));
    const tokens = await authorize(reg, carol);
    const app = await bearerSession(tokens.access_token, carol);
    const second = await refresh(reg, tokens.refresh_token!);
    await oauthError(refresh(reg, tokens.refresh_token!), "invalid_grant", /already used/);
    // The whole grant is gone: the newer refresh token, the access tokens, the XMPP session.
    await oauthError(refresh(reg, second.refresh_token!), "invalid_grant");
    assert.equal((await rest(second.access_token, "GET", "/rest/roster")).status, 401);
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 401);
    await expectStreamError(app, "not-authorized");
  });

  test("a refresh token only works for its own client", async () => {
    const reg = await register(webApp("Owner App"));
    const other = await register(webApp("Other App"));
    const tokens = await authorize(reg, carol);
    await oauthError(refresh(other, tokens.refresh_token!), "invalid_grant");
    assert.ok(await refresh(reg, tokens.refresh_token!), "still good for its owner");
  });

  test("an authorization code is single-use; its second use revokes what the first obtained", async () => {
    const reg = await register(webApp("Code Reuse"));
    const p = await pkce();
    const { page } = await consent(authorizationUrl(reg, p), carol);
    const params = oauth.validateAuthResponse(as, reg, new URL(page.location!), p.state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      reg,
      await oauth.authorizationCodeGrantRequest(as, reg, clientAuth(reg), params, REDIRECT, p.verifier, insecure),
    );
    issued.push(tokens.access_token, tokens.refresh_token!);
    await oauthError(
      oauth.processAuthorizationCodeResponse(
        as,
        reg,
        await oauth.authorizationCodeGrantRequest(as, reg, clientAuth(reg), params, REDIRECT, p.verifier, insecure),
      ),
      "invalid_grant",
    );
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 401);
  });

  test("PKCE: required at the authorization endpoint, S256 only", async () => {
    const reg = await register(webApp("PKCE Required"));
    const p = await pkce();
    for (const params of [
      { code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge_method: "plain" },
      { code_challenge_method: undefined },
      { code_challenge: "short" },
    ]) {
      const res = await new Browser("").get(authorizationUrl(reg, p, params));
      assert.equal(res.status, 303, `an error redirect for ${JSON.stringify(params)}`);
      const loc = new URL(res.location!);
      assert.equal(loc.origin + loc.pathname, REDIRECT);
      assert.equal(loc.searchParams.get("error"), "invalid_request");
      assert.match(loc.searchParams.get("error_description")!, /PKCE|code_challenge/);
      assert.equal(loc.searchParams.get("state"), p.state);
    }
  });

  test("PKCE: a missing or wrong code_verifier fails at the token endpoint", async () => {
    const reg = await register(webApp("PKCE Verifier"));
    for (const verifier of [oauth.nopkce, oauth.generateRandomCodeVerifier()] as const) {
      const p = await pkce();
      const { page } = await consent(authorizationUrl(reg, p), carol);
      const params = oauth.validateAuthResponse(as, reg, new URL(page.location!), p.state);
      await oauthError(
        oauth.processAuthorizationCodeResponse(
          as,
          reg,
          await oauth.authorizationCodeGrantRequest(as, reg, clientAuth(reg), params, REDIRECT, verifier, insecure),
        ),
        verifier === oauth.nopkce ? "invalid_request" : "invalid_grant",
        /PKCE/,
      );
      // The code is spent even so: the right verifier no longer helps.
      await oauthError(
        oauth.processAuthorizationCodeResponse(
          as,
          reg,
          await oauth.authorizationCodeGrantRequest(as, reg, clientAuth(reg), params, REDIRECT, p.verifier, insecure),
        ),
        "invalid_grant",
      );
    }
  });

  test("the code is bound to its client and redirect URI", async () => {
    const reg = await register(webApp("Bound Code", { redirect_uris: [REDIRECT, "https://app.example.org/other"] }));
    const p = await pkce();
    const { page } = await consent(authorizationUrl(reg, p), carol);
    const params = oauth.validateAuthResponse(as, reg, new URL(page.location!), p.state);
    await oauthError(
      oauth.processAuthorizationCodeResponse(
        as,
        reg,
        await oauth.authorizationCodeGrantRequest(as, reg, clientAuth(reg), params, "https://app.example.org/other", p.verifier, insecure),
      ),
      "invalid_grant",
    );
  });
});

describe("client registration and redirect URIs", () => {
  test("the reference's validation rules", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["no client_name", { client_name: undefined }, "invalid_client_metadata"],
      ["no client_uri", { client_uri: undefined }, "invalid_client_metadata"],
      ["http client_uri", { client_uri: "http://app.example.org/" }, "invalid_client_metadata"],
      ["loopback client_uri", { client_uri: "https://localhost/" }, "invalid_client_metadata"],
      ["no redirect_uris", { redirect_uris: undefined }, "invalid_redirect_uri"],
      ["web: http redirect", { redirect_uris: ["http://app.example.org/cb"] }, "invalid_redirect_uri"],
      ["web: another host", { redirect_uris: ["https://evil.example.net/cb"] }, "invalid_redirect_uri"],
      ["web: a fragment", { redirect_uris: ["https://app.example.org/cb#x"] }, "invalid_redirect_uri"],
      ["web: loopback", { redirect_uris: ["http://127.0.0.1:8080/cb"] }, "invalid_redirect_uri"],
      ["native: scheme without a dot", { application_type: "native", redirect_uris: ["myapp:/cb"] }, "invalid_redirect_uri"],
      ["native: http on a public host", { application_type: "native", redirect_uris: ["http://app.example.org/cb"] }, "invalid_redirect_uri"],
      ["native: https", { application_type: "native", redirect_uris: ["https://app.example.org/cb"] }, "invalid_redirect_uri"],
      ["implicit grant", { grant_types: ["implicit"] }, "invalid_client_metadata"],
      ["password grant", { grant_types: ["password"] }, "invalid_client_metadata"],
      ["token response type", { response_types: ["token"] }, "invalid_client_metadata"],
      ["public web client", { token_endpoint_auth_method: "none" }, "invalid_client_metadata"],
      ["software_id not a UUID", { software_id: "not-a-uuid" }, "invalid_client_metadata"],
      ["logo on another host", { logo_uri: "https://cdn.example.net/logo.png" }, "invalid_client_metadata"],
    ];
    for (const [what, change, code] of cases) {
      const meta: Record<string, unknown> = { ...webApp("Bad App"), ...change };
      for (const k of Object.keys(change)) if (change[k] === undefined) delete meta[k];
      const r = await registerError(meta);
      assert.equal(r.status, 400, what);
      assert.equal(r.body.error, code, `${what}: ${JSON.stringify(r.body)}`);
    }
  });

  test("native apps: loopback (any port), private-use schemes and out-of-band", async () => {
    const reg = await register({
      client_name: "Native App",
      client_uri: "https://native.example.org/",
      application_type: "native",
      token_endpoint_auth_method: "none",
      redirect_uris: ["http://127.0.0.1/cb", "org.example.native:/cb", "urn:ietf:wg:oauth:2.0:oob"],
    });
    assert.equal(reg.client_secret, undefined, "a public client has no secret");
    assert.equal(reg.token_endpoint_auth_method, "none");
    // A loopback redirect may use any port (RFC 8252 §7.3).
    const p = await pkce();
    const url = authorizationUrl(reg, p, { redirect_uri: "http://127.0.0.1:49152/cb", scope: "xmpp" });
    const { page } = await consent(url, dave);
    assert.equal(page.status, 303);
    assert.equal(new URL(page.location!).origin, "http://127.0.0.1:49152");
    const params = oauth.validateAuthResponse(as, reg, new URL(page.location!), p.state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      reg,
      await oauth.authorizationCodeGrantRequest(as, reg, oauth.None(), params, "http://127.0.0.1:49152/cb", p.verifier, insecure),
    );
    issued.push(tokens.access_token);
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 200);
  });

  test("unknown clients and unregistered redirect URIs get an error page, never a redirect", async () => {
    const reg = await register(webApp("Strict Redirects"));
    const p = await pkce();
    const bad = [
      authorizationUrl(reg, p, { redirect_uri: "https://app.example.org/elsewhere" }),
      authorizationUrl(reg, p, { redirect_uri: "https://evil.example.net/callback" }),
      authorizationUrl({ ...reg, client_id: reg.client_id.slice(0, -2) + "xx" }, p),
      authorizationUrl({ ...reg, client_id: "nobody" }, p),
    ];
    for (const url of bad) {
      const page = await new Browser(url.origin).get(url);
      assert.equal(page.status, 400, url.href);
      assert.equal(page.location, undefined);
      assert.match(page.headers.get("content-type")!, /^text\/html/);
    }
  });
});

describe("the device authorization grant", () => {
  test("device flow end to end", async () => {
    const reg = await register({
      client_name: "Smart Fridge",
      client_uri: "https://fridge.example.org/",
      application_type: "native",
      token_endpoint_auth_method: "none",
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
      software_id: "7d4e5c3b-2a19-4c6e-8f0d-1b2a3c4d5e6f",
      software_version: "2.0",
    });
    const da = await oauth.processDeviceAuthorizationResponse(
      as,
      reg,
      await oauth.deviceAuthorizationRequest(as, reg, oauth.None(), { scope: "xmpp offline_access" }, insecure),
    );
    assert.match(da.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(da.verification_uri, `${as.issuer}/oauth2/device`);
    assert.equal(da.interval, 1);
    const poll = async () => oauth.processDeviceCodeResponse(as, reg, await oauth.deviceCodeGrantRequest(as, reg, oauth.None(), da.device_code, insecure));
    await oauthError(poll(), "authorization_pending");
    await oauthError(poll(), "slow_down");

    // The user, on another device's browser.
    const browser = new Browser(new URL(as.issuer).origin);
    const codePage = await browser.get(da.verification_uri_complete!);
    assert.equal(codePage.status, 200);
    const form = formOf(codePage);
    // A wrong code is refused without signing in.
    const wrong = await browser.submit(form, { action: "login", user_code: "BCDF-GHJK", username: alice.name, password: alice.password });
    assert.equal(wrong.status, 400);
    assert.match(wrong.html, /unknown or has expired/);
    const consentPage = await browser.submit(form, { action: "login", user_code: da.user_code.toLowerCase(), username: alice.name, password: alice.password });
    assert.equal(consentPage.status, 200, consentPage.html);
    assert.match(consentPage.html, /Smart Fridge/);
    assert.match(consentPage.html, /https:\/\/fridge\.example\.org\//);
    const done = await browser.submit(formOf(consentPage), { decision: "allow" });
    assert.equal(done.status, 200);
    assert.match(done.html, /Device connected/);

    await new Promise((r) => setTimeout(r, 6_100)); // the interval grew by 5 s with the slow_down
    const tokens = await poll();
    issued.push(tokens.access_token, tokens.refresh_token!);
    assert.equal(tokens.scope, "xmpp offline_access");
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 200);
    await oauthError(poll(), "invalid_grant"); // the device code is single-use
    const pw = await passwordSession(alice);
    const entry = (await listClients(pw)).find((e) => softwareOf(e)?.text === "Smart Fridge");
    assert.ok(entry, "the device's grant is listed");
    assert.equal(entry.attrs.type, "access");
    // The user code cannot be used again.
    const reuse = await browser.submit(form, { action: "login", user_code: da.user_code, username: alice.name, password: alice.password });
    assert.equal(reuse.status, 400);
  });

  test("a denied device gets access_denied", async () => {
    const reg = await register({
      client_name: "Denied Device",
      client_uri: "https://tv.example.org/",
      application_type: "native",
      token_endpoint_auth_method: "none",
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
    });
    const da = await oauth.processDeviceAuthorizationResponse(as, reg, await oauth.deviceAuthorizationRequest(as, reg, oauth.None(), {}, insecure));
    const browser = new Browser(new URL(as.issuer).origin);
    const consentPage = await browser.submit(formOf(await browser.get(da.verification_uri)), {
      action: "login",
      user_code: da.user_code,
      username: bob.name,
      password: bob.password,
    });
    await browser.submit(formOf(consentPage), { decision: "deny" });
    await oauthError(
      oauth.processDeviceCodeResponse(as, reg, await oauth.deviceCodeGrantRequest(as, reg, oauth.None(), da.device_code, insecure)),
      "access_denied",
    );
  });

  test("only clients registered for the device grant may start it", async () => {
    const reg = await register(webApp("No Device Grant"));
    await oauthError(
      oauth.processDeviceAuthorizationResponse(as, reg, await oauth.deviceAuthorizationRequest(as, reg, clientAuth(reg), {}, insecure)),
      "unauthorized_client",
    );
  });
});

describe("SASL OAUTHBEARER", () => {
  test("a bad token gets the JSON error challenge, then not-authorized (legacy SASL)", async () => {
    const { c } = await tlsStream();
    c.send(`<auth xmlns='${NS_SASL}' mechanism='OAUTHBEARER'>${gs2Bearer(alice, "secret-token:not-a-real-token")}</auth>`);
    const challenge = await waitForElement(c, (el) => el.name === "challenge" && el.ns === NS_SASL, "the error challenge");
    const body = JSON.parse(Buffer.from(challenge.text, "base64").toString()) as Record<string, unknown>;
    assert.equal(body.status, "invalid_token");
    assert.match(body["openid-configuration"] as string, /\/\.well-known\/oauth-authorization-server$/);
    c.send(`<response xmlns='${NS_SASL}'>AQ==</response>`);
    const failure = await waitForElement(c, (el) => el.name === "failure" && el.ns === NS_SASL, "the failure", 8000);
    assert.ok(child(failure, "not-authorized"), show(failure));
  });

  test("SASL2: login with a token, bad token challenge, and the session closed on revocation", async () => {
    const reg = await register(webApp("SASL2 App"));
    const tokens = await authorize(reg, dave);
    // A bad token first.
    const bad = await tlsStream();
    assert.match(bad.features, /<authentication xmlns=['"]urn:xmpp:sasl:2['"]>[\s\S]*<mechanism>OAUTHBEARER<\/mechanism>/);
    bad.c.send(
      `<authenticate xmlns='${NS_SASL2}' mechanism='OAUTHBEARER'><initial-response>${gs2Bearer(dave, tokens.access_token + "x")}</initial-response></authenticate>`,
    );
    const ch = await waitForElement(bad.c, (el) => el.name === "challenge" && el.ns === NS_SASL2, "the SASL2 error challenge");
    assert.equal((JSON.parse(Buffer.from(ch.text, "base64").toString()) as { status?: unknown }).status, "invalid_token");
    bad.c.send(`<response xmlns='${NS_SASL2}'>AQ==</response>`);
    const failure = await waitForElement(bad.c, (el) => el.name === "failure" && el.ns === NS_SASL2, "the SASL2 failure", 8000);
    assert.ok(child(failure, "not-authorized", NS_SASL), show(failure));

    // The good token, with a FAST token request that is ignored (it would outlive the grant).
    const { c } = await tlsStream();
    c.send(
      `<authenticate xmlns='${NS_SASL2}' mechanism='OAUTHBEARER'><initial-response>${gs2Bearer(undefined, tokens.access_token)}</initial-response>` +
        `<user-agent id='5a6b7c8d-0000-4000-8000-000000000001'><software>SASL2 App</software></user-agent>` +
        `<bind xmlns='urn:xmpp:bind:0'><tag>app</tag></bind><request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/></authenticate>`,
    );
    const success = await waitForElement(c, (el) => (el.name === "success" || el.name === "failure") && el.ns === NS_SASL2, "SASL2 success");
    assert.equal(success.name, "success", show(success));
    assert.equal(child(success, "token", "urn:xmpp:fast:0"), undefined, "no FAST token for a token login");
    assert.match(child(success, "authorization-identifier")!.text, /^dave@localhost\/app~/);
    const pw = await passwordSession(dave);
    const entry = (await listClients(pw)).find((e) => e.attrs.id === "client/5a6b7c8d-0000-4000-8000-000000000001");
    assert.ok(entry && child(child(entry, "auth")!, "grant"), "the SASL2 client is listed with its grant");
    // The grant is shown through its client (one entry per app); revoking the client revokes the grant.
    const reply = await revokeOverXmpp(pw, "client/5a6b7c8d-0000-4000-8000-000000000001");
    assert.equal(reply.attrs.type, "result", show(reply));
    await expectStreamError(c, "not-authorized");
    assert.equal((await rest(tokens.access_token, "GET", "/rest/roster")).status, 401);
  });

  test("OAUTHBEARER is not offered before TLS", async () => {
    const c = await RawClient.connect(server.c2sPort);
    sockets.push(c);
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    assert.doesNotMatch(c.received, /OAUTHBEARER/);
    c.close();
  });
});

describe("the HTTP service", () => {
  test("security headers, JSON errors, limits", async () => {
    const meta = await fetch(`http://127.0.0.1:${server.httpPort}/.well-known/oauth-authorization-server`);
    for (const h of ["x-content-type-options", "referrer-policy", "x-frame-options", "content-security-policy"]) assert.ok(meta.headers.get(h), `${h} is set`);
    const m = (await meta.json()) as Record<string, unknown>;
    assert.deepEqual(m.code_challenge_methods_supported, ["S256"]);
    assert.deepEqual(m.scopes_supported, ["xmpp", "xmpp:user", "offline_access"]);

    const missing = await fetch(`http://127.0.0.1:${server.httpPort}/nothing-here`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "not_found", error_description: "No such endpoint" });
    const wrongMethod = await fetch(as.token_endpoint!, { method: "GET" });
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as Record<string, string>).error, "invalid_request");

    const big = await fetch(as.registration_endpoint!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_name: "x".repeat(70 * 1024) }),
    });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as Record<string, string>).error, "invalid_request");

    const noToken = await fetch(restUrl("/rest/roster"));
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get("www-authenticate"), 'Bearer realm="localhost"');

    const badClient = await fetch(as.token_endpoint!, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Basic " + Buffer.from("nobody:secret").toString("base64") },
      body: "grant_type=refresh_token&refresh_token=x",
    });
    assert.equal(badClient.status, 401);
    assert.equal(((await badClient.json()) as Record<string, string>).error, "invalid_client");

    const https = await fetch(`http://127.0.0.1:${server.httpPort}/.well-known/oauth-authorization-server`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.org", "access-control-request-method": "GET" },
    });
    assert.equal(https.status, 204);
    assert.equal(https.headers.get("access-control-allow-origin"), "*");
    // The TLS listener, with the server's certificate, adds HSTS.
    const tlsMeta = await new Promise<{ status: number; hsts: string | undefined; issuer: string }>((resolve, reject) => {
      const r = httpsRequest(
        {
          host: "127.0.0.1",
          port: server.httpsPort,
          servername: "localhost",
          ca: server.caCert,
          path: "/.well-known/oauth-authorization-server",
          headers: { host: `localhost:${server.httpsPort}` },
        },
        (res) => {
          let t = "";
          res.on("data", (d) => {
            t += d;
          });
          res.on("end", () =>
            resolve({ status: res.statusCode!, hsts: res.headers["strict-transport-security"], issuer: (JSON.parse(t) as { issuer: string }).issuer }),
          );
        },
      );
      r.on("error", reject);
      r.end();
    });
    assert.equal(tlsMeta.status, 200);
    assert.match(tlsMeta.hsts!, /max-age=\d+/);
    assert.equal(tlsMeta.issuer, `https://localhost:${server.httpsPort}`);

    // REST input is checked.
    const reg = await register(webApp("REST Input"));
    const tokens = await authorize(reg, bob, { scope: "xmpp" });
    assert.equal((await rest(tokens.access_token, "POST", "/rest/message", { to: "someone@elsewhere.example", body: "hi" })).status, 400);
    assert.equal((await rest(tokens.access_token, "POST", "/rest/message", { to: bob.jid })).status, 400);
    assert.equal((await rest(tokens.access_token, "POST", "/rest/message", { to: bob.jid, body: "hi", type: "groupchat" })).status, 400);
    const form = await fetch(restUrl("/rest/message"), {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.access_token}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ to: alice.jid, body: "from a form" }),
    });
    assert.equal(form.status, 202);
  });

  test("the login form: CSRF, cross-site posts and wrong passwords", async () => {
    const reg = await register(webApp("CSRF Check"));
    const p = await pkce();
    const url = authorizationUrl(reg, p);
    const browser = new Browser(url.origin);
    const login = await browser.get(url);
    const form = formOf(login);
    assert.match(login.headers.get("content-security-policy")!, /frame-ancestors 'none'/);
    assert.match(login.headers.getSetCookie()[0]!, /HttpOnly; SameSite=Strict/);
    // Without the cookie (another browser), or from another site, or with a forged field.
    const stranger = new Browser(url.origin);
    assert.equal((await stranger.submit(form, { action: "login", username: alice.name, password: alice.password })).status, 403);
    assert.equal(
      (await browser.submit(form, { action: "login", username: alice.name, password: alice.password }, { origin: "https://evil.example.net" })).status,
      403,
    );
    assert.equal(
      (await browser.submit(form, { action: "login", username: alice.name, password: alice.password }, { "sec-fetch-site": "cross-site" })).status,
      403,
    );
    assert.equal((await browser.submit(form, { action: "login", csrf: "forged", username: alice.name, password: alice.password })).status, 403);
    const wrong = await browser.submit(form, { action: "login", username: alice.name, password: "wrong" });
    assert.equal(wrong.status, 403);
    assert.match(wrong.html, /Wrong username or password/);
    // A consent ticket from one browser does not work in another.
    const consentPage = await browser.submit(form, { action: "login", username: alice.name, password: alice.password });
    assert.equal(consentPage.status, 200);
    const thief = new Browser(url.origin);
    await thief.get(url);
    const stolen = await thief.submit(
      {
        ...formOf(consentPage),
        fields: formOf(consentPage)
          .fields.filter(([k]) => k !== "csrf")
          .concat([["csrf", formOf(await thief.get(url)).fields.find(([k]) => k === "csrf")![1]]]),
      },
      { decision: "allow" },
    );
    assert.equal(stolen.status, 400);
    assert.equal(stolen.location, undefined);
  });

  test("tokens never reach the log", () => {
    assert.ok(issued.length > 10);
    const log = JSON.stringify(server.logs);
    for (const t of issued) {
      assert.ok(!log.includes(t), "a token was logged");
      assert.ok(!log.includes(t.slice("secret-token:".length)), "a token was logged");
    }
  });
});

describe("short-lived codes and rate limits", () => {
  let short: TestServer;
  let shortAs: oauth.AuthorizationServer;
  before(async () => {
    short = await startServer({ oauth2_code_ttl: 1, oauth2_rate_limit: 8 });
    shortAs = await discover(short);
  });
  after(async () => {
    await short?.stop();
  });

  test("an expired code is refused", async () => {
    const user = await newUser("frank", short);
    const reg = await register(webApp("Slow App"), shortAs);
    const p = await pkce();
    const { page } = await consent(authorizationUrl(reg, p, {}, shortAs), user);
    const params = oauth.validateAuthResponse(shortAs, reg, new URL(page.location!), p.state);
    await new Promise((r) => setTimeout(r, 1200));
    await oauthError(
      oauth.processAuthorizationCodeResponse(
        shortAs,
        reg,
        await oauth.authorizationCodeGrantRequest(shortAs, reg, clientAuth(reg), params, REDIRECT, p.verifier, { ...insecure }),
      ),
      "invalid_grant",
      /expired/,
    );
  });

  test("the token endpoint is rate-limited per IP", async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await fetch(shortAs.token_endpoint!, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=authorization_code&client_id=nobody",
      });
      if (r.status === 429) limited = r;
      else await r.body?.cancel();
    }
    assert.ok(limited, "429 after oauth2_rate_limit requests in a minute");
    assert.ok(Number(limited.headers.get("retry-after")) > 0);
    assert.equal(((await limited.json()) as Record<string, string>).error, "slow_down");
  });
});
