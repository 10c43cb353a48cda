// Cross-site request forgery on every state-changing form (account page: sign-in, revoke, sign
// out everywhere else, change password, sign-out; OAuth: login, consent, device approval), the
// cookies' flags, the security headers of every HTML page (CSP with frame-ancestors, no
// framing in a real browser, no-store, nosniff), and HTTP framing held by the server: oversized
// bodies, malformed requests and request smuggling.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { ping } from "../helpers/xmpp-assert.js";
import { WebClient, csrfOf, rowOf, cell } from "../helpers/account-web.js";
import { authorizationUrl, formOf, OAuthBrowser, pkce, register, toConsent, tokenRequest, webApp, type Reg } from "../helpers/oauth-web.js";

const PW = "csrf-and-headers-password";
let server: TestServer;
let http: string;
let https: string;
let app: Reg;
const sockets: RawClient[] = [];
let users = 0;

before(async () => {
  server = await startServer({ oauth2_rate_limit: 100_000, http_max_body: 4096 });
  http = `http://127.0.0.1:${server.httpPort}`;
  https = `https://127.0.0.1:${server.httpsPort}`;
  app = await register(http, webApp("CSRF target"));
});
after(async () => {
  for (const s of sockets) s.close();
  await server?.stop();
});

async function newUser(): Promise<string> {
  const name = `u${++users}`;
  await server.addUser(name, PW);
  return name;
}

