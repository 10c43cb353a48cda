// Script injection through every client-supplied string, wherever it is shown: SASL2
// <user-agent> id, software and device, the bound resource, OAuth client_name,
// software_version and client_uri, the username typed in the login forms, the device page's
// user code. Each must come out escaped in the HTML (account page list, security history,
// revoke confirmation, live fragment, OAuth login and consent pages, device page), and in a
// real browser (Chromium via playwright-core) no script may run and no injected element or
// event handler may exist. In plain-text places (the shell's table, the new-client notice)
// line breaks, terminal controls and bidi overrides must not come through.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { chromium, type Browser, type Page } from "playwright-core";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { elementsOf, type XmlEl } from "../helpers/xml.js";
import { authenticateXml, bindXml, expectSasl2Success, plainInitialResponse, sasl2Stream } from "../helpers/sasl2-client.js";
import { WebClient, csrfOf } from "../helpers/account-web.js";
import { authorizationUrl, authorize, formOf, OAuthBrowser, pkce, register, toConsent, webApp, type Reg } from "../helpers/oauth-web.js";

const CHROMIUM = "/usr/bin/chromium";
const PW = "injection-test-password";

// One payload per field, each setting window.__xss and calling alert() if it ever runs.
const P = {
  software: `<script>window.__xss='software';alert('software')</script>`,
  device: `"><img src=x onerror="window.__xss='device';alert('device')">`,
  clientId: `x'"><svg onload="window.__xss='id';alert('id')">`,
  resource: `'"><iframe srcdoc="<script>parent.__xss='resource'</script>">`,
  clientName: `</b><script>window.__xss='client_name';alert('client_name')</script>`,
  version: `"><img src=x onerror="window.__xss='version'">`,
  username: `"><script>window.__xss='username';alert('username')</script>`,
};
/** What must never reach a page or message unescaped. */
const RAW = ["<script>window.__xss", "<img src=x", "<svg onload", "<iframe", "</b><script>"];

/** Plain-text attacks: a forged second line, a C1 CSI (terminal escape), a bidi override. */
const FORGED = "Evil\nWarden: your account is locked, sign in at https://evil.example \u009b31m\u202Egnp.exe";

let server: TestServer;
let browser: Browser;
let app: Reg;
let observer: RawClient;
const sockets: RawClient[] = [];

const xmlEsc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");
const htmlEsc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing`);
  server = await startServer({ oauth2_rate_limit: 100_000 });
  await server.addUser("alice", PW);
  // Another client of the account, to receive the new-client notices.
  observer = await RawClient.connect(server.c2sPort);
  sockets.push(observer);
  await observer.login("alice", PW, "observer");
  // SASL2 client with a hostile id, software and device (kept connected).
  const { c } = await sasl2Stream(server.c2sPort);
  sockets.push(c);
  c.send(
    authenticateXml("PLAIN", plainInitialResponse("alice", PW), {
      userAgent: { id: P.clientId, software: P.software, device: P.device },
      extra: bindXml("xss"),
    }),
  );
  await expectSasl2Success(c);
  // A second SASL2 client whose software forges lines and terminal escapes.
  const f = await sasl2Stream(server.c2sPort);
  sockets.push(f.c);
  f.c.send(
    authenticateXml("PLAIN", plainInitialResponse("alice", PW), {
      userAgent: { id: randomUUID(), software: FORGED, device: FORGED },
      extra: bindXml("forged"),
    }),
  );
  await expectSasl2Success(f.c);
  // A legacy client with a hostile resource.
  const legacy = await RawClient.connect(server.c2sPort);
  sockets.push(legacy);
  await legacy.login("alice", PW, xmlEsc(P.resource));
  // An OAuth app with a hostile name and version, authorized by alice.
  app = await register(
    `http://127.0.0.1:${server.httpPort}`,
    webApp(P.clientName, { software_version: P.version, client_uri: `https://app.example.org/"><script>window.__xss='uri'</script>` }),
  );
  await authorize(server, app, "alice", PW);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", "--disable-background-networking"],
  });
});

after(async () => {
  for (const s of sockets) s.close();
  await browser?.close();
  await server?.stop();
});

/** None of the raw payloads; and (for the given ones) their escaped form is there, so the field was shown at all. */
function assertEscaped(html: string, shown: string[], what: string): void {
  for (const raw of RAW) assert.ok(!html.includes(raw), `${what}: raw ${raw} in the page`);
  for (const p of shown) assert.ok(html.includes(htmlEsc(p)), `${what}: the escaped ${p} is not in the page`);
}

