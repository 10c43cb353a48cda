// Invitations end to end: `warden invite create` prints the invite page's URL and the xmpp:
// URI (XEP-0401); a client presents the token (XEP-0445 <preauth/>) and registers while
// registration is closed; the token is single-use, expires, can be revoked; a reset
// invitation sets an account's password; and the invite page (GET and POST /invite/<token>)
// shows the right apps, escapes, refuses forged posts and registers without an app.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { expectStreamError } from "../helpers/xmpp-assert.js";
import { child, show } from "../helpers/xml.js";
import { canLogin, NS_REGISTER, outcome, preauth, preAuthStream, registerForm, submit, tokenOf } from "../helpers/register.js";
import { WebClient, csrfOf, flashOf } from "../helpers/account-web.js";

const clients: RawClient[] = [];
let server: TestServer;
/** Every token made: none may appear in the server's log. */
const issued: string[] = [];

before(async () => {
  // Debug: the log's every HTTP request is then written, and must hold no token.
  server = await startServer({ min_seconds_between_registrations: 0, log_level: "debug" });
});
after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

async function create(...args: string[]): Promise<{ token: string; stdout: string; id: string }> {
  const r = await server.cli(["invite", "create", ...args]);
  assert.equal(r.code, 0, r.stderr);
  const id = /invitation ([A-Za-z0-9_-]+)\)/.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  const token = tokenOf(r.stdout);
  issued.push(token);
  return { token, stdout: r.stdout, id };
}

async function stream(): Promise<RawClient> {
  const { c } = await preAuthStream(server.c2sPort);
  clients.push(c);
  return c;
}

describe("over XMPP", () => {
  test("warden invite create prints the page URL and the xmpp: URI", async () => {
    const { token, stdout } = await create();
    assert.match(stdout, new RegExp(`^https://localhost:${server.httpsPort}/invite/${token}$`, "m"));
    assert.match(stdout, new RegExp(`^xmpp:localhost\\?register;preauth=${token}$`, "m"));
  });

  test("the token opens registration while it is closed; the account logs in; the token is spent", async () => {
    const { token } = await create();
    const c = await stream();
    assert.equal(outcome(await registerForm(c)), "cancel/forbidden", "closed without the token");
    assert.equal(outcome(await preauth(c, token)), "result");
    const form = await registerForm(c);
    assert.ok(child(form, "query", NS_REGISTER), show(form));
    assert.equal(outcome(await submit(c, "invited", "invited-pw-1")), "result");
    assert.equal(await canLogin(server.c2sPort, "invited", "invited-pw-1"), true);
    // Single use: the same token again is refused, and registers nothing.
    const again = await stream();
    assert.equal(outcome(await preauth(again, token)), "cancel/item-not-found");
    assert.equal(outcome(await submit(again, "invited2", "invited-pw-2")), "cancel/forbidden");
    assert.equal(await canLogin(server.c2sPort, "invited2", "invited-pw-2"), false);
  });

  test("a taken name does not spend the token", async () => {
    await server.addUser("taken", "taken-pw");
    const { token } = await create();
    const c = await stream();
    assert.equal(outcome(await preauth(c, token)), "result");
    assert.equal(outcome(await submit(c, "taken", "other-pw-1")), "cancel/conflict");
    assert.equal(outcome(await submit(c, "untaken", "other-pw-1")), "result");
    assert.equal(await canLogin(server.c2sPort, "taken", "taken-pw"), true);
  });

  test("unknown and expired tokens are refused", async () => {
    const c = await stream();
    assert.equal(outcome(await preauth(c, "AAAAAAAAAAAAAAAAAAAAAAAA")), "cancel/item-not-found");
    assert.equal(outcome(await preauth(c, "not&amp;a&lt;token")), "cancel/item-not-found");
    const { token } = await create("--expires", "1");
    await sleep(1100);
    assert.equal(outcome(await preauth(c, token)), "cancel/item-not-found");
    assert.equal(outcome(await submit(c, "late", "late-pw-12")), "cancel/forbidden");
    assert.equal(await canLogin(server.c2sPort, "late", "late-pw-12"), false);
  });

  test("list and revoke", async () => {
    const { token, id } = await create("--expires", "2h");
    const list = await server.cli(["invite", "list", "--json"]);
    const entries = JSON.parse(list.stdout) as Array<{ id: string; kind: string }>;
    assert.ok(
      entries.some((e) => e.id === id && e.kind === "account"),
      list.stdout,
    );
    assert.doesNotMatch(list.stdout, new RegExp(token), "the token is never listed");
    assert.equal((await server.cli(["invite", "revoke", id])).code, 0);
    assert.equal((await server.cli(["invite", "revoke", id])).code, 67);
    const c = await stream();
    assert.equal(outcome(await preauth(c, token)), "cancel/item-not-found");
  });

  test("bad arguments are refused", async () => {
    assert.equal((await server.cli(["invite", "create", "--expires", "soon"])).code, 64);
    assert.equal((await server.cli(["invite", "create", "--expires", "400d"])).code, 64);
    assert.equal((await server.cli(["invite", "create", "--reset", "nobody"])).code, 67);
    assert.equal((await server.cli(["invite", "create", "--contact", "nobody"])).code, 67);
    assert.equal((await server.cli(["invite", "create", "--reset", "taken", "--contact", "taken"])).code, 64);
  });

  test("a reset invitation sets the account's password and ends its sessions", async () => {
    await server.addUser("forgetful", "forgotten-pw");
    const { token, stdout } = await create("--reset", "forgetful");
    assert.match(stdout, new RegExp(`^xmpp:forgetful@localhost\\?register;preauth=${token}$`, "m"));
    const old = await RawClient.connect(server.c2sPort);
    clients.push(old);
    await old.login("forgetful", "forgotten-pw", "old");
    const c = await stream();
    assert.equal(outcome(await preauth(c, token)), "result");
    const form = await registerForm(c);
    assert.match(show(form), /forgetful/, "the form names the account");
    assert.equal(outcome(await submit(c, "taken", "hijack-pw-1")), "modify/not-acceptable", "not another account");
    assert.equal(await canLogin(server.c2sPort, "taken", "taken-pw"), true);
    assert.equal(outcome(await submit(c, "forgetful", "remembered-pw")), "result");
    await expectStreamError(old, "reset");
    assert.equal(await canLogin(server.c2sPort, "forgetful", "remembered-pw"), true);
    assert.equal(await canLogin(server.c2sPort, "forgetful", "forgotten-pw"), false);
  });
});

