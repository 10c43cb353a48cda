// Attacks on the OAuth 2.0 authorization server, one test each: PKCE downgrade, authorization
// code replay, reuse of a rotated refresh token, consent form replay, a tampered authorization
// request, and open redirects (unregistered or look-alike redirect URIs, errors that must not be
// redirected, the account page's sign-in that must not redirect off-site).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { WebClient, csrfOf } from "../helpers/account-web.js";
import {
  REDIRECT,
  authorizationUrl,
  codeOf,
  exchangeCode,
  formOf,
  pkce,
  refreshWith,
  register,
  restStatus,
  toConsent,
  webApp,
  OAuthBrowser,
  type Reg,
} from "../helpers/oauth-web.js";

let server: TestServer;
let base: string;
let app: Reg;
const PW = "correct horse battery staple";

before(async () => {
  server = await startServer({ oauth2_rate_limit: 100_000 });
  base = `http://127.0.0.1:${server.httpPort}`;
  await server.addUser("alice", PW);
  app = await register(base, webApp("Attack target"));
});
after(async () => {
  await server?.stop();
});

/** An error redirect to the app: its error code (asserting it goes to the registered URI only). */
function errorRedirect(p: { status: number; location?: string; html: string }): string {
  assert.equal(p.status, 303, `expected an error redirect: ${p.status} ${p.html}`);
  const loc = new URL(p.location!);
  assert.equal(loc.origin + loc.pathname, REDIRECT, `an error goes only to the registered redirect URI, not ${p.location}`);
  assert.equal(loc.searchParams.get("code"), null, "no code with an error");
  return loc.searchParams.get("error") ?? "";
}

describe("PKCE downgrade", () => {
  test("code_challenge_method=plain is refused before any login form (invalid_request to the app)", async () => {
    const p = pkce();
    const page = await new OAuthBrowser(base).get(authorizationUrl(base, app, p, { code_challenge: p.verifier, code_challenge_method: "plain" }));
    assert.equal(errorRedirect(page), "invalid_request");
  });

  test("no code_challenge at all, or no method, is refused (PKCE is required)", async () => {
    const p = pkce();
    assert.equal(
      errorRedirect(await new OAuthBrowser(base).get(authorizationUrl(base, app, p, { code_challenge: undefined, code_challenge_method: undefined }))),
      "invalid_request",
    );
    assert.equal(errorRedirect(await new OAuthBrowser(base).get(authorizationUrl(base, app, p, { code_challenge_method: undefined }))), "invalid_request");
  });

  test("a tampered authorization request (the signed hidden field changed to drop the challenge) is refused at consent", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const form = formOf(consent);
    const signed = form.fields.find(([k]) => k === "request")![1];
    const tampered = signed.slice(0, -4) + (signed.endsWith("AAAA") ? "BBBB" : "AAAA");
    const r = await browser.submit(form, { decision: "allow", request: tampered });
    assert.equal(r.status, 400, r.html);
    assert.equal(r.location, undefined, "no redirect");
  });

  test("a wrong or missing code_verifier fails, and the code is spent: the right verifier afterwards fails too", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const code = codeOf(await browser.submit(formOf(consent), { decision: "allow" }));
    const missing = await exchangeCode(base, app, code, "");
    assert.equal(missing.status, 400);
    const p2 = pkce();
    const { browser: b2, consent: c2 } = await toConsent(authorizationUrl(base, app, p2), "alice", PW);
    const code2 = codeOf(await b2.submit(formOf(c2), { decision: "allow" }));
    const wrong = await exchangeCode(base, app, code2, pkce().verifier);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, "invalid_grant");
    const late = await exchangeCode(base, app, code2, p2.verifier);
    assert.equal(late.status, 400, "the code was spent by the failed attempt");
    assert.equal(late.body.error, "invalid_grant");
  });
});

