// The account page in a real browser: Debian's headless Chromium driven by playwright-core,
// over HTTPS (so the __Host- cookies, Secure and HSTS are the real ones). A real @xmpp/client
// session appears in the list while the page is open (live updates), is revoked after the
// password is entered again and its socket closes; a password change closes the other
// sessions and sends the other browser back to the sign-in form; keyboard use, labels, contrast,
// phone width and the page without JavaScript are checked. Screenshots go to test-artifacts/.
// Without /usr/bin/chromium these tests FAIL (.ci/run installs it); they are never skipped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT, startServer, type TestServer } from "../helpers/server.js";
import { XjsClient, type TokenStore } from "../helpers/xjs.js";
import { legacyLogin } from "../helpers/manage-clients.js";
import { expectStreamError } from "../helpers/xmpp-assert.js";
import type { RawClient } from "../helpers/raw-client.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");

let server: TestServer;
let browser: Browser;
const xclients: XjsClient[] = [];
const raws: RawClient[] = [];
const contexts: BrowserContext[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer({ oauth2_rate_limit: 10_000 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
});
after(async () => {
  await Promise.allSettled(xclients.map((c) => c.stop()));
  for (const c of raws) c.close();
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
});

const base = () => `https://127.0.0.1:${server.httpsPort}`;

async function newContext(opts: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, ...opts });
  contexts.push(ctx);
  return ctx;
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${base()}/account`);
  assert.match(page.url(), /\/account\/login$/, "sent to the sign-in form");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base()}/account`);
  await page.getByRole("heading", { level: 1, name: /Your account/ }).waitFor();
}

/** Waits until the page's live updates are connected (its EventSource is open). */
async function live(page: Page): Promise<void> {
  await page.locator("body[data-live='on']").waitFor({ state: "attached" });
}

async function xmpp(opts: {
  username: string;
  password: string;
  id: string;
  software: string;
  device: string;
  service: string;
  store?: TokenStore;
}): Promise<XjsClient> {
  const c = new XjsClient({ resource: opts.id, ...opts });
  xclients.push(c);
  await c.start();
  return c;
}

/**
 * Run in the page: unlabelled fields, nameless controls, text contrast (WCAG 2 formula against
 * the nearest opaque background) and page width. Plain JavaScript in a string: tsx would add
 * helpers to a function that the page does not have.
 */
const AUDIT = String.raw`(() => {
  const problems = [];
  for (const input of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (!input.labels || input.labels.length === 0) problems.push("unlabelled field " + input.name);
  }
  for (const el of document.querySelectorAll("button, a")) if (!el.innerText.trim()) problems.push("nameless " + el.tagName);
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const chan = (v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  const lum = (c) => 0.2126 * chan(c[0]) + 0.7152 * chan(c[1]) + 0.0722 * chan(c[2]);
  const bg = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  let checked = 0;
  for (const el of document.querySelectorAll("body *")) {
    const hasText = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
    const style = getComputedStyle(el);
    if (!hasText || style.visibility === "hidden" || style.display === "none" || el.closest(".vh")) continue;
    const a = lum(rgb(style.color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    checked++;
    if (ratio < 7) problems.push("contrast " + ratio.toFixed(2) + " for <" + el.tagName.toLowerCase() + "> " + el.textContent.trim().slice(0, 40));
  }
  const meta = document.querySelector("meta[name=viewport]");
  return { problems, checked, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth, viewport: meta && meta.getAttribute("content") };
})()`;

const row = (page: Page, selector: string) => page.locator(`tr[data-client="${selector}"]`);