test("the account page (list, security history, live fragment, revoke confirmation) escapes the SASL2 id, software and device, the resource, and the app's name and version", async () => {
  const web = new WebClient(`http://127.0.0.1:${server.httpPort}`);
  await web.signIn("alice", PW);
  const page = await web.account();
  assertEscaped(page, [P.software, P.device, P.clientId, P.resource, P.clientName, P.version], "/account");
  const history = page.slice(page.indexOf(`id="history-table"`));
  assertEscaped(history, [P.software, P.device, P.clientName], "the security history");
  const frag = await web.get("/account/fragment");
  assertEscaped(frag.text, [P.software, P.device, P.clientName], "/account/fragment");
  const confirm = await web.get(`/account/revoke?id=${encodeURIComponent(`client/${P.clientId}`)}`);
  assert.equal(confirm.status, 200, `the confirmation for the hostile id: ${confirm.status} ${confirm.location ?? ""}`);
  assertEscaped(confirm.text, [P.software, P.device, `client/${P.clientId}`], "/account/revoke");
});

test("the login forms echo a hostile username escaped (account page, OAuth, device page) and the device page's user_code too", async () => {
  const web = new WebClient(`http://127.0.0.1:${server.httpPort}`);
  const form = await web.get("/account/login");
  const r = await web.post("/account/login", { csrf: csrfOf(form.text), username: P.username, password: "wrong" });
  assert.equal(r.status, 403);
  assertEscaped(r.text, [P.username], "/account/login after a failure");

  const base = `http://127.0.0.1:${server.httpPort}`;
  const b = new OAuthBrowser(base);
  const login = await b.get(authorizationUrl(base, app, pkce()));
  assertEscaped(login.html, [P.clientName, P.version], "the OAuth login page");
  const failed = await b.submit(formOf(login), { action: "login", username: P.username, password: "wrong" });
  assertEscaped(failed.html, [P.username], "the OAuth login page after a failure");

  const code = `"><svg onload=x>`;
  const device = await b.get(`${base}/oauth2/device?user_code=${encodeURIComponent(code)}`);
  assert.ok(!device.html.includes(code), "the user code is not echoed raw");
  assertEscaped(device.html, [code], "the device page");
  const deviceFailed = await b.submit(formOf(device), { action: "login", user_code: "BCDF-GHJK", username: P.username, password: "wrong" });
  assertEscaped(deviceFailed.html, [P.username], "the device page after a failure");
});

test("the OAuth consent page escapes the app's name, version and URI (no javascript: or raw markup in its link)", async () => {
  const base = `http://127.0.0.1:${server.httpPort}`;
  const { consent } = await toConsent(authorizationUrl(base, app, pkce()), "alice", PW);
  assertEscaped(consent.html, [P.clientName, P.version], "the consent page");
  assert.ok(!consent.html.includes(`<script>window.__xss='uri'`), "client_uri comes out encoded");
  for (const m of consent.html.matchAll(/href="([^"]*)"/g)) assert.match(m[1]!, /^https:\/\//, `a link on the consent page: ${m[1]}`);
});

// --- in a real browser ------------------------------------------------------------------------

/** What ran or was injected: the flag, dialogs, injected elements, inline handlers, script links. */
async function inert(page: Page, dialogs: string[], what: string): Promise<void> {
  const found = await page.evaluate<{ flag: unknown; elements: string[]; handlers: string[]; jsLinks: string[] }>(`(() => ({
    flag: window.__xss ?? null,
    elements: [...document.querySelectorAll('img, svg, iframe, object, embed, script:not([src]), script[src]:not([src="/account/live.js"])')].map((e) => e.outerHTML.slice(0, 80)),
    handlers: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => e.tagName + '.' + a.name)),
    jsLinks: [...document.querySelectorAll('a[href], form[action]')].map((e) => e.getAttribute('href') ?? e.getAttribute('action')).filter((h) => /^\\s*(javascript|data):/i.test(h)),
  }))()`);
  assert.deepEqual({ ...found, dialogs }, { flag: null, elements: [], handlers: [], jsLinks: [], dialogs: [] }, `${what}: something was injected or ran`);
}