/** The forgeries tried on every form: [what, fields to add, headers]. */
function forgeries(csrf: string): Array<[string, Record<string, string | string[]>, Record<string, string>]> {
  const wrong = csrf.slice(0, -1) + (csrf.endsWith("A") ? "B" : "A");
  return [
    ["no token", {}, {}],
    ["a wrong token", { csrf: wrong }, {}],
    ["a repeated token", { csrf: [csrf, csrf] }, {}],
    ["a foreign Origin", { csrf }, { origin: "https://evil.example" }],
    ["a look-alike Origin", { csrf }, { origin: `${http}.evil.example` }],
    ["Sec-Fetch-Site: cross-site", { csrf }, { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site: same-site", { csrf }, { "sec-fetch-site": "same-site" }],
    ["Origin: null without Sec-Fetch-Site", { csrf }, { origin: "null" }],
  ];
}

describe("CSRF", () => {
  test("account page: revoke, sign out everywhere else, change password and sign-out refuse 8 kinds of forgery each (403) and change nothing", async () => {
    const user = await newUser();
    const phone = await RawClient.connect(server.c2sPort);
    sockets.push(phone);
    await phone.login(user, PW, "phone");
    const web = new WebClient(http);
    await web.signIn(user, PW);
    const page = await web.account();
    const csrf = csrfOf(page);
    const selector = [...page.matchAll(/data-client="(client\/[^"]+)"/g)].map((m) => m[1]!)[0]!;
    assert.ok(selector, "the phone is listed");
    const forms: Array<[string, Record<string, string>]> = [
      ["/account/revoke", { id: selector, password: PW }],
      ["/account/sign-out-others", { password: PW }],
      ["/account/password", { current_password: PW, new_password: "a-brand-new-password", confirm_password: "a-brand-new-password" }],
      ["/account/logout", {}],
    ];
    for (const [path, form] of forms) {
      for (const [what, extra, headers] of forgeries(csrf)) {
        const r = await web.post(path, { ...form, ...extra }, headers);
        assert.equal(r.status, 403, `${path} with ${what}: ${r.status} ${r.location ?? ""}`);
      }
    }
    // A GET never changes anything.
    assert.equal((await web.get("/account/logout")).status, 405);
    // Nothing happened: the phone is connected and listed, the password unchanged, this browser signed in.
    await ping(phone);
    assert.equal(cell(rowOf(await web.account(), selector)!, "Connected now"), "Yes");
    await new WebClient(http).signIn(user, PW);
    // Another signed-in browser's token does not work in this session, nor this one's in a stranger's.
    const other = new WebClient(http);
    await other.signIn(user, PW);
    assert.equal((await other.post("/account/sign-out-others", { csrf, password: PW })).status, 403);
    await ping(phone);
  });

  test("account sign-in: forged posts (8 kinds, or the token without its cookie) make no session", async () => {
    const user = await newUser();
    const web = new WebClient(http);
    const form = await web.get("/account/login");
    const csrf = csrfOf(form.text);
    for (const [what, extra, headers] of forgeries(csrf)) {
      const r = await web.post("/account/login", { username: user, password: PW, ...extra }, headers);
      assert.equal(r.status, 403, `sign-in with ${what}: ${r.status}`);
      assert.ok(!r.cookies.some((c) => /^warden_account=[^;]/.test(c)), `${what}: no session cookie`);
    }
    const stranger = new WebClient(http);
    assert.equal((await stranger.post("/account/login", { csrf, username: user, password: PW })).status, 403, "the token without its cookie");
  });

  test("OAuth login and consent: forged posts are refused; a forged consent brings no code to the app", async () => {
    const user = await newUser();
    const url = authorizationUrl(http, app, pkce());
    const b = new OAuthBrowser(http);
    const login = await b.get(url);
    const form = formOf(login);
    const csrf = form.fields.find(([k]) => k === "csrf")![1];
    for (const [what, extra, headers] of forgeries(csrf)) {
      const fields: Record<string, string | string[]> = { action: "login", username: user, password: PW, ...extra };
      const body = new URLSearchParams();
      for (const [k, v] of form.fields) if (k !== "csrf") body.append(k, v);
      for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) body.append(k, one);
      const res = await fetch(`${http}/oauth2/authorize`, {
        method: "POST",
        redirect: "manual",
        body,
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: b.cookieHeader(), ...headers },
      });
      assert.equal(res.status, 403, `OAuth login with ${what}: ${res.status}`);
    }
    const { browser, consent } = await toConsent(authorizationUrl(http, app, pkce()), user, PW);
    const cform = formOf(consent);
    for (const headers of [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }] as Array<Record<string, string>>) {
      const r = await browser.submit(cform, { decision: "allow" }, headers);
      assert.equal(r.status, 403, `consent from ${JSON.stringify(headers)}`);
      assert.equal(r.location, undefined, "no redirect with a code");
    }
    const forged = await browser.submit(cform, { decision: "allow", csrf: "forged" });
    assert.equal(forged.status, 403);
    // The genuine form still works once (the forgeries did not spend it).
    assert.equal((await browser.submit(cform, { decision: "allow" })).status, 303);
  });

  test("device approval: a forged approval is refused and the device stays pending", async () => {
    const user = await newUser();
    const dev = await register(http, {
      ...webApp("CSRF device"),
      application_type: "native",
      redirect_uris: [],
      grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
      token_endpoint_auth_method: "none",
    });
    const res = await fetch(`${http}/oauth2/device_authorization`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: dev.client_id, scope: "xmpp" }),
    });
    const da = (await res.json()) as Record<string, string>;
    const b = new OAuthBrowser(http);
    const consent = await b.submit(formOf(await b.get(da.verification_uri!)), { action: "login", user_code: da.user_code!, username: user, password: PW });
    assert.equal(consent.status, 200, consent.html);
    const form = formOf(consent);
    assert.equal((await b.submit(form, { decision: "allow" }, { origin: "https://evil.example" })).status, 403);
    assert.equal((await b.submit(form, { decision: "allow", csrf: "forged" })).status, 403);
    assert.equal((await new OAuthBrowser(http).submit(form, { decision: "allow" })).status, 403, "another browser (no cookie)");
    const poll = await tokenRequest(http, dev, { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: da.device_code! });
    assert.equal(poll.body.error, "authorization_pending", JSON.stringify(poll.body));
  });
});

// --- cookies and headers -------------------------------------------------------------------------

function attrs(setCookie: string): { name: string; flags: Map<string, string> } {
  const [pair, ...rest] = setCookie.split(";");
  const flags = new Map<string, string>();
  for (const a of rest) {
    const eq = a.indexOf("=");
    flags.set((eq < 0 ? a : a.slice(0, eq)).trim().toLowerCase(), eq < 0 ? "" : a.slice(eq + 1).trim());
  }
  return { name: pair!.slice(0, pair!.indexOf("=")).trim(), flags };
}

