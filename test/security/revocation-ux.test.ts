// Revocation that never overpromises (issue 10 §2), tried as a user and an operator would:
// - a password client without client id (profanity, converse.js, sendxmpp) comes back with the
//   password, so revoking it must say so and offer "Change password and sign out everywhere
//   else" in the same place (page and shell), which must really end everything else at once;
// - a revoked SASL2 client stays refused, with a refusal text that names the account page,
//   and can be allowed again (page and shell), in the security history;
// - a revoked client's stream ends with a text about that client;
// - listings show the latest login at once (last-seen and order);
// - replies to the account's own manage-clients IQs come from its bare JID or carry no from;
// - `revoke_client` on a password client exits 0 with its warning on stderr.
// Everything over real sockets against the built server; the database is read directly to see
// that grants and tokens are gone, not merely hidden.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startServer, type CliResult, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { NS_STREAMS, child, show, type XmlEl } from "../helpers/xml.js";
import { expectStreamError, ping } from "../helpers/xmpp-assert.js";
import { assertSasl2Failure, failureCondition } from "../helpers/sasl2-client.js";
import {
  NS_MANAGE,
  assertClientNotFound,
  fastLogin,
  getById,
  iq,
  legacyLogin,
  listClients,
  nextId,
  revokeClient,
  sasl2Login,
  sasl2LoginFails,
} from "../helpers/manage-clients.js";
import { WebClient, csrfOf, flashOf, historyOf, listed, rowOf } from "../helpers/account-web.js";

const EXTERNAL = "https://chat.example.test:5281";
let server: TestServer;
let users = 0;
const open: RawClient[] = [];