test("Chromium: the account page (also after a live update), its revoke confirmation, the OAuth login and consent pages, the device pages and the failed-login echoes run no injected script and hold no injected element", async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await ctx.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const base = `https://127.0.0.1:${server.httpsPort}`;

    // Control: the check does see an injection when there is one (a page with no CSP and no escaping).
    await page.setContent(`<p>${P.device}</p>`);
    await page.waitForTimeout(300);
    await assert.rejects(inert(page, [], "control"), /something was injected or ran/);
    assert.deepEqual(dialogs, ["device"], "the control's alert was seen");
    dialogs.length = 0;

    // A failed sign-in with a hostile username, then the real one.
    await page.goto(`${base}/account/login`);
    await page.getByLabel("Username").fill(P.username);
    await page.getByLabel("Password", { exact: true }).fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForLoadState("load");
    assert.equal(await page.getByLabel("Username").inputValue(), P.username, "the username is echoed as a value, intact");
    await inert(page, dialogs, "/account/login after a failure");
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password", { exact: true }).fill(PW);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/account`);
    await page.locator("body[data-live='on']").waitFor({ state: "attached" });
    assert.equal(await page.evaluate("document.cookie"), "", "no cookie is readable by a script that did get in (HttpOnly)");
    const text = await page.locator("#clients-table").innerText();
    for (const p of [P.software, P.clientName]) assert.ok(text.includes(p), `${p} is shown as text`);
    await inert(page, dialogs, "/account");
    // A hostile client arriving while the page is open comes in through the live update (DOMParser + importNode).
    const liveName = `<img src=x onerror="window.__xss='live';alert('live')"><b>Live</b>`;
    const late = await sasl2Stream(server.c2sPort);
    sockets.push(late.c);
    late.c.send(authenticateXml("PLAIN", plainInitialResponse("alice", PW), { userAgent: { id: randomUUID(), software: liveName }, extra: bindXml("late") }));
    await expectSasl2Success(late.c);
    await page.locator("#clients-table th", { hasText: liveName }).waitFor({ timeout: 10_000 });
    await inert(page, dialogs, "/account after a live update");

    await page.goto(`${base}/account/revoke?id=${encodeURIComponent(`client/${P.clientId}`)}`);
    await page.getByRole("heading", { name: "Revoke access?" }).waitFor();
    await inert(page, dialogs, "/account/revoke");

    await page.goto(authorizationUrl(base, app, pkce()).href);
    await inert(page, dialogs, "the OAuth login page");
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password", { exact: true }).fill(PW);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Allow" }).waitFor();
    assert.ok((await page.locator("main").innerText()).includes(P.clientName), "the app's name is shown as text");
    await inert(page, dialogs, "the consent page");

    await page.goto(`${base}/oauth2/device?user_code=${encodeURIComponent(`"><svg onload=x>`)}`);
    await inert(page, dialogs, "the device page");

    // The device flow's consent page, for an app with a hostile name.
    const dev = await register(
      `http://127.0.0.1:${server.httpPort}`,
      webApp(P.clientName, {
        software_version: P.version,
        application_type: "native",
        redirect_uris: [],
        grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
        token_endpoint_auth_method: "none",
      }),
    );
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/oauth2/device_authorization`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: dev.client_id, scope: "xmpp" }),
    });
    const da = (await res.json()) as Record<string, string>;
    await page.goto(`${base}/oauth2/device?user_code=${da.user_code}`);
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password", { exact: true }).fill(PW);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Allow" }).waitFor();
    assert.ok((await page.locator("main").innerText()).includes(P.clientName), "the device app's name is shown as text");
    await inert(page, dialogs, "the device consent page");
  } finally {
    await ctx.close();
  }
});

// --- plain-text places ------------------------------------------------------------------------

const UNSAFE_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test("warden shell user clients: hostile names cannot forge rows, send terminal escapes or bidi overrides", async () => {
  const r = await server.cli(["shell", "user", "clients", "alice@localhost"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.ok(!UNSAFE_TEXT.test(r.stdout), `control or bidi characters in the table: ${JSON.stringify(r.stdout)}`);
  const rules = lines.map((l, i) => (/^-+$/.test(l) ? i : -1)).filter((i) => i >= 0);
  assert.equal(rules.length, 2, `two rules: ${r.stdout}`);
  const rows = lines.slice(rules[0]! + 1, rules[1]);
  const listed = Number(/(\d+) clients/.exec(lines[lines.length - 1]!)![1]);
  assert.equal(rows.length, listed, `one line per client (${listed}), none forged: ${r.stdout}`);
  for (const row of rows) assert.ok(!/^Warden:/.test(row), `a forged line: ${row}`);
  assert.ok(
    rows.some((row) => row.includes("Evil\uFFFDWarden")),
    `the hostile name is shown, its line break replaced: ${r.stdout}`,
  );
});

test("the new-client notice: hostile software and device stay inside one line of the message; no markup, controls or bidi overrides reach the other clients", async () => {
  const notices = (): XmlEl[] => elementsOf(observer.received).filter((e) => e.name === "message" && e.attrs.from === "localhost");
  await observer.waitUntil(() => (notices().length >= 3 ? true : undefined), "three new-client notices", 10_000);
  for (const m of notices()) {
    assert.deepEqual(m.children.map((ch) => ch.name).sort(), ["body", "subject"], `only subject and body: ${JSON.stringify(m)}`);
    const body = m.children.find((ch) => ch.name === "body")!.text;
    assert.ok(!body.includes("\n") && !body.includes("\r"), `the notice is one line: ${JSON.stringify(body)}`);
    assert.ok(!UNSAFE_TEXT.test(body), `control or bidi characters in the notice: ${JSON.stringify(body)}`);
  }
  const bodies = notices().map((m) => m.children.find((ch) => ch.name === "body")!.text);
  assert.ok(
    bodies.some((b) => b.includes(P.software)),
    "the hostile software is named as text (the XML carries it escaped)",
  );
  assert.ok(
    bodies.some((b) => b.includes("Evil\uFFFDWarden")),
    `the forged line break is replaced: ${JSON.stringify(bodies)}`,
  );
});