describe("cookies and headers", () => {
  before(() => {
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  });
  after(() => {
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  });

  test("over HTTPS every cookie is __Host-, Secure, HttpOnly, SameSite=Strict, Path=/ and has no Domain; over plain HTTP the same but Secure and the prefix", async () => {
    const user = await newUser();
    for (const [base, tls] of [
      [https, true],
      [http, false],
    ] as const) {
      const seen: string[] = [];
      const web = new WebClient(base);
      seen.push(...(await web.get("/account/login")).cookies);
      seen.push(...(await web.signIn(user, PW)).cookies);
      seen.push(...(await new OAuthBrowser(base).get(authorizationUrl(base, app, pkce()))).cookies);
      const names = new Set<string>();
      for (const c of seen) {
        const { name, flags } = attrs(c);
        names.add(name);
        assert.equal(flags.has("httponly"), true, `${c}: HttpOnly`);
        assert.equal(flags.get("samesite")?.toLowerCase(), "strict", `${c}: SameSite=Strict`);
        assert.equal(flags.get("path"), "/", `${c}: Path=/`);
        assert.equal(flags.has("domain"), false, `${c}: no Domain`);
        assert.equal(flags.has("secure"), tls, `${c}: Secure over TLS only`);
        assert.equal(name.startsWith("__Host-"), tls, `${c}: __Host- over TLS`);
      }
      const session = tls ? "__Host-warden_account" : "warden_account";
      assert.ok(names.has(session), `the session cookie ${session} among ${[...names].join(", ")}`);
    }
  });

  test("every HTML page: CSP with default-src 'none', frame-ancestors 'none', base-uri 'none' and no inline script; X-Frame-Options DENY, nosniff, no-store, a referrer policy; HSTS over TLS", async () => {
    const user = await newUser();
    const web = new WebClient(https);
    const pages: Array<[string, Response | { headers: Headers; status: number }]> = [];
    pages.push(["/account/login", await web.get("/account/login")]);
    pages.push(["/account/login (failed)", await web.post("/account/login", { csrf: "x", username: user, password: "x" })]);
    await web.signIn(user, PW);
    pages.push(["/account", await web.get("/account")]);
    pages.push(["/account/sign-out-others", await web.get("/account/sign-out-others")]);
    await new WebClient(https).signIn(user, PW);
    const other = [...(await web.get("/account")).text.matchAll(/<tr(?! class="current")[^>]*data-client="(web\/[^"]+)"/g)].map((m) => m[1]!)[0]!;
    const confirm = await web.get(`/account/revoke?id=${encodeURIComponent(other)}`);
    assert.equal(confirm.status, 200, "the revoke confirmation of another browser");
    pages.push(["/account/revoke", confirm]);
    pages.push(["/account/fragment", await web.get("/account/fragment")]);
    pages.push(["a form that expired", await web.post("/account/password", { csrf: "x" })]);
    const b = new OAuthBrowser(https);
    const login = await b.get(authorizationUrl(https, app, pkce()));
    pages.push(["the OAuth login page", login]);
    pages.push(["the OAuth consent page", await b.submit(formOf(login), { action: "login", username: user, password: PW })]);
    pages.push(["an OAuth error page", await b.get(`${https}/oauth2/authorize?client_id=forged`)]);
    pages.push(["the device page", await b.get(`${https}/oauth2/device`)]);
    for (const [what, r] of pages) {
      const h = r.headers;
      assert.match(h.get("content-type") ?? "", /^text\/html; charset=utf-8$/, `${what}: ${r.status}`);
      const csp = h.get("content-security-policy") ?? "";
      for (const d of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) assert.ok(csp.includes(d), `${what}: ${d} in ${csp}`);
      assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|script-src[^;]*(\*|https?:|data:)/, `${what}: no inline or remote script in ${csp}`);
      assert.equal(h.get("x-frame-options"), "DENY", what);
      assert.equal(h.get("x-content-type-options"), "nosniff", what);
      assert.match(h.get("cache-control") ?? "", /no-store/, what);
      assert.match(h.get("referrer-policy") ?? "", /^(no-referrer|same-origin)$/, what);
      assert.match(h.get("strict-transport-security") ?? "", /max-age=\d{6,}/, what);
    }
    // JSON answers carrying tokens are not cached or sniffed either.
    const token = await fetch(`${https}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=x",
    });
    assert.match(token.headers.get("cache-control") ?? "", /no-store/);
    assert.equal(token.headers.get("x-content-type-options"), "nosniff");
  });

  test("Chromium: another site cannot frame the account page or the OAuth pages", async () => {
    assert.ok(existsSync("/usr/bin/chromium"));
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await ctx.newPage();
      for (const path of ["/account/login", "/oauth2/device", authorizationUrl(https, app, pkce()).pathname + authorizationUrl(https, app, pkce()).search]) {
        await page.setContent(`<iframe id="f" src="${https}${path.replace(/&/g, "&amp;")}"></iframe>`);
        await page.waitForTimeout(1500);
        const framed = page.frames().find((f) => f !== page.mainFrame());
        const loaded = framed ? await framed.evaluate("document.querySelector('form') !== null").catch(() => false) : false;
        assert.equal(loaded, false, `${path} was rendered inside another site's frame`);
      }
    } finally {
      await browser.close();
    }
  });
});