before(async () => {
  // Many form posts from one address: the per-IP request limit is not what these tests check.
  server = await startServer({ oauth2_rate_limit: 10_000, http_external_url: EXTERNAL });
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

async function newUser(prefix: string): Promise<{ name: string; pw: string; jid: string }> {
  const name = `${prefix}${++users}`;
  const pw = `${name}-long-password`;
  await server.addUser(name, pw);
  return { name, pw, jid: `${name}@localhost` };
}

const keep = <T extends { c: RawClient }>(x: T): T => {
  open.push(x.c);
  return x;
};
const web = () => new WebClient(`http://127.0.0.1:${server.httpPort}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectExit(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function streamText(err: XmlEl): string | undefined {
  return child(err, "text", NS_STREAMS)?.text;
}

/** RFC 6120 SASL PLAIN on a fresh connection: whether the password is accepted. */
async function passwordWorks(user: string, password: string): Promise<boolean> {
  const c = await RawClient.connect(server.c2sPort);
  try {
    return await c.plainAuth(user, password, 10_000);
  } finally {
    c.close();
  }
}

/** The account's grants and tokens as stored (read beside the running server; WAL allows it). */
function stored(username: string): { grants: number; tokens: number } {
  const db = new Database(join(server.dataDir, "data/warden.sqlite"), { readonly: true, fileMustExist: true });
  try {
    const n = (sql: string) => db.prepare(sql).pluck().get(username) as number;
    return { grants: n("SELECT count(*) FROM grants WHERE username = ?"), tokens: n("SELECT count(*) FROM tokens WHERE username = ?") };
  } finally {
    db.close();
  }
}

/** The id of the one legacy client (client/…) listed for a session. */
async function legacyId(c: RawClient, resource: string): Promise<string> {
  const { clients } = await listClients(c);
  const ids = clients.filter((x) => x.software === undefined && x.type === "session").map((x) => x.id);
  assert.equal(ids.length >= 1, true, `a legacy client for resource ${resource}: ${JSON.stringify(clients.map((x) => x.id))}`);
  return ids[0]!;
}

describe("a password client without client id", () => {
  test("the page warns that it can sign in again and offers 'Change password and sign out everywhere else', which ends everything else in one step", async () => {
    const u = await newUser("prof");
    const profanity = keep(await legacyLogin(server.c2sPort, u.name, u.pw, "profanity"));
    const phone = keep(
      await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "reset-phone", software: "Conversations", device: "Pixel 7" }, requestToken: true }),
    );
    assert.ok(phone.token, "the phone got a FAST token");
    const id = await legacyId(profanity.c, "profanity");
    const other = new WebClient(`http://127.0.0.1:${server.httpPort}`, "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36");
    await other.signIn(u.name, u.pw);
    const b = web();
    await b.signIn(u.name, u.pw);
    assert.ok(stored(u.name).grants >= 1 && stored(u.name).tokens >= 1, "the FAST grant and token are stored before");

    // Before anything is confirmed: the plain truth, and the action that works, in the same place.
    const confirm = await b.get(`/account/revoke?id=${encodeURIComponent(id)}`);
    assert.equal(confirm.status, 200, confirm.text);
    assert.match(confirm.text, /This app knows your password and will be able to sign in again/);
    assert.doesNotMatch(confirm.text, /cannot sign in again/, "no promise the server cannot keep");
    assert.match(
      confirm.text,
      /<form method="post" action="\/account\/reset"[^>]*>[\s\S]*name="id" value="[^"]+"[\s\S]*name="current_password"[\s\S]*name="new_password"[\s\S]*name="confirm_password"[\s\S]*<button class="danger solid" type="submit">Change password and sign out everywhere else<\/button>/,
    );

    // A wrong current password changes nothing, and the warning is shown again.
    const next = `${u.pw}-but-new`;
    const wrong = await b.post("/account/reset", { csrf: csrfOf(confirm.text), id, current_password: "not-it", new_password: next, confirm_password: next });
    assert.equal(wrong.status, 403, wrong.text);
    assert.match(wrong.text, /This app knows your password/);
    await ping(profanity.c);
    await ping(phone.c);

    const r = await b.post("/account/reset", { csrf: csrfOf(confirm.text), id, current_password: u.pw, new_password: next, confirm_password: next });
    assert.equal(r.status, 303, r.text);
    assert.equal(r.location, "/account");
    // Every XMPP session ends (the password-change stream error), the one revoked and the others.
    for (const [c, what] of [
      [profanity.c, "profanity"],
      [phone.c, "the phone"],
    ] as const) {
      const err = await expectStreamError(c, "reset").catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
      assert.equal(streamText(err), "The account password was changed", show(err));
    }
    // This browser stays signed in, and says what happened; the other browser is signed out.
    const page = await b.account();
    const flash = flashOf(page);
    assert.equal(flash?.kind, "ok");
    assert.match(
      flash.text,
      /^Your password was changed and everything else was signed out: 2 XMPP connections were closed, 1 other browser was signed out and 1 token or app authorization was cancelled\./,
    );
    assert.equal((await other.get("/account")).status, 303, "the other browser is signed out");
    // Stored: no grant and no token left (deleted, not merely outdated).
    assert.deepEqual(stored(u.name), { grants: 0, tokens: 0 });
    // The old password is refused, the new one works; the FAST token is dead.
    assert.equal(await passwordWorks(u.name, u.pw), false, "the old password is refused");
    assert.equal(await passwordWorks(u.name, next), true, "the new password works");
    const fast = await fastLogin(server.c2sPort, u.name, phone.token, { id: "reset-phone", software: "Conversations" });
    assert.equal(fast.result.name, "failure", `the FAST token is refused: ${show(fast.result)}`);
    fast.c.close();
    // One entry in the history, in words.
    const h = historyOf(await b.account());
    const entries = h.filter((e) => e.kind === "password-reset" || e.kind === "password-changed");
    assert.deepEqual(
      entries.map((e) => e.what),
      ["Password changed and everything else signed out on the account page (connections closed: 2; tokens and app authorizations cancelled: 1)"],
      JSON.stringify(h),
    );
  });

  test("revoking it anyway: the flash says it can sign in again, and it can", async () => {
    const u = await newUser("again");
    const conv = keep(await legacyLogin(server.c2sPort, u.name, u.pw, "converse"));
    const id = await legacyId(conv.c, "converse");
    const b = web();
    await b.signIn(u.name, u.pw);
    const confirm = await b.get(`/account/revoke?id=${encodeURIComponent(id)}`);
    const r = await b.post("/account/revoke", { csrf: csrfOf(confirm.text), id, password: u.pw });
    assert.equal(r.status, 303, r.text);
    await expectStreamError(conv.c, "not-authorized");
    const flash = flashOf(await b.account());
    assert.match(flash!.text, /It knows your password and can sign in again: to keep it out, change your password/);
    assert.doesNotMatch(flash!.text, /cannot sign in again/);
    // And indeed it can (the server cannot tell it from a new client).
    keep(await legacyLogin(server.c2sPort, u.name, u.pw, "converse"));
  });

  test("shell: revoke_client exits 0 and warns on stderr naming reset_password; reset_password ends every session, token and grant, in the history", async () => {
    const u = await newUser("shellreset");
    const sendxmpp = keep(await legacyLogin(server.c2sPort, u.name, u.pw, "sendxmpp"));
    const phone = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "shell-reset-phone", software: "Monal" }, requestToken: true }));
    const id = await legacyId(sendxmpp.c, "sendxmpp");

    const r = await server.cli(["shell", "user", "revoke_client", u.jid, id]);
    expectExit(r, 0, "revoke_client of a password client without client id");
    assert.equal(r.stdout, "Client access revoked\n");
    assert.match(
      r.stderr,
      /^warning: Password reset required: this client signed in with the password and has no client id, so the server cannot tell it from a new client and it can sign in again\./,
    );
    assert.ok(r.stderr.includes(`warden shell user reset_password ${u.jid}`), r.stderr);
    const err = await expectStreamError(sendxmpp.c, "not-authorized");
    assert.equal(streamText(err), "Access for the client “sendxmpp” was revoked by the server administrator", show(err));

    // --json: the same outcome, machine-readable, exit 0.
    const again = keep(await legacyLogin(server.c2sPort, u.name, u.pw, "sendxmpp"));
    const j = await server.cli(["shell", "user", "revoke_client", u.jid, await legacyId(again.c, "sendxmpp"), "--json"]);
    expectExit(j, 0, "revoke_client --json");
    const out = JSON.parse(j.stdout) as { result: string; message: string; warning?: string };
    assert.equal(out.result, "can-sign-in-again");
    assert.equal(out.message, "Client access revoked");
    assert.match(out.warning ?? "", /reset_password/);

    const next = `${u.pw}-shell-new`;
    const reset = await server.cli(["shell", "user", "reset_password", u.jid], `${next}\n`);
    expectExit(reset, 0, "reset_password");
    assert.equal(reset.stdout, `Password changed for ${u.jid}: 1 connection closed, 1 token or app authorization cancelled\n`);
    const perr = await expectStreamError(phone.c, "reset");
    assert.equal(streamText(perr), "The account password was changed");
    assert.deepEqual(stored(u.name), { grants: 0, tokens: 0 });
    assert.equal(await passwordWorks(u.name, u.pw), false);
    assert.equal(await passwordWorks(u.name, next), true);
    const b = web();
    await b.signIn(u.name, next);
    const h = historyOf(await b.account());
    const entry = h.find((e) => e.kind === "password-reset");
    assert.equal(
      entry?.what,
      "Password changed and everything else signed out by the server administrator (connections closed: 1; tokens and app authorizations cancelled: 1)",
    );

    // Errors: an unknown account (67), no password on stdin (66); nothing changes.
    expectExit(
      await server.cli(["shell", "user", "reset_password", "nobody-here@localhost"], "whatever-password\n"),
      67,
      "reset_password of a missing account",
    );
    expectExit(await server.cli(["shell", "user", "reset_password", u.jid], ""), 66, "reset_password without a password");
    assert.equal(await passwordWorks(u.name, next), true);
  });

  test("shell: revoke_client of a SASL2 password client exits 0 with a warning; 'Client not found' stays 67", async () => {
    const u = await newUser("shellsasl2");
    const c = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "shell-sasl2", software: "Dino" } }));
    const r = await server.cli(["shell", "user", "revoke_client", u.jid, "client/shell-sasl2"]);
    expectExit(r, 0, "revoke_client of a SASL2 password client");
    assert.equal(r.stdout, "Client access revoked\n");
    assert.match(r.stderr, /^warning: Password reset required: this client knows the password\./);
    await expectStreamError(c.c, "not-authorized");
    const missing = await server.cli(["shell", "user", "revoke_client", u.jid, "client/shell-sasl2"]);
    expectExit(missing, 67, "revoke_client of a client that is gone");
    assert.equal(missing.stdout, "Client not found\n");
  });
});

