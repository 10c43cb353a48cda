// The account page over plain HTTP(S), as a browser without scripts uses it (src/http/account):
// sign-in, cookies, CSRF on every form, session fixation, password re-entry before revoking,
// change of password and "sign out everywhere else" and what they close, the security history,
// live updates (Server-Sent Events), login rate limiting shared with XMPP, and the new-client
// notice. XMPP clients are raw SASL2 clients (test/helpers/manage-clients.ts).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { fastLogin, sasl2Login, sasl2LoginFails } from "../helpers/manage-clients.js";
import { assertSasl2Failure, failureCondition } from "../helpers/sasl2-client.js";
import { expectStreamError, ping, waitForElement } from "../helpers/xmpp-assert.js";
import { show } from "../helpers/xml.js";
import type { RawClient } from "../helpers/raw-client.js";
import { WebClient, cell, csrfOf, flashOf, historyOf, listed, rowOf } from "../helpers/account-web.js";

let server: TestServer;
let users = 0;
const open: RawClient[] = [];

before(async () => {
  // Many form posts from one address: the per-IP request limit is not what these tests check.
  // …and the production password policy (the test helper relaxes it), which one test checks.
  server = await startServer({ oauth2_rate_limit: 10_000, password_min_length: 12 });
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

async function newUser(prefix: string): Promise<{ username: string; password: string }> {
  const username = `${prefix}${++users}`;
  const password = `${username}-long-password`;
  await server.addUser(username, password);
  return { username, password };
}

const web = (s = server) => new WebClient(`http://127.0.0.1:${s.httpPort}`);

async function xmppClient(
  user: { username: string; password: string },
  id: string,
  software: string,
  device: string,
  opts: { requestToken?: boolean; s?: TestServer } = {},
) {
  const r = await sasl2Login((opts.s ?? server).c2sPort, user.username, user.password, {
    userAgent: { id, software, device },
    bind: id,
    requestToken: opts.requestToken,
  });
  open.push(r.c);
  return r;
}

/** The messages from the server's domain that a raw client received, as raw text. */
function notices(c: RawClient): string[] {
  return [...c.received.matchAll(/<message\b[^>]*>[\s\S]*?<\/message>/g)].map((m) => m[0]).filter((m) => /from=(['"])localhost\1/.test(m));
}

describe("sign-in", () => {
  test("no session: /account sends to the sign-in form, a plain form with labels, a strict CSP and a phone viewport; its CSRF cookie is HttpOnly and SameSite=Strict", async () => {
    const b = web();
    const r = await b.get("/account");
    assert.equal(r.status, 303);
    assert.equal(r.location, "/account/login");
    const form = await b.get("/account/login");
    assert.equal(form.status, 200);
    assert.match(form.headers.get("content-type") ?? "", /^text\/html/);
    const csp = form.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /form-action 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(form.headers.get("x-frame-options"), "DENY");
    assert.match(form.headers.get("cache-control") ?? "", /no-store/);
    assert.match(form.text, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.match(form.text, /<html lang="en">/);
    assert.match(form.text, /<label for="username">/);
    assert.match(form.text, /<input type="text" id="username" name="username"[^>]*autocomplete="username"/);
    assert.match(form.text, /<label for="password">/);
    assert.match(form.text, /<input type="password" id="password" name="password" autocomplete="current-password" required>/);
    assert.doesNotMatch(form.text, /<script(?![^>]*src="\/account\/live\.js")/, "no inline script");
    assert.equal(form.cookies.length, 1, String(form.cookies));
    assert.match(form.cookies[0]!, /^warden_account_login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=3600$/);
  });

  test("over HTTPS: __Host- cookies with Secure, HttpOnly and SameSite=Strict; the signed-in page works", async () => {
    const user = await newUser("https");
    const b = new WebClient(`https://127.0.0.1:${server.httpsPort}`);
    const form = await b.get("/account/login");
    assert.match(form.cookies[0] ?? "", /^__Host-warden_account_login=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure$/);
    assert.match(form.headers.get("strict-transport-security") ?? "", /max-age=/);
    const r = await b.post("/account/login", { csrf: csrfOf(form.text), username: user.username, password: user.password });
    assert.equal(r.status, 303, r.text);
    const session = r.cookies.find((c) => c.startsWith("__Host-warden_account="));
    assert.match(session ?? "", /^__Host-warden_account=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/, String(r.cookies));
    assert.ok(
      r.cookies.some((c) => /^__Host-warden_account_login=; .*Max-Age=0/.test(c)),
      "the sign-in CSRF cookie is dropped",
    );
    const page = await b.account();
    assert.match(page, new RegExp(`${user.username}@localhost`));
  });

  test("CSRF on the sign-in form: no token, a wrong token, a token without its cookie, another site's Origin or Sec-Fetch-Site: 403 and no session", async () => {
    const user = await newUser("csrf");
    const b = web();
    const form = await b.get("/account/login");
    const csrf = csrfOf(form.text);
    const creds = { username: user.username, password: user.password };
    const attempts: Array<[string, Promise<import("../helpers/account-web.js").WebResponse>]> = [];
    attempts.push(["no token", b.post("/account/login", creds)]);
    attempts.push(["a wrong token", b.post("/account/login", { ...creds, csrf: csrf.slice(0, -2) + (csrf.endsWith("AA") ? "BB" : "AA") })]);
    attempts.push(["two tokens", b.post("/account/login", { ...creds, csrf: [csrf, csrf] })]);
    attempts.push(["the token without its cookie", web().post("/account/login", { ...creds, csrf })]);
    attempts.push(["another site's Origin", b.post("/account/login", { ...creds, csrf }, { origin: "https://evil.example" })]);
    attempts.push(["Sec-Fetch-Site: cross-site", b.post("/account/login", { ...creds, csrf }, { "sec-fetch-site": "cross-site" })]);
    for (const [what, p] of attempts) {
      const r = await p;
      assert.equal(r.status, 403, `${what}: ${r.status}`);
      assert.ok(!r.cookies.some((c) => c.startsWith("warden_account=")), `${what}: no session cookie`);
      assert.match(r.text, /did not come from this page/, what);
    }
    // The same browser, same-origin, with its token: signed in.
    const ok = await b.post("/account/login", { ...creds, csrf }, { origin: `http://127.0.0.1:${server.httpPort}`, "sec-fetch-site": "same-origin" });
    assert.equal(ok.status, 303, ok.text);
  });

  test("session fixation: a session id planted before sign-in is replaced and never works; signing in again makes a new id and ends the old one", async () => {
    const user = await newUser("fix");
    const planted = "A".repeat(43);
    const b = web();
    b.jar.set("warden_account", planted);
    const r = await b.signIn(user.username, user.password);
    const first = b.jar.get("warden_account");
    assert.ok(first && first !== planted, `a new session id at sign-in: ${String(r.cookies)}`);
    assert.match(first, /^[A-Za-z0-9_-]{43}$/);
    // The planted id gives nothing.
    const attacker = web();
    attacker.jar.set("warden_account", planted);
    const denied = await attacker.get("/account");
    assert.equal(denied.status, 303);
    assert.equal(denied.location, "/account/login");
    // Signing in again from the same browser (the form, fetched as a fresh tab would): yet another id; the previous one is dead.
    const form = await b.get("/account/login", { cookie: "" });
    assert.equal(form.status, 200);
    const re = await b.post("/account/login", { csrf: csrfOf(form.text), username: user.username, password: user.password });
    assert.equal(re.status, 303);
    const second = b.jar.get("warden_account");
    assert.ok(second && second !== first);
    const old = web();
    old.jar.set("warden_account", first);
    assert.equal((await old.get("/account")).status, 303, "the replaced session id no longer works");
    await b.account();
  });

  test("sign-out: the cookie is cleared and the session id stops working; sign-out needs the CSRF token", async () => {
    const user = await newUser("out");
    const b = web();
    await b.signIn(user.username, user.password);
    const id = b.jar.get("warden_account")!;
    const page = await b.account();
    const bad = await b.post("/account/logout", {});
    assert.equal(bad.status, 403, "no token: refused");
    await b.account();
    const r = await b.post("/account/logout", { csrf: csrfOf(page) });
    assert.equal(r.status, 303);
    assert.equal(r.location, "/account/login?signed_out=1");
    assert.ok(
      r.cookies.some((c) => /^warden_account=; .*Max-Age=0/.test(c)),
      String(r.cookies),
    );
    const again = web();
    again.jar.set("warden_account", id);
    assert.equal((await again.get("/account")).status, 303);
  });
});

describe("signed in", () => {
  test("the list (no JavaScript needed): an XMPP client with software, device, type, how it signed in, first and last seen, IP, expiry, connected; this browser marked", async () => {
    const user = await newUser("list");
    const t0 = Date.now();
    const phone = await xmppClient(user, "list-phone", "Phone App 2.1", "Pixel 8", { requestToken: true });
    const b = web();
    await b.signIn(user.username, user.password);
    const page = await b.account();
    assert.deepEqual(
      listed(page).filter((s) => s.startsWith("client/")),
      ["client/list-phone"],
    );
    const row = rowOf(page, "client/list-phone")!;
    assert.equal(cell(row, "Client"), "Phone App 2.1");
    assert.equal(cell(row, "Device"), "Pixel 8");
    assert.equal(cell(row, "Type"), "XMPP client");
    assert.equal(cell(row, "Signed in with"), "password, FAST token");
    assert.equal(cell(row, "IP address"), "127.0.0.1");
    assert.equal(cell(row, "Connected now"), "Yes");
    const stamp = (label: string) => Date.parse(/<time datetime="([^"]+)"/.exec(row.slice(row.indexOf(`data-label="${label}"`)))![1]!);
    assert.ok(stamp("First seen") >= t0 - 1000 && stamp("First seen") <= Date.now(), "first seen is the login");
    assert.ok(stamp("Expires") > Date.now() + 20 * 86400_000, "expires with its FAST token (21 days)");
    assert.match(
      row,
      /<a class="button danger" id="c-[0-9a-f]{16}" href="\/account\/revoke\?id=client%2Flist-phone">Revoke<span class="vh"> Phone App 2\.1 on Pixel 8<\/span>…<\/a>/,
    );
    // This browser's own sign-in, marked, with a sign-out button instead of revoke.
    const mine = listed(page).filter((s) => s.startsWith("web/"));
    assert.equal(mine.length, 1);
    const me = rowOf(page, mine[0]!)!;
    assert.match(me, /class="current" aria-current="true"/);
    assert.equal(cell(me, "Client"), "Firefox on Linux This browser");
    assert.equal(cell(me, "Type"), "Account page (browser)");
    assert.match(me, /action="\/account\/logout"/);
    // Semantic, labelled table.
    assert.match(page, /<table class="cards" id="clients-table">\s*<caption>/);
    assert.match(page, /<th scope="col">Signed in with<\/th>/);
    assert.match(page, /<th scope="row" data-label="Client">/);
    phone.c.close();
  });

  test("CSRF on every signed-in form: revoke, sign-out-others and password change are refused without the token, with a wrong one, or from another origin, and change nothing", async () => {
    const user = await newUser("scsrf");
    const phone = await xmppClient(user, "scsrf-phone", "Phone", "P1");
    const b = web();
    await b.signIn(user.username, user.password);
    const page = await b.account();
    const csrf = csrfOf(page);
    const wrong = csrf.slice(0, -1) + (csrf.endsWith("A") ? "B" : "A");
    const forms: Array<[string, Record<string, string>]> = [
      ["/account/revoke", { id: "client/scsrf-phone", password: user.password }],
      ["/account/sign-out-others", { password: user.password }],
      ["/account/password", { current_password: user.password, new_password: "a-brand-new-password", confirm_password: "a-brand-new-password" }],
    ];
    for (const [path, form] of forms) {
      for (const [what, extra, headers] of [
        ["no token", {}, {}],
        ["a wrong token", { csrf: wrong }, {}],
        ["another origin", { csrf }, { origin: "http://evil.example" }],
        ["cross-site", { csrf }, { "sec-fetch-site": "cross-site" }],
      ] as Array<[string, Record<string, string>, Record<string, string>]>) {
        const r = await b.post(path, { ...form, ...extra }, headers);
        assert.equal(r.status, 403, `${path} with ${what}: ${r.status} ${r.location ?? ""}`);
        assert.match(r.text, /This form has expired/);
      }
    }
    // Nothing happened: the phone is connected, the password unchanged, this browser signed in.
    await ping(phone.c);
    const after = await b.account();
    assert.equal(cell(rowOf(after, "client/scsrf-phone")!, "Connected now"), "Yes");
    await web().signIn(user.username, user.password);
    // And the token of one browser is useless in another's session.
    const other = web();
    await other.signIn(user.username, user.password);
    const cross = await other.post("/account/sign-out-others", { csrf, password: user.password });
    assert.equal(cross.status, 403);
    await ping(phone.c);
    phone.c.close();
  });

  test("revoking asks for the password again: missing or wrong (counted as a failed login) keeps the client; right closes its stream, drops it from the list and says so (no-JS flow: list → confirmation → POST → list)", async () => {
    const user = await newUser("rev");
    const phone = await xmppClient(user, "rev-phone", "Doomed App", "Old Phone");
    const b = web();
    await b.signIn(user.username, user.password);
    const page = await b.account();
    const href = /href="(\/account\/revoke\?id=client%2Frev-phone)"/.exec(page)?.[1];
    assert.ok(href, "a revoke link for the client");
    const confirm = await b.get(href);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /<h1>Revoke access\?<\/h1>/);
    assert.match(confirm.text, /Doomed App/);
    assert.match(confirm.text, /<label for="password">Your password/);
    assert.match(confirm.text, /<input type="hidden" name="id" value="client\/rev-phone">/);
    const csrf = csrfOf(confirm.text);

    const missing = await b.post("/account/revoke", { csrf, id: "client/rev-phone" });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /Enter your password/);
    const wrong = await b.post("/account/revoke", { csrf, id: "client/rev-phone", password: "not-the-password" });
    assert.equal(wrong.status, 403);
    assert.match(wrong.text, /Wrong password/);
    assert.match(wrong.text, /name="id" value="client\/rev-phone"/, "the confirmation is shown again");
    await ping(phone.c);
    assert.equal(cell(rowOf(await b.account(), "client/rev-phone")!, "Connected now"), "Yes");

    const ok = await b.post("/account/revoke", { csrf, id: "client/rev-phone", password: user.password });
    assert.equal(ok.status, 303, ok.text);
    assert.equal(ok.location, "/account");
    const err = await expectStreamError(phone.c, "not-authorized");
    assert.match(show(err), /Access for Doomed App on Old Phone was revoked from your account page/);
    const after = await b.account();
    assert.equal(rowOf(after, "client/rev-phone"), undefined, "no longer listed");
    const flash = flashOf(after);
    assert.equal(flash?.kind, "ok");
    assert.match(flash.text, /^Revoked Doomed App on Old Phone: its connections were closed and its tokens cancelled\. It knew your password/);
    assert.equal(flashOf(await b.account()), undefined, "the message is shown once");
    // The history has the failed re-entry and the revocation.
    const h = historyOf(after);
    assert.equal(h[0]?.kind, "client-revoked");
    assert.equal(h[0]?.what, "Access revoked: “Doomed App” on “Old Phone” on the account page");
    assert.equal(h[0]?.ip, "127.0.0.1");
    const failed = h.find((e) => e.kind === "login-failed");
    assert.equal(failed?.what, "1 failed login on the account page from 127.0.0.1");
    // The revoked client cannot come back with the password under the same id.
    const back = await sasl2LoginFails(server.c2sPort, user.username, user.password, { id: "rev-phone", software: "Doomed App" });
    assertSasl2Failure(back.failure, "not-authorized", "Access for this client was revoked. You can allow it again on your account page");
    back.c.close();
  });

  test("another browser's sign-in can be revoked too (password again); that browser is signed out", async () => {
    const user = await newUser("webrev");
    const a = web(),
      other = new WebClient(`http://127.0.0.1:${server.httpPort}`, "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36");
    await other.signIn(user.username, user.password);
    await a.signIn(user.username, user.password);
    const page = await a.account();
    const otherRow = listed(page)
      .map((s) => [s, rowOf(page, s)!] as const)
      .find(([s, r]) => s.startsWith("web/") && !r.includes("aria-current"));
    assert.ok(otherRow, "the other browser is listed");
    assert.equal(cell(otherRow[1], "Client"), "Chrome on Android");
    const r = await a.post("/account/revoke", { csrf: csrfOf(page), id: otherRow[0], password: user.password });
    assert.equal(r.status, 303);
    assert.equal((await other.get("/account")).status, 303, "the other browser is signed out");
    assert.equal(rowOf(await a.account(), otherRow[0]), undefined);
  });

  test("changing the password: other XMPP sessions are closed (reset), other browsers signed out, old FAST tokens refused; this browser stays under a new session id and is told what happened", async () => {
    const user = await newUser("pw");
    const phone = await xmppClient(user, "pw-phone", "Phone", "P", { requestToken: true });
    const laptop = await xmppClient(user, "pw-laptop", "Laptop", "L");
    const other = web();
    await other.signIn(user.username, user.password);
    const b = web();
    await b.signIn(user.username, user.password);
    const before = b.jar.get("warden_account")!;
    const page = await b.account();
    const csrf = csrfOf(page);

    const mismatch = await b.post("/account/password", {
      csrf,
      current_password: user.password,
      new_password: "first-new-password",
      confirm_password: "other-new-password",
    });
    assert.equal(mismatch.status, 400);
    assert.match(flashOf(mismatch.text)!.text, /different\. Nothing was changed/);
    const short = await b.post("/account/password", { csrf, current_password: user.password, new_password: "short", confirm_password: "short" });
    assert.equal(short.status, 400);
    assert.match(flashOf(short.text)!.text, /at least 12 characters/);
    const wrongCurrent = await b.post("/account/password", {
      csrf,
      current_password: "wrong-current-password",
      new_password: "first-new-password",
      confirm_password: "first-new-password",
    });
    assert.equal(wrongCurrent.status, 403);
    assert.match(flashOf(wrongCurrent.text)!.text, /current password is wrong/);
    await ping(phone.c);

    const next = "first-new-password";
    const r = await b.post("/account/password", { csrf, current_password: user.password, new_password: next, confirm_password: next });
    assert.equal(r.status, 303, r.text);
    const after = b.jar.get("warden_account");
    assert.ok(after && after !== before, "a new session id after the password change");
    for (const c of [phone.c, laptop.c]) {
      const err = await expectStreamError(c, "reset");
      assert.match(show(err), /The account password was changed/);
    }
    const ghost = web();
    ghost.jar.set("warden_account", before);
    assert.equal((await ghost.get("/account")).status, 303, "the old session id is dead");
    assert.equal((await other.get("/account")).status, 303, "the other browser is signed out");
    const f = await fastLogin(server.c2sPort, user.username, phone.token!, { id: "pw-phone" });
    assert.equal(f.result.name, "failure", `the old FAST token is refused: ${show(f.result)}`);
    f.c.close();
    const old = await sasl2LoginFails(server.c2sPort, user.username, user.password, { id: "pw-new" });
    assert.equal(failureCondition(old.failure), "not-authorized");
    old.c.close();

    const shown = await b.account();
    const flash = flashOf(shown)!;
    assert.equal(flash.kind, "ok");
    assert.equal(
      flash.text,
      "Your password was changed. 2 XMPP connections were closed and 1 other browser was signed out; 1 token or app authorization from before the change no longer works. Sign in again on your devices with the new password.",
    );
    const h = historyOf(shown);
    assert.deepEqual(
      h.slice(0, 2).map((e) => e.what),
      [
        "1 failed login by an XMPP client from 127.0.0.1", // the old password, tried above; the stale FAST token is not a password guess
        "Password changed on the account page",
      ],
    );
    assert.equal(h[1]!.ip, "127.0.0.1");
    // The clients are no longer connected and hold nothing: gone from the list.
    assert.deepEqual(
      listed(shown).filter((s) => !s.startsWith("web/")),
      [],
    );
    const again = await xmppClient({ username: user.username, password: next }, "pw-phone", "Phone", "P");
    again.c.close();
  });

  test("sign out everywhere else: every XMPP connection closed, tokens and other browsers gone, this browser stays; password asked again", async () => {
    const user = await newUser("soe");
    const phone = await xmppClient(user, "soe-phone", "Phone", "P", { requestToken: true });
    const other = web();
    await other.signIn(user.username, user.password);
    const b = web();
    await b.signIn(user.username, user.password);
    const confirm = await b.get("/account/sign-out-others");
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /This closes 1 XMPP connection, signs out 1 other browser, and cancels 1 token or app authorization\./);
    const csrf = csrfOf(confirm.text);
    const wrong = await b.post("/account/sign-out-others", { csrf, password: "nope-nope-nope" });
    assert.equal(wrong.status, 403);
    await ping(phone.c);
    const r = await b.post("/account/sign-out-others", { csrf, password: user.password });
    assert.equal(r.status, 303);
    const err = await expectStreamError(phone.c, "not-authorized");
    assert.match(show(err), /Signed out from the account page/);
    assert.equal((await other.get("/account")).status, 303);
    const page = await b.account();
    assert.match(
      flashOf(page)!.text,
      /^Signed out everywhere else: 1 XMPP connection closed, 1 other browser signed out, 1 token or app authorization cancelled\./,
    );
    const f = await fastLogin(server.c2sPort, user.username, phone.token!, { id: "soe-phone" });
    assert.equal(f.result.name, "failure", "its FAST token is gone");
    f.c.close();
    assert.equal(historyOf(page)[0]?.kind, "signed-out-others");
  });

  test("live updates: /account/events (Server-Sent Events) says 'changed' when a client connects, and 'signed-out' when this sign-in is revoked elsewhere; 401 without a session", async () => {
    const user = await newUser("live");
    const b = web();
    await b.signIn(user.username, user.password);
    assert.equal((await web().get("/account/events")).status, 401);
    const ctrl = new AbortController();
    const res = await fetch(`${b.base}/account/events`, { headers: { cookie: `warden_account=${b.jar.get("warden_account")}` }, signal: ctrl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = "";
    const until = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the event stream ended; got: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until(/: live\n\n/);
    const phone = await xmppClient(user, "live-phone", "Live Phone", "LP");
    await until(/event: changed\n/);
    // What the page then fetches shows the new client.
    const frag = await b.get("/account/fragment");
    assert.equal(frag.status, 200);
    assert.equal(cell(rowOf(frag.text, "client/live-phone")!, "Connected now"), "Yes");
    // Revoked from another browser: this page is told and the stream ends.
    const a = web();
    await a.signIn(user.username, user.password);
    const page = await a.account();
    const mine = listed(page).find((s) => s.startsWith("web/") && !rowOf(page, s)!.includes("aria-current"))!;
    const r = await a.post("/account/revoke", { csrf: csrfOf(page), id: mine, password: user.password });
    assert.equal(r.status, 303);
    await until(/event: signed-out\ndata: \{"reason":"revoked"\}\n\n/);
    const end = await reader.read();
    assert.equal(end.done, true, "the server ended the stream");
    assert.equal((await b.get("/account/fragment")).status, 401);
    ctrl.abort();
    phone.c.close();
  });

  test("the live script is same-origin JavaScript; the fragment needs a session", async () => {
    const r = await web().get("/account/live.js");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.match(r.text, /new EventSource\("\/account\/events"\)/);
    assert.equal((await web().get("/account/fragment")).status, 401);
  });

  test("security history: a new client, failed logins coalesced with their count and last address, and the page sign-in", async () => {
    const user = await newUser("hist");
    const c = await xmppClient(user, "hist-app", "History App", "Desk");
    c.c.close();
    for (let i = 0; i < 3; i++) {
      const f = await sasl2LoginFails(server.c2sPort, user.username, "wrong-password", { id: "hist-app" });
      f.c.close();
    }
    const b = web();
    const form = await b.get("/account/login");
    const bad = await b.post("/account/login", { csrf: csrfOf(form.text), username: user.username, password: "also-wrong" });
    assert.equal(bad.status, 403);
    assert.match(bad.text, /Wrong username or password/);
    await b.signIn(user.username, user.password);
    const h = historyOf(await b.account());
    assert.deepEqual(
      h.map((e) => e.kind),
      ["account-login", "login-failed", "login-failed", "new-client"],
    );
    assert.equal(h[0]!.what, "Signed in to the account page (Firefox on Linux)");
    assert.equal(h[1]!.what, "1 failed login on the account page from 127.0.0.1");
    assert.equal(h[2]!.what, "3 failed logins by an XMPP client, the last one from 127.0.0.1");
    assert.equal(h[2]!.ip, "127.0.0.1");
    assert.equal(h[3]!.what, "New client: “History App” on “Desk”, signed in with PLAIN");
  });

  test("new-client notice: the account's other clients get a message from the server naming the client, device, address and time, with the account page's address; not again for a known client", async () => {
    const user = await newUser("note");
    const desk = await xmppClient(user, "note-desk", "Desk App", "Desk");
    desk.c.clear();
    const t0 = Date.now();
    const intruder = await xmppClient(user, "note-intruder", "Strange App", "Unknown Phone");
    const msg = await waitForElement(desk.c, (el) => el.name === "message", "the notice");
    assert.equal(msg.attrs.from, "localhost");
    assert.equal(msg.attrs.to, desk.jid);
    assert.equal(msg.attrs.type, "chat");
    const body = msg.children.find((ch) => ch.name === "body")!.text;
    const when = /at (\d{4}-\d\d-\d\d \d\d:\d\d) UTC\./.exec(body);
    assert.ok(when, body);
    assert.ok(Date.parse(when[1]!.replace(" ", "T") + ":00Z") >= Math.floor(t0 / 60_000) * 60_000);
    assert.equal(
      body.replace(when[1]!, "TIME"),
      `A new client signed in to your account with your password: "Strange App" on "Unknown Phone" from 127.0.0.1 at TIME UTC. If this was not you, change your password and revoke the client at https://localhost:${server.httpsPort}/account`,
    );
    assert.equal(notices(intruder.c).length, 0, "the new client itself is not told");
    intruder.c.close();
    // The same client again: no notice. A different new client afterwards: exactly one more.
    // (Notices reach a session in login order, so counting after the second proves the first sent none.)
    const again = await xmppClient(user, "note-intruder", "Strange App", "Unknown Phone");
    again.c.close();
    const third = await xmppClient(user, "note-third", "Third App", "Tablet");
    await desk.c.waitUntil((t) => (t.match(/Third App/g) ? true : undefined), "the second notice");
    assert.equal(notices(desk.c).length, 2, desk.c.received);
    third.c.close();
    desk.c.close();
  });
});

describe("rate limiting and the notice switched off", () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ login_failure_limit: 3, login_failure_window: 3600, oauth2_rate_limit: 12, new_client_notice: false });
    await s.addUser("throttled", "throttled-password");
    await s.addUser("bystander", "bystander-password");
    await s.addUser("quiet", "quiet-password-1");
  });
  after(async () => {
    await s?.stop();
  });

  test("login throttling shared with XMPP: after 3 wrong passwords the account answers 429 even to the right one, on the page and over XMPP; another account is not affected", async () => {
    const b = web(s);
    const form = await b.get("/account/login");
    const csrf = csrfOf(form.text);
    for (let i = 1; i <= 3; i++) {
      const r = await b.post("/account/login", { csrf, username: "throttled", password: `wrong-${i}` });
      assert.equal(r.status, 403, `attempt ${i}`);
    }
    const blocked = await b.post("/account/login", { csrf, username: "throttled", password: "throttled-password" });
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /Too many failed attempts/);
    assert.ok(!blocked.cookies.some((c) => c.startsWith("warden_account=")));
    const x = await sasl2LoginFails(s.c2sPort, "throttled", "throttled-password", { id: "t1" });
    assert.equal(failureCondition(x.failure), "temporary-auth-failure", show(x.failure));
    x.c.close();
    await web(s).signIn("bystander", "bystander-password");
  });

  test("requests to the forms are limited per address (oauth2_rate_limit a minute): 429 with Retry-After, as a page", async () => {
    const b = web(s);
    let limited: import("../helpers/account-web.js").WebResponse | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const r = await b.post("/account/login", { username: "bystander", password: "x" });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 403);
    }
    assert.ok(limited, "a 429 within 30 posts");
    assert.match(limited.headers.get("retry-after") ?? "", /^\d+$/);
    assert.match(limited.headers.get("content-type") ?? "", /^text\/html/);
  });

  test("new_client_notice: false: a new password client brings no message to the others", async () => {
    const desk = await xmppClient({ username: "quiet", password: "quiet-password-1" }, "q-desk", "Desk", "D", { s });
    const other = await xmppClient({ username: "quiet", password: "quiet-password-1" }, "q-new", "New", "N", { s });
    // The notice would be written to desk before the new client's <success/>; a ping after that proves there was none.
    await ping(desk.c);
    assert.equal(notices(desk.c).length, 0, desk.c.received);
    desk.c.close();
    other.c.close();
  });
});