test("sign in, see an @xmpp/client session appear live, revoke it after entering the password again: its WebSocket is closed", async () => {
  await server.addUser("browseralice", "browseralice-password");
  const ctx = await newContext();
  const page = await ctx.newPage();
  await signIn(page, "browseralice", "browseralice-password");
  const cookies = await ctx.cookies();
  const session = cookies.find((c) => c.name === "__Host-warden_account");
  assert.ok(session, `the session cookie: ${JSON.stringify(cookies)}`);
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie), "", "no cookie is readable by scripts");
  await live(page);
  assert.equal(await page.locator("tr[aria-current='true']").count(), 1, "this browser is marked");
  await assert.doesNotReject(page.locator("tr[aria-current='true'] .badge", { hasText: "This browser" }).waitFor());

  // An @xmpp/client session over WebSocket opens while the page is open: it appears without a reload.
  const id = randomUUID();
  const client = await xmpp({
    service: `wss://127.0.0.1:${server.httpsPort}/xmpp-websocket`,
    username: "browseralice",
    password: "browseralice-password",
    id,
    software: "Browser Test Client",
    device: "Test Box",
  });
  const r = row(page, `client/${id}`);
  await r.waitFor();
  await r.locator("td[data-label='Connected now']", { hasText: "Yes" }).waitFor();
  assert.equal(await r.locator("th[data-label='Client']").innerText(), "Browser Test Client");
  assert.equal(await r.locator("td[data-label='Device']").innerText(), "Test Box");
  assert.equal(await r.locator("td[data-label='Signed in with']").innerText(), "password, FAST token");
  assert.equal(await r.locator("td[data-label='IP address']").innerText(), "127.0.0.1");
  assert.match(await r.locator("td[data-label='Connected now']").innerText(), /^Yes \(WebSocket\)$/);
  await page.screenshot({ path: join(ARTIFACTS, "account-page.png"), fullPage: true });

  // The client's own WebSocket (the `ws` object under @xmpp/websocket), to see it closed.
  const socket = client.xmpp.socket?.socket as { readyState: number; CLOSED: number } | undefined;
  assert.ok(socket && socket.readyState === 1, "the client's WebSocket is open");

  // Revoke: the link names the client; the confirmation asks for the password.
  await r.getByRole("link", { name: /^Revoke Browser Test Client on Test Box/ }).click();
  await page.getByRole("heading", { name: "Revoke access?" }).waitFor();
  const pw = page.getByLabel("Your password");
  assert.equal(await pw.evaluate((el) => el === document.activeElement), true, "the password field has the focus");
  await pw.fill("not-the-password");
  await page.getByRole("button", { name: "Revoke", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Wrong password." }).waitFor();
  assert.equal(client.status, "online", "a wrong password revokes nothing");
  await page.getByLabel("Your password").fill("browseralice-password");
  await page.getByRole("button", { name: "Revoke", exact: true }).click();
  await page.waitForURL(`${base()}/account`);
  await page.getByRole("status").filter({ hasText: "Revoked Browser Test Client on Test Box" }).waitFor();

  const err = await client.streamError();
  assert.equal(err.condition, "not-authorized");
  assert.equal(err.text, "Access for Browser Test Client on Test Box was revoked from your account page");
  await client.disconnected();
  assert.equal(socket.readyState, socket.CLOSED, "the WebSocket is closed");
  assert.equal(await row(page, `client/${id}`).count(), 0, "gone from the list");
  await page.locator("#history-table tr[data-kind='client-revoked']").first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "account-page-after-revoke.png"), fullPage: true });
});

test("revoking a password client without client id: the confirmation says it can sign in again and offers 'Change password and sign out everywhere else', which keeps this browser signed in", async () => {
  await server.addUser("browserdave", "browserdave-password");
  // profanity, converse.js and sendxmpp sign in like this: legacy SASL with the password, no client id.
  const profanity = await legacyLogin(server.c2sPort, "browserdave", "browserdave-password", "profanity");
  raws.push(profanity.c);
  const phone = await xmpp({
    username: "browserdave",
    password: "browserdave-password",
    service: `wss://127.0.0.1:${server.httpsPort}/xmpp-websocket`,
    id: randomUUID(),
    software: "Carol Phone",
    device: "Pixel 7",
  });
  const page = await (await newContext()).newPage();
  await signIn(page, "browserdave", "browserdave-password");
  await page.getByRole("link", { name: /^Revoke Resource “profanity”/ }).click();
  await page.getByRole("heading", { name: "This app can sign in again" }).waitFor();
  await page.getByText("This app knows your password and will be able to sign in again.").waitFor();
  assert.equal(await page.getByText(/cannot sign in again/).count(), 0, "no promise the server cannot keep");
  const audit = await page.evaluate<{ problems: string[] }>(AUDIT);
  assert.deepEqual(audit.problems, [], "the confirmation: labelled fields, named controls, contrast");
  await page.screenshot({ path: join(ARTIFACTS, "account-page-reset-confirm.png"), fullPage: true });
  assert.equal(await page.getByLabel("Your current password").evaluate((el) => el === document.activeElement), true, "the current password has the focus");
  await page.getByLabel("Your current password").fill("browserdave-password");
  await page.getByLabel(/^New password At least/).fill("browserdave-new-password");
  await page.getByLabel("New password again").fill("browserdave-new-password");
  await page.getByRole("button", { name: "Change password and sign out everywhere else" }).click();
  await page.waitForURL(`${base()}/account`);
  await page.getByRole("status").filter({ hasText: "Your password was changed and everything else was signed out: 2 XMPP connections were closed" }).waitFor();
  // Every XMPP session ended with the password-change stream error; this browser is still in.
  const err = await expectStreamError(profanity.c, "reset");
  assert.ok(err, "profanity's stream ended");
  const perr = await phone.streamError();
  assert.equal(perr.condition, "reset");
  await page.reload();
  await page.getByRole("heading", { level: 1, name: /Your account/ }).waitFor();
  await page.locator("#history-table tr[data-kind='password-reset']").first().waitFor();
});