describe("a revoked SASL2 client", () => {
  test("its refusal names the account page (http_external_url + /account); 'Allow again' on the page lets it back, in the history", async () => {
    const u = await newUser("allow");
    const phone = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "allow-phone", software: "Conversations", device: "Pixel 7" } }));
    const b = web();
    await b.signIn(u.name, u.pw);
    const confirm = await b.get("/account/revoke?id=client%2Fallow-phone");
    assert.match(confirm.text, /until you allow it again or change the password/);
    const r = await b.post("/account/revoke", { csrf: csrfOf(confirm.text), id: "client/allow-phone", password: u.pw });
    assert.equal(r.status, 303, r.text);
    // The stream ends with a text about this client, from where it was revoked.
    const err = await expectStreamError(phone.c, "not-authorized");
    assert.equal(streamText(err), "Access for Conversations on Pixel 7 was revoked from your account page", show(err));

    // Refused even with the password; the text tells a person where to go.
    const refused = await sasl2LoginFails(server.c2sPort, u.name, u.pw, { id: "allow-phone", software: "Conversations" });
    assertSasl2Failure(
      refused.failure,
      "not-authorized",
      `Access for this client was revoked. You can allow it again on your account page, ${EXTERNAL}/account`,
    );
    refused.c.close();

    // The page lists it as revoked, with "Allow again".
    const page = await b.account();
    assert.match(page, /<tr data-revoked="client\/allow-phone">[\s\S]*?Conversations[\s\S]*?href="\/account\/allow\?id=client%2Fallow-phone">Allow again/);
    const allow = await b.get("/account/allow?id=client%2Fallow-phone");
    assert.equal(allow.status, 200);
    // The password is asked again; a wrong one allows nothing.
    const bad = await b.post("/account/allow", { csrf: csrfOf(allow.text), id: "client/allow-phone", password: "nope" });
    assert.equal(bad.status, 403);
    const still = await sasl2LoginFails(server.c2sPort, u.name, u.pw, { id: "allow-phone", software: "Conversations" });
    assert.equal(failureCondition(still.failure), "not-authorized");
    still.c.close();
    const ok = await b.post("/account/allow", { csrf: csrfOf(allow.text), id: "client/allow-phone", password: u.pw });
    assert.equal(ok.status, 303, ok.text);
    const after = await b.account();
    assert.equal(flashOf(after)?.text, "Conversations on Pixel 7 may sign in again.");
    assert.doesNotMatch(after, /data-revoked="client\/allow-phone"/, "no longer listed as revoked");
    const h = historyOf(after);
    assert.equal(h[0]?.kind, "client-allowed");
    assert.equal(h[0]?.what, "Access allowed again: “Conversations” on “Pixel 7” on the account page");
    // It logs in again with its id.
    const back = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "allow-phone", software: "Conversations", device: "Pixel 7" } }));
    await ping(back.c);
    // Allowing what is not revoked: nothing to do.
    assert.equal((await b.post("/account/allow", { csrf: csrfOf(after), id: "client/allow-phone", password: u.pw })).status, 303);
    assert.equal(flashOf(await b.account())?.text, "That client is not revoked.");
  });

  test("shell: allow_client lets it back (exit 0), in the history; a client that is not revoked is 'Client not found' (67)", async () => {
    const u = await newUser("shellallow");
    const c = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "shell-allow", software: "Gajim", device: "Laptop" } }));
    expectExit(await server.cli(["shell", "user", "revoke_client", u.jid, "client/shell-allow"]), 0, "revoke_client");
    const err = await expectStreamError(c.c, "not-authorized");
    assert.equal(streamText(err), "Access for Gajim on Laptop was revoked by the server administrator");
    const refused = await sasl2LoginFails(server.c2sPort, u.name, u.pw, { id: "shell-allow", software: "Gajim" });
    assert.equal(failureCondition(refused.failure), "not-authorized");
    refused.c.close();

    const r = await server.cli(["shell", "user", "allow_client", u.jid, "client/shell-allow"]);
    expectExit(r, 0, "allow_client");
    assert.equal(r.stdout, "Client access allowed again\n");
    assert.equal(r.stderr, "");
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "shell-allow", software: "Gajim" } }));
    const twice = await server.cli(["shell", "user", "allow_client", u.jid, "client/shell-allow"]);
    expectExit(twice, 67, "allow_client of a client that is not revoked");
    expectExit(await server.cli(["shell", "user", "allow_client", u.jid, "client/never-seen"]), 67, "allow_client of an unknown client");
    expectExit(await server.cli(["shell", "user", "allow_client", u.jid]), 64, "allow_client without a selector");

    const b = web();
    await b.signIn(u.name, u.pw);
    const h = historyOf(await b.account());
    assert.ok(
      h.some((e) => e.kind === "client-allowed" && e.what === "Access allowed again: “Gajim” on “Laptop” by the server administrator"),
      JSON.stringify(h),
    );
    assert.ok(
      h.some((e) => e.kind === "client-revoked" && e.what === "Access revoked: “Gajim” on “Laptop” by the server administrator"),
      JSON.stringify(h),
    );
  });

  test("without http_external_url the refusal says 'your account page' (no guessed address)", async () => {
    const plain = await startServer();
    try {
      await plain.addUser("nourl", "nourl-long-password");
      const c = await sasl2Login(plain.c2sPort, "nourl", "nourl-long-password", { userAgent: { id: "nourl-phone", software: "Siskin" } });
      c.c.close();
      expectExit(await plain.cli(["shell", "user", "revoke_client", "nourl", "client/nourl-phone"]), 0, "revoke_client");
      const refused = await sasl2LoginFails(plain.c2sPort, "nourl", "nourl-long-password", { id: "nourl-phone" });
      assertSasl2Failure(refused.failure, "not-authorized", "Access for this client was revoked. You can allow it again on your account page");
      refused.c.close();
    } finally {
      await plain.stop();
    }
  });
});