describe("replay", () => {
  test("authorization code replay: the second use fails and revokes what the first obtained (access and refresh token)", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const code = codeOf(await browser.submit(formOf(consent), { decision: "allow" }));
    const first = await exchangeCode(base, app, code, p.verifier);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(await restStatus(server, first.body.access_token!), 200, "the access token works before the replay");
    const second = await exchangeCode(base, app, code, p.verifier);
    assert.equal(second.status, 400);
    assert.equal(second.body.error, "invalid_grant");
    assert.equal(await restStatus(server, first.body.access_token!), 401, "the first use's access token is revoked");
    const r = await refreshWith(base, app, first.body.refresh_token!);
    assert.equal(r.status, 400, "the first use's refresh token is revoked");
    assert.equal(r.body.error, "invalid_grant");
  });

  test("reuse of a rotated refresh token ends the whole grant: the new access token and the new refresh token stop working", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const t1 = await exchangeCode(base, app, codeOf(await browser.submit(formOf(consent), { decision: "allow" })), p.verifier);
    const t2 = await refreshWith(base, app, t1.body.refresh_token!);
    assert.equal(t2.status, 200, JSON.stringify(t2.body));
    assert.notEqual(t2.body.refresh_token, t1.body.refresh_token, "rotated");
    assert.equal(await restStatus(server, t2.body.access_token!), 200);
    const reuse = await refreshWith(base, app, t1.body.refresh_token!);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, "invalid_grant");
    assert.equal(await restStatus(server, t2.body.access_token!), 401, "the new access token is revoked with the grant");
    assert.equal(await restStatus(server, t1.body.access_token!), 401, "the old access token too");
    const next = await refreshWith(base, app, t2.body.refresh_token!);
    assert.equal(next.status, 400, "the new refresh token is revoked with the grant");
  });

  test("consent form replay: posting the same consent form twice yields one code, not two (the ticket is single-use)", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const form = formOf(consent);
    const first = await browser.submit(form, { decision: "allow" });
    const code = codeOf(first);
    const again = await browser.submit(form, { decision: "allow" });
    assert.equal(again.status, 400, `the replayed consent must be refused: ${again.status} ${again.location ?? ""}`);
    assert.equal(again.location, undefined, "no second redirect with a code");
    assert.match(again.html, /already answered/);
    const t = await exchangeCode(base, app, code, p.verifier);
    assert.equal(t.status, 200, "the one code given works");
  });

  test("consent replay after a deny cannot turn it into an allow", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const form = formOf(consent);
    assert.equal(errorRedirect(await browser.submit(form, { decision: "deny" })), "access_denied");
    const allow = await browser.submit(form, { decision: "allow" });
    assert.equal(allow.status, 400, `allow after deny: ${allow.status} ${allow.location ?? ""}`);
  });

  test("device approval replay: the same consent form posted twice approves once; the second post is refused", async () => {
    const dev = await register(base, {
      ...webApp("Device app"),
      application_type: "native",
      redirect_uris: [],
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
      token_endpoint_auth_method: "none",
    });
    const res = await fetch(`${base}/oauth2/device_authorization`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: dev.client_id, scope: "xmpp" }),
    });
    const da = (await res.json()) as Record<string, string>;
    assert.equal(res.status, 200, JSON.stringify(da));
    const browser = new OAuthBrowser(base);
    const consent = await browser.submit(formOf(await browser.get(da.verification_uri!)), {
      action: "login",
      user_code: da.user_code!,
      username: "alice",
      password: PW,
    });
    assert.equal(consent.status, 200, consent.html);
    const form = formOf(consent);
    assert.equal((await browser.submit(form, { decision: "allow" })).status, 200);
    assert.equal((await browser.submit(form, { decision: "allow" })).status, 400, "the replayed approval is refused");
  });
});