// --- HTTP framing --------------------------------------------------------------------------------

/** Whether the server closed the connection of the last raw() request. */
let lastClosed = false;

/** Sends raw bytes to the plain HTTP port; returns everything answered until the server closes (or 3 s pass). */
async function raw(bytes: string | Buffer): Promise<string> {
  lastClosed = false;
  const s = net.connect(server.httpPort, "127.0.0.1");
  let out = "";
  s.on("data", (d) => {
    out += d.toString("latin1");
  });
  s.on("error", () => {});
  await new Promise<void>((res) => s.once("connect", () => res()));
  s.write(bytes);
  await new Promise<void>((res) => {
    const t = setTimeout(res, 3000);
    s.once("close", () => {
      lastClosed = true;
      clearTimeout(t);
      res();
    });
  });
  s.destroy();
  return out;
}

const statuses = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));

describe("HTTP framing", () => {
  test("an oversized body gets 413, declared or streamed (chunked), and the connection is closed", async () => {
    const declared = await raw(
      `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n${"a".repeat(5000)}`,
    );
    assert.deepEqual(statuses(declared), [413], declared);
    assert.equal(lastClosed, true, "closed after the declared oversized body");
    const chunk = "a".repeat(3000);
    const streamed = await raw(
      `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.deepEqual(statuses(streamed), [413], streamed);
    assert.equal(lastClosed, true, "closed after the streamed oversized body");
  });

  test("malformed requests get 400 (bad request line, header without a colon, no Host, a bad Host, a bad chunk size)", async () => {
    const cases: Array<[string, string]> = [
      ["a bad request line", "BLAH\r\n\r\n"],
      ["a header without a colon", "GET /account/login HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n"],
      ["no Host", "GET /account/login HTTP/1.1\r\n\r\n"],
      ["a bad Host", "GET /account/login HTTP/1.1\r\nHost: evil.example/<script>\r\n\r\n"],
      ["a bad chunk size", "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"],
    ];
    for (const [what, req] of cases) assert.deepEqual(statuses(await raw(req)), [400], what);
  });

  test("request smuggling: Content-Length with Transfer-Encoding, obfuscated Transfer-Encoding, or two Content-Lengths are refused and the smuggled request never runs", async () => {
    const smuggled = "GET /nothing-smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const cases: Array<[string, string]> = [
      ["CL.TE", `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
      [
        "TE.CL",
        `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
      ],
      [
        "TE with a space before the colon",
        `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled}`,
      ],
      ["TE: chunked, identity", `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`],
      ["two different Content-Lengths", `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n${smuggled}`],
    ];
    for (const [what, req] of cases) {
      const answer = await raw(req);
      const s = statuses(answer);
      assert.deepEqual(s, [400], `${what}: one 400 and nothing else (a second answer is the smuggled request): ${answer}`);
    }
  });

  test("headers too large get 431, a URL too long gets 414", async () => {
    assert.deepEqual(statuses(await raw(`GET /account/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`)), [431]);
    assert.deepEqual(statuses(await raw(`GET /account/login?${"a".repeat(9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)), [414]);
  });
});