describe("per-client stream end", () => {
  test("revoked by another client of the account: the text names the client and says so", async () => {
    const u = await newUser("xmpprev");
    const victim = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "xr-victim", software: "Cheogram", device: "Fairphone" } }));
    const admin = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "xr-admin", software: "Gajim" } }));
    const { reply } = await revokeClient(admin.c, "client/xr-victim");
    assert.equal(reply.attrs.type, "error", "a password client: password-reset-required");
    const err = await expectStreamError(victim.c, "not-authorized");
    assert.equal(streamText(err), "Access for Cheogram on Fairphone was revoked by a client of your account", show(err));
    assert.notEqual(streamText(err), "Access to this account was revoked");
  });
});

describe("listings exact at the moment they are read", () => {
  test("a client that logs in again seconds later is last, with that login's time, in the XML list, the shell and the page", async () => {
    const u = await newUser("order");
    const watcher = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "o-watcher", software: "Watcher" } }));
    await sleep(1100);
    const a1 = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "o-a", software: "Alpha" } });
    a1.c.close();
    await sleep(1100);
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "o-b", software: "Beta" } }));
    await sleep(1100);
    const t0 = Date.now();
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "o-a", software: "Alpha" } }));
    const t1 = Date.now();

    const { clients } = await listClients(watcher.c);
    assert.deepEqual(
      clients.map((x) => x.id),
      ["client/o-watcher", "client/o-b", "client/o-a"],
      "ascending last-seen, the latest login last",
    );
    const last = Date.parse(getById(clients, "client/o-a").lastSeen);
    assert.ok(last >= Math.floor(t0 / 1000) * 1000 && last <= t1, `Alpha's last-seen is its latest login (${getById(clients, "client/o-a").lastSeen})`);

    const r = await server.cli(["shell", "user", "clients", u.jid, "--json"]);
    expectExit(r, 0, "shell user clients");
    const rows = JSON.parse(r.stdout) as Array<{ id: string; lastSeen: number }>;
    assert.deepEqual(
      rows.map((x) => x.id),
      ["client/o-watcher", "client/o-b", "client/o-a"],
    );
    assert.ok(rows[2]!.lastSeen >= t0 && rows[2]!.lastSeen <= t1, "the shell shows the latest login");

    const b = web();
    await b.signIn(u.name, u.pw);
    const page = await b.account();
    assert.deepEqual(
      listed(page).filter((s) => s.startsWith("client/")),
      ["client/o-watcher", "client/o-b", "client/o-a"],
    );
    const shown = /data-label="Last seen"><time datetime="([^"]+)"/.exec(rowOf(page, "client/o-a")!)?.[1] ?? "";
    assert.ok(Date.parse(shown) >= t0 - 1000 && Date.parse(shown) <= t1, `the page shows the latest login: ${shown}`);
  });

  test("a legacy client that binds again seconds later moves to the end too", async () => {
    const u = await newUser("lorder");
    const watcher = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "lo-watcher", software: "Watcher" } }));
    await sleep(1100);
    const first = await legacyLogin(server.c2sPort, u.name, u.pw, "desk");
    const deskId = await legacyId(first.c, "desk");
    first.c.close();
    await sleep(1100);
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "lo-b", software: "Beta" } }));
    await sleep(1100);
    keep(await legacyLogin(server.c2sPort, u.name, u.pw, "desk"));
    const { clients } = await listClients(watcher.c);
    assert.deepEqual(
      clients.map((x) => x.id),
      ["client/lo-watcher", "client/lo-b", deskId],
    );
  });
});