describe("open redirects", () => {
  const lookalikes = [
    "https://evil.example/callback",
    "//evil.example/callback",
    "https://app.example.org@evil.example/callback",
    "https://evil.example@app.example.org/callback",
    "https://app.example.org\\@evil.example/callback",
    "https:\\\\evil.example\\callback",
    "https://app.example.org/callback#@evil.example",
    "https://app.example.org/callback/../../evil",
    "https://app.example.org/callback?next=https://evil.example",
    "https://app.example.org.evil.example/callback",
    "HTTPS://APP.EXAMPLE.ORG/callback",
    "javascript:alert(document.domain)//https://app.example.org/callback",
    "data:text/html,<script>alert(1)</script>",
  ];

  test(`${lookalikes.length} look-alike redirect URIs: each gets an error page, never a redirect`, async () => {
    for (const uri of lookalikes) {
      const p = pkce();
      const page = await new OAuthBrowser(base).get(authorizationUrl(base, app, p, { redirect_uri: uri }));
      assert.equal(page.status, 400, `${uri}: ${page.status} ${page.location ?? ""}`);
      assert.equal(page.location, undefined, `${uri} must not be redirected to`);
      assert.doesNotMatch(page.html, /name="password"/, `${uri}: no login form`);
    }
  });

  test("errors about the request itself (bad response_type, no PKCE) are not redirected to an unregistered URI", async () => {
    const p = pkce();
    const page = await new OAuthBrowser(base).get(
      authorizationUrl(base, app, p, { redirect_uri: "https://evil.example/cb", response_type: "token", code_challenge: undefined }),
    );
    assert.equal(page.status, 400);
    assert.equal(page.location, undefined);
    const unknown = await new OAuthBrowser(base).get(authorizationUrl(base, { client_id: "forged" }, p, { redirect_uri: "https://evil.example/cb" }));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.location, undefined, "an unknown client is never redirected");
  });

  test("registration refuses redirect URIs with a fragment, credentials, another host, plain http, or a script scheme", async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [webApp("x", { redirect_uris: ["https://app.example.org/cb#frag"] }), "fragment"],
      [webApp("x", { redirect_uris: ["https://user:pw@app.example.org/cb"] }), "credentials"],
      [webApp("x", { redirect_uris: ["https://evil.example/cb"] }), "another host"],
      [webApp("x", { redirect_uris: ["http://app.example.org/cb"] }), "plain http"],
      [webApp("x", { redirect_uris: ["javascript:alert(1)"] }), "javascript:"],
      [webApp("x", { application_type: "native", token_endpoint_auth_method: "none", redirect_uris: ["javascript:alert(1)"] }), "native javascript:"],
      [webApp("x", { application_type: "native", token_endpoint_auth_method: "none", redirect_uris: ["http://evil.example/cb"] }), "native non-loopback http"],
      [webApp("x", { client_uri: "javascript:alert(1)" }), "javascript: client_uri"],
      [webApp("x", { logo_uri: "https://evil.example/logo.png" }), "logo on another host"],
    ];
    for (const [meta, what] of bad) {
      const res = await fetch(`${base}/oauth2/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(meta) });
      const body = (await res.json()) as Record<string, string>;
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(body)}`);
      assert.match(body.error!, /^invalid_(redirect_uri|client_metadata)$/, what);
    }
  });

  test("a native app's loopback redirect: any port, but no credentials, other host or fragment", async () => {
    const native = await register(
      base,
      webApp("Native", { application_type: "native", token_endpoint_auth_method: "none", redirect_uris: ["http://127.0.0.1/cb"] }),
    );
    const p = pkce();
    const ok = await new OAuthBrowser(base).get(authorizationUrl(base, native, p, { redirect_uri: "http://127.0.0.1:49152/cb" }));
    assert.equal(ok.status, 200, "another loopback port is fine (RFC 8252 §7.3)");
    for (const uri of [
      "http://127.0.0.1@evil.example/cb",
      "http://127.0.0.1.evil.example/cb",
      "http://127.0.0.1:49152/cb#x",
      "http://u:p@127.0.0.1:49152/cb",
      "http://127.0.0.1:49152/other",
    ]) {
      const page = await new OAuthBrowser(base).get(authorizationUrl(base, native, p, { redirect_uri: uri }));
      assert.equal(page.status, 400, `${uri}: ${page.status} ${page.location ?? ""}`);
      assert.equal(page.location, undefined);
    }
  });

  test("the account page's sign-in always lands on /account, whatever next/return/redirect parameters say", async () => {
    const web = new WebClient(base);
    const form = await web.get("/account/login?next=https://evil.example/&return_to=//evil.example&redirect_uri=https://evil.example");
    assert.equal(form.status, 200);
    assert.doesNotMatch(form.text, /evil\.example/, "the parameters are not echoed into the page");
    const r = await web.request("POST", "/account/login?next=https://evil.example/", {
      form: { csrf: csrfOf(form.text), username: "alice", password: PW, next: "https://evil.example/", redirect_uri: "//evil.example" },
      headers: { origin: base },
    });
    assert.equal(r.status, 303);
    assert.equal(r.location, "/account");
  });
});

describe("after a restart", () => {
  test("a rotated refresh token reused after a restart still ends the whole grant (reuse detection is stored, not in memory)", async () => {
    const p = pkce();
    const { browser, consent } = await toConsent(authorizationUrl(base, app, p), "alice", PW);
    const t1 = await exchangeCode(base, app, codeOf(await browser.submit(formOf(consent), { decision: "allow" })), p.verifier);
    const t2 = await refreshWith(base, app, t1.body.refresh_token!);
    assert.equal(t2.status, 200, JSON.stringify(t2.body));
    await server.restart();
    assert.equal(await restStatus(server, t2.body.access_token!), 200, "the current access token survives the restart");
    const reuse = await refreshWith(base, app, t1.body.refresh_token!);
    assert.equal(reuse.body.error, "invalid_grant");
    assert.equal(await restStatus(server, t2.body.access_token!), 401, "the grant ended");
    assert.equal((await refreshWith(base, app, t2.body.refresh_token!)).status, 400, "its current refresh token too");
  });
});