describe("contact invitations (XEP-0379 with ibr=y)", () => {
  test("registering with one makes the inviter and the new account mutual contacts", async () => {
    await server.addUser("inviter", "inviter-pw");
    const { token, stdout } = await create("--contact", "inviter");
    assert.match(stdout, new RegExp(`^xmpp:inviter@localhost\\?roster;preauth=${token};ibr=y$`, "m"));
    const romeo = await RawClient.connect(server.c2sPort);
    clients.push(romeo);
    await romeo.login("inviter", "inviter-pw", "r");
    romeo.send("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
    await romeo.waitFor(/id=["']roster1["']/);
    romeo.clear();
    const c = await stream();
    assert.equal(outcome(await preauth(c, token)), "result");
    assert.equal(outcome(await submit(c, "friend", "friend-pw-1")), "result");
    // The inviter's roster push, then the new account's own roster.
    await romeo.waitFor(
      /<item[^>]*jid=["']friend@localhost["'][^>]*subscription=["']both["']|<item[^>]*subscription=["']both["'][^>]*jid=["']friend@localhost["']/,
    );
    const friend = await RawClient.connect(server.c2sPort);
    clients.push(friend);
    await friend.login("friend", "friend-pw-1", "f");
    friend.send("<iq type='get' id='roster2'><query xmlns='jabber:iq:roster'/></iq>");
    const m = await friend.waitFor(/<iq[^>]*id=["']roster2["'][\s\S]*?<\/iq>/);
    assert.match(m[0], /jid=["']inviter@localhost["']/);
    assert.match(m[0], /subscription=["']both["']/);
    // Spent like an account invitation.
    const again = await stream();
    assert.equal(outcome(await preauth(again, token)), "cancel/item-not-found");
  });
});

describe("contact invitations for existing accounts (XEP-0379 §4)", () => {
  test("a subscription request with the token is approved on the inviter's behalf, once", async () => {
    await server.addUser("host", "host-pw");
    await server.addUser("guest", "guest-pw");
    await server.addUser("stranger", "stranger-pw");
    const { token } = await create("--contact", "host");
    const host = await RawClient.connect(server.c2sPort);
    const guest = await RawClient.connect(server.c2sPort);
    const stranger = await RawClient.connect(server.c2sPort);
    clients.push(host, guest, stranger);
    await host.login("host", "host-pw", "h");
    host.send("<iq type='get' id='hr'><query xmlns='jabber:iq:roster'/></iq><presence/>");
    await host.waitFor(/id=["']hr["']/);
    await guest.login("guest", "guest-pw", "g");
    guest.send("<iq type='get' id='gr'><query xmlns='jabber:iq:roster'/></iq><presence/>");
    await guest.waitFor(/id=["']gr["']/);
    host.clear();
    guest.clear();
    guest.send(`<presence to='host@localhost' type='subscribe'><preauth xmlns='urn:xmpp:pars:0' token='${token}'/></presence>`);
    // The guest hears "subscribed" without the host doing anything, and now sees the host.
    await guest.waitFor(/<presence[^>]*type=["']subscribed["']/);
    await guest.waitFor(/<item[^>]*subscription=["']to["']/);
    // The host's roster has the guest as a subscriber; no request was shown to approve.
    await host.waitFor(/<item[^>]*subscription=["']from["']/);
    assert.doesNotMatch(host.received, /type=["']subscribe["']/);
    // Spent: the same token from someone else is an ordinary request, left to the host.
    await stranger.login("stranger", "stranger-pw", "s");
    stranger.send("<iq type='get' id='sr'><query xmlns='jabber:iq:roster'/></iq><presence/>");
    await stranger.waitFor(/id=["']sr["']/);
    stranger.clear();
    host.clear();
    stranger.send(`<presence to='host@localhost' type='subscribe'><preauth xmlns='urn:xmpp:pars:0' token='${token}'/></presence>`);
    await host.waitFor(
      /<presence[^>]*from=["']stranger@localhost["'][^>]*type=["']subscribe["']|<presence[^>]*type=["']subscribe["'][^>]*from=["']stranger@localhost["']/,
    );
    assert.doesNotMatch(stranger.received, /type=["']subscribed["']/);
  });
});

describe("the invite page", () => {
  const web = (ua?: string) => new WebClient(`http://127.0.0.1:${server.httpPort}`, ua);
  const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";
  const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148";

  test("lands by platform, with the xmpp: link, and registers without an app", async () => {
    const { token } = await create();
    const android = await web(ANDROID).get(`/invite/${token}`);
    assert.equal(android.status, 200);
    assert.match(android.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(android.text, new RegExp(`href="xmpp:localhost\\?register;preauth=${token}"`));
    const firstApp = (html: string) => /<h3>([^<]+)/.exec(html)?.[1]?.trim();
    assert.equal(firstApp(android.text), "Android");
    assert.match(android.text, /Conversations/);
    const iphone = await web(IPHONE).get(`/invite/${token}`);
    assert.equal(firstApp(iphone.text), "iPhone and iPad");
    assert.match(iphone.text, /Monal/);

    const b = web();
    const page = await b.get(`/invite/${token}`);
    const csrf = csrfOf(page.text);
    // Forged: no CSRF token, or another site's Origin.
    const forged = await b.post(`/invite/${token}`, { username: "forged", new_password: "forged-pw-1", confirm_password: "forged-pw-1" });
    assert.equal(forged.status, 403);
    const cross = await b.post(
      `/invite/${token}`,
      { csrf, username: "forged", new_password: "forged-pw-1", confirm_password: "forged-pw-1" },
      { origin: "https://evil.example" },
    );
    assert.equal(cross.status, 403);
    const mismatch = await b.post(`/invite/${token}`, { csrf, username: "webber", new_password: "webber-pw-1", confirm_password: "other" });
    assert.equal(mismatch.status, 400);
    // What the visitor typed comes back escaped.
    const hostile = `<script>alert(1)</script>"`;
    const bad = await b.post(`/invite/${token}`, { csrf, username: hostile, new_password: "webber-pw-1", confirm_password: "webber-pw-1" });
    assert.equal(bad.status, 400);
    assert.ok(!bad.text.includes(hostile), "the username is escaped");
    assert.match(bad.text, /&lt;script&gt;/);
    assert.equal(flashOf(bad.text)?.text, "That username is not allowed");
    assert.equal(await canLogin(server.c2sPort, "forged", "forged-pw-1"), false);

    const ok = await b.post(`/invite/${token}`, { csrf, username: "webber", new_password: "webber-pw-1", confirm_password: "webber-pw-1" });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /webber@localhost/);
    assert.equal(await canLogin(server.c2sPort, "webber", "webber-pw-1"), true);
    // Spent: the page now says so, and a second post registers nothing.
    assert.equal((await b.get(`/invite/${token}`)).status, 404);
    const twice = await b.post(`/invite/${token}`, { csrf, username: "webber2", new_password: "webber-pw-2", confirm_password: "webber-pw-2" });
    assert.equal(twice.status, 404);
    assert.equal(await canLogin(server.c2sPort, "webber2", "webber-pw-2"), false);
  });

  test("unknown tokens are 404, expired ones 410, each a page that says so", async () => {
    const unknown = await web().get("/invite/AAAAAAAAAAAAAAAAAAAAAAAA");
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get("content-type") ?? "", /text\/html/);
    assert.match(unknown.text, /Invitation not found/);
    assert.equal((await web().get("/invite/%3Cscript%3E")).status, 404);
    const { token } = await create("--expires", "1");
    await sleep(1100);
    const expired = await web().get(`/invite/${token}`);
    assert.equal(expired.status, 410);
    assert.match(expired.text, /Invitation expired/);
  });

  test("a reset invitation's page sets the password", async () => {
    await server.addUser("webreset", "webreset-old");
    const { token } = await create("--reset", "webreset");
    const b = web();
    const page = await b.get(`/invite/${token}`);
    assert.match(page.text, /webreset@localhost/);
    const ok = await b.post(`/invite/${token}`, { csrf: csrfOf(page.text), username: "taken", new_password: "webreset-new", confirm_password: "webreset-new" });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await canLogin(server.c2sPort, "webreset", "webreset-new"), true);
    assert.equal(await canLogin(server.c2sPort, "taken", "webreset-new"), false, "the form's username is ignored");
  });
});

test("no token is ever written to the server's log", () => {
  assert.ok(issued.length > 5);
  assert.ok(
    server.lines.some((l) => l.includes('"path":"/invite/…"')),
    "the page's requests are logged, without their token",
  );
  for (const token of issued) assert.ok(!server.lines.some((l) => l.includes(token)), `token ${token} is in the log`);
});