describe("manage-clients replies come from the account (RFC 6120 §8.1.2.1)", () => {
  const fromOk = (reply: XmlEl, bare: string) => reply.attrs.from === undefined || reply.attrs.from === bare;

  test("errors to IQs without 'to' (client not found, missing id, unknown payload) come from the bare JID or carry no from", async () => {
    const u = await newUser("from");
    const c = keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "from-c", software: "Slixmpp" } }));
    const notFound = (await revokeClient(c.c, "client/nope")).reply;
    assertClientNotFound(notFound, "revoke of an unknown client");
    assert.ok(fromOk(notFound, u.jid), `from is the bare JID or absent: ${show(notFound)}`);
    const noId = (await revokeClient(c.c, undefined)).reply;
    assert.equal(noId.attrs.type, "error");
    assert.ok(fromOk(noId, u.jid), show(noId));
    const list = (await listClients(c.c)).reply;
    assert.ok(fromOk(list, u.jid), show(list));
    // The router's own error for an IQ to the account that nothing handles.
    const id = nextId("unknown");
    const { reply } = await iq(c.c, id, `<iq type='get' id='${id}'><nothing-here xmlns='urn:example:none'/></iq>`);
    assert.equal(reply.attrs.type, "error");
    assert.ok(fromOk(reply, u.jid), `the router's error: ${show(reply)}`);
    // Addressed to the bare JID: from the bare JID.
    const toBare = (await revokeClient(c.c, "client/nope", NS_MANAGE, u.jid)).reply;
    assert.equal(toBare.attrs.from, u.jid, show(toBare));
  });
});
