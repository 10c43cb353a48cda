// The invitation helpers without a server: durations for `warden invite create --expires`, the
// invite page's platform guess, the URIs (XEP-0401 §4, XEP-0379 §3, XEP-0445 §3.3) and the
// stored hash (never the token).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInvite, findInvite, parseDuration, inviteUri, inviteUrl, tokenHash, TOKEN_SHAPE } from "../../src/auth/invites.js";
import { createAccount, deleteAccount } from "../../src/auth/accounts.js";
import { openStorage } from "../../src/storage/index.js";
import { platformOf } from "../../src/http/invite/apps.js";
import { buildConfig } from "../../src/core/config.js";
import type { InviteRecord } from "../../src/storage/types.js";

test("durations", () => {
  assert.equal(parseDuration("7d"), 7 * 86400);
  assert.equal(parseDuration("12h"), 12 * 3600);
  assert.equal(parseDuration("30m"), 1800);
  assert.equal(parseDuration("90"), 90);
  assert.equal(parseDuration("2w"), 14 * 86400);
  for (const bad of ["", "0", "0d", "-1", "1.5h", "7 days", "d", "1y", "99999999999"]) assert.equal(parseDuration(bad), undefined, bad);
});

test("platforms from User-Agent strings", () => {
  assert.equal(platformOf("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"), "android");
  assert.equal(platformOf("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"), "ios");
  assert.equal(platformOf("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)"), "ios");
  assert.equal(platformOf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0"), "desktop");
  assert.equal(platformOf("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"), "desktop");
  assert.equal(platformOf("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15"), "desktop");
  assert.equal(platformOf("curl/8.5.0"), "other");
  assert.equal(platformOf(undefined), "other");
});

test("URIs and URLs", () => {
  const cfg = buildConfig({ domain: "example.org", https_ports: [5281] });
  const rec = (kind: InviteRecord["kind"], username?: string): InviteRecord => ({
    id: "i",
    hash: "h",
    kind,
    createdAt: 0,
    expiresAt: 1,
    ...(username ? { username } : {}),
  });
  assert.equal(inviteUri(cfg, rec("account"), "TOK"), "xmpp:example.org?register;preauth=TOK");
  assert.equal(inviteUri(cfg, rec("reset", "juliet"), "TOK"), "xmpp:juliet@example.org?register;preauth=TOK");
  assert.equal(inviteUri(cfg, rec("roster", "romeo"), "TOK"), "xmpp:romeo@example.org?roster;preauth=TOK;ibr=y");
  assert.equal(inviteUrl(cfg, "TOK"), "https://example.org:5281/invite/TOK");
  assert.equal(inviteUrl(buildConfig({ domain: "example.org", https_ports: [443] }), "TOK"), "https://example.org/invite/TOK");
  assert.equal(
    inviteUrl(buildConfig({ domain: "example.org", http_external_url: "https://chat.example.org/x/" }), "TOK"),
    "https://chat.example.org/x/invite/TOK",
  );
});

test("the stored hash is SHA-256 of the token, and only token-shaped strings are looked up", () => {
  assert.equal(tokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.ok(TOKEN_SHAPE.test("AAAAAAAAAAAAAAAAAAAAAAAA"));
  assert.ok(!TOKEN_SHAPE.test("AAAA"));
  assert.ok(!TOKEN_SHAPE.test("AAAAAAAAAAAAAAAAAAAAAAA/"));
});

test("the SQLite invite store: single use, expiry, revocation, and deletion with the account", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-invites-"));
  const s = await openStorage({ backend: "sqlite", path: join(dir, "db.sqlite") });
  try {
    const now = Date.now();
    const a = await createInvite(s, "account", 60, undefined, now);
    assert.deepEqual(await s.invites.get(tokenHash(a.token)), a.record);
    assert.equal((await findInvite(s, a.token, now)).ok, true);
    assert.deepEqual(await findInvite(s, a.token, now + 61_000), { ok: false, why: "expired" });
    assert.equal(await s.invites.take(a.record.hash, now + 61_000), undefined, "not taken once expired");
    assert.deepEqual(await s.invites.take(a.record.hash, now), a.record);
    assert.equal(await s.invites.take(a.record.hash, now), undefined, "single use");
    assert.deepEqual(await findInvite(s, a.token, now), { ok: false, why: "unknown" });

    const b = await createInvite(s, "account", 60, undefined, now);
    assert.equal(await s.invites.delete(b.record.id), true);
    assert.equal(await s.invites.delete(b.record.id), false);

    await createAccount(s, "romeo", "pw", 4096);
    const c = await createInvite(s, "roster", 60, "romeo", now);
    const old = await createInvite(s, "account", 1, undefined, now - 10 * 86400_000);
    assert.deepEqual((await s.invites.list()).map((i) => i.id).sort(), [c.record.id, old.record.id].sort());
    assert.equal(await s.invites.purge(now - 86400_000), 1);
    await deleteAccount(s, "romeo");
    assert.deepEqual(await s.invites.list(), [], "a contact invitation dies with its account");
    // An account invitation names no account; the others must.
    await assert.rejects(s.invites.create({ ...a.record, id: "x1", hash: "h1", username: "romeo" }));
    await assert.rejects(s.invites.create({ id: "x2", hash: "h2", kind: "reset", createdAt: now, expiresAt: now + 1 }));
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
