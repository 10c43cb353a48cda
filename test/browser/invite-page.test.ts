// The invite page in a real browser (Debian's headless Chromium, playwright-core, over HTTPS):
// a phone sees the Android apps first and the xmpp: link; the form, filled by keyboard and
// labels, creates the account with the browser's own Origin and Sec-Fetch-Site (the CSRF check
// as browsers really pass it), and the spent invitation then says so. Without /usr/bin/chromium
// this test FAILS (.ci/run installs it); it is never skipped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ROOT, startServer, type TestServer } from "../helpers/server.js";
import { canLogin, tokenOf } from "../helpers/register.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");
const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";

let server: TestServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a phone registers from the invite page", async () => {
  const made = await server.cli(["invite", "create"]);
  assert.equal(made.code, 0, made.stderr);
  const token = tokenOf(made.stdout);
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, userAgent: ANDROID, viewport: { width: 390, height: 844 } });
  try {
    const page = await ctx.newPage();
    const res = await page.goto(`https://127.0.0.1:${server.httpsPort}/invite/${token}`);
    assert.equal(res?.status(), 200);
    await page.getByRole("heading", { level: 1, name: "You are invited to chat on localhost" }).waitFor();
    assert.equal((await page.locator("h3").first().textContent())?.replace(/your device/, "").trim(), "Android");
    assert.equal(await page.getByRole("link", { name: "Open the invitation in your app" }).getAttribute("href"), `xmpp:localhost?register;preauth=${token}`);
    await page.screenshot({ path: join(ARTIFACTS, "invite-page-phone.png"), fullPage: true });
    await page.getByLabel(/^Username/).fill("mobile");
    await page.getByLabel(/^New password At least/).fill("mobile-password");
    await page.getByLabel("New password again").fill("mobile-password");
    await page.getByLabel("New password again").press("Enter");
    await page.getByRole("heading", { level: 1, name: "Your account is ready" }).waitFor();
    assert.match((await page.locator("main").textContent()) ?? "", /mobile@localhost/);
    assert.equal(await canLogin(server.c2sPort, "mobile", "mobile-password"), true);
    const again = await page.goto(`https://127.0.0.1:${server.httpsPort}/invite/${token}`);
    assert.equal(again?.status(), 404);
    await page.getByRole("heading", { level: 1, name: "Invitation not found" }).waitFor();
  } finally {
    await ctx.close();
  }
});