test("changing the password closes the other XMPP sessions and sends the other browser back to the sign-in form; this browser says what happened", async () => {
  await server.addUser("browserbob", "browserbob-password");
  const user = { username: "browserbob", password: "browserbob-password" };
  const tcp = await xmpp({ ...user, service: `xmpp://127.0.0.1:${server.c2sPort}`, id: "bob-desktop", software: "Desktop", device: "Desk" });
  const ws = await xmpp({ ...user, service: `wss://127.0.0.1:${server.httpsPort}/xmpp-websocket`, id: "bob-web", software: "Web", device: "Tab" });
  const otherCtx = await newContext();
  const other = await otherCtx.newPage();
  await signIn(other, user.username, user.password);
  await live(other);
  const ctx = await newContext();
  const page = await ctx.newPage();
  await signIn(page, user.username, user.password);
  await live(page);
  const before = (await ctx.cookies()).find((c) => c.name === "__Host-warden_account")!.value;

  const form = page.locator("form[action='/account/password']");
  await form.getByLabel("Current password").fill(user.password);
  await form.getByLabel("New password", { exact: false }).first().fill("browserbob-new-password");
  await form.getByLabel("New password again").fill("browserbob-new-password");
  await form.getByRole("button", { name: "Change password" }).click();
  await page.waitForURL(`${base()}/account`);
  await page
    .getByRole("status")
    .filter({
      hasText:
        /^Your password was changed\. 2 XMPP connections were closed and 1 other browser was signed out; 2 tokens and app authorizations from before the change no longer work\./,
    })
    .waitFor();
  const after = (await ctx.cookies()).find((c) => c.name === "__Host-warden_account")!.value;
  assert.notEqual(after, before, "a new session id");

  for (const c of [tcp, ws]) {
    const err = await c.streamError();
    assert.equal(err.condition, "reset", String(err));
    assert.equal(err.text, "The account password was changed");
    await c.disconnected();
  }
  // The other browser's open page is told and goes to the sign-in form by itself.
  await other.waitForURL(/\/account\/login\?ended=1$/);
  await other.getByText("Your sign-in has ended.").waitFor();
  // Nothing of the old clients is left; the history says what happened.
  assert.equal(await page.locator("tr[data-client^='client/']").count(), 0);
  await page.locator("#history-table tr[data-kind='password-changed']").waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "account-page-password-changed.png"), fullPage: true });
});

test("accessible and usable without JavaScript: keyboard-only sign-in, every field labelled, visible focus, text contrast of at least 7:1 (WCAG AAA), no sideways scrolling on a phone", async () => {
  await server.addUser("browsercarol", "browsercarol-password");
  const c = await xmpp({
    username: "browsercarol",
    password: "browsercarol-password",
    service: `xmpp://127.0.0.1:${server.c2sPort}`,
    id: "carol-phone",
    software: "Carol's Phone App",
    device: "Phone",
  });
  const ctx = await newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  await page.goto(`${base()}/account/login`);
  // Keyboard only: Tab to the fields, Enter submits.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "username");
  await page.keyboard.type("browsercarol");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "password");
  await page.keyboard.type("browsercarol-password");
  await page.keyboard.press("Enter");
  await page.waitForURL(`${base()}/account`);
  await row(page, "client/carol-phone").waitFor();

  const audit = await page.evaluate<{ problems: string[]; checked: number; scrollWidth: number; width: number; viewport: string | null }>(AUDIT);
  assert.deepEqual(audit.problems, []);
  assert.ok(audit.checked > 50, `checked the text of ${audit.checked} elements`);
  assert.ok(audit.scrollWidth <= audit.width, `no sideways scrolling at 390px: ${audit.scrollWidth} > ${audit.width}`);
  assert.equal(audit.viewport, "width=device-width, initial-scale=1");

  // Focus is visible: the revoke link, reached with the keyboard, gets a 3px outline.
  const link = row(page, "client/carol-phone").getByRole("link", { name: /Revoke Carol's Phone App on Phone/ });
  await link.focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Tab");
  const outline = await link.evaluate((el) => {
    const s = getComputedStyle(el);
    return { width: s.outlineWidth, style: s.outlineStyle };
  });
  assert.deepEqual(outline, { width: "3px", style: "solid" });
  await page.screenshot({ path: join(ARTIFACTS, "account-page-phone.png"), fullPage: true });

  // Without JavaScript the revoke flow works all the same, from the keyboard.
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Revoke access?" }).waitFor();
  await page.keyboard.type("browsercarol-password");
  await page.keyboard.press("Enter");
  await page.waitForURL(`${base()}/account`);
  await page.getByRole("status").filter({ hasText: "Revoked Carol's Phone App on Phone" }).waitFor();
  const err = await c.streamError();
  assert.equal(err.condition, "not-authorized");
  await c.disconnected();
});
