// Units of the account page: browser-session timeouts (idle and absolute, with explicit clocks)
// and the security history store (coalesced failed logins, unknown accounts, retention).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ABSOLUTE_MS, LocalBrowserSessions, IDLE_MS, describeBrowser, type EndReason } from "../../src/http/account/sessions.js";
import type { HttpRequest } from "../../src/http/server.js";
import { openStorage } from "../../src/storage/index.js";

const req = (ua?: string) => ({ ip: "192.0.2.1", secure: true, header: (n: string) => (n === "user-agent" ? ua : undefined) }) as unknown as HttpRequest;

test("browser sessions: random ids, idle and absolute timeouts, ended sessions are announced once", () => {
  const ended: Array<[string, EndReason]> = [];
  const changed: string[] = [];
  const sessions = new LocalBrowserSessions(
    (s, r) => ended.push([s.handle, r]),
    (u) => changed.push(u),
  );
  try {
    const a = sessions.create("alice", req("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile/15E148 Safari/604.1"));
    const b = sessions.create("alice", req());
    assert.match(a.id, /^[A-Za-z0-9_-]{43}$/, "32 random bytes");
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.csrf, b.csrf);
    assert.notEqual(a.handle, a.id.slice(0, a.handle.length), "the public handle is not part of the secret id");
    assert.equal(a.browser, "Safari on iOS");
    assert.equal(sessions.get(a.id), a);
    assert.equal(sessions.get("not-an-id"), undefined);

    // Idle: IDLE_MS after the last use.
    assert.equal(sessions.expired(a, a.lastSeen + IDLE_MS - 1), false);
    assert.equal(sessions.expired(a, a.lastSeen + IDLE_MS), true);
    // Absolute: ABSOLUTE_MS after sign-in however busy.
    const busy = a;
    busy.lastSeen = a.createdAt + ABSOLUTE_MS - 1;
    assert.equal(sessions.expired(busy, a.createdAt + ABSOLUTE_MS - 1), false);
    assert.equal(sessions.expired(busy, a.createdAt + ABSOLUTE_MS), true);
    assert.equal(sessions.expiresAt(busy), a.createdAt + ABSOLUTE_MS);

    sessions.sweep(b.lastSeen + IDLE_MS);
    assert.deepEqual(
      ended.map(([h]) => h),
      [b.handle],
      "b idled out; a is still in use",
    );
    sessions.sweep(a.createdAt + ABSOLUTE_MS);
    assert.deepEqual(
      ended.map(([h]) => h),
      [b.handle, a.handle],
      "a reached its absolute limit",
    );
    assert.ok(ended.every(([, r]) => r === "expired"));
    sessions.sweep(a.createdAt + 2 * ABSOLUTE_MS);
    assert.equal(ended.length, 2, "each end is announced once");
    assert.ok(changed.includes("alice"));

    const c = sessions.create("bob", req());
    const d = sessions.create("bob", req());
    assert.equal(sessions.endUser("bob", "password-changed", d), 1);
    assert.equal(sessions.get(c.id), undefined);
    assert.equal(sessions.get(d.id), d);
  } finally {
    sessions.stop();
  }
});

test("describeBrowser: the usual browsers and systems", () => {
  assert.equal(
    describeBrowser("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0"),
    "Edge on Windows",
  );
  assert.equal(describeBrowser("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"), "Firefox on macOS");
  assert.equal(
    describeBrowser("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"),
    "Chrome on Android",
  );
  assert.equal(describeBrowser(undefined), "Unknown browser");
});

test("security history store: coalesced failures, nothing for unknown accounts, newest first, retention", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-events-"));
  const store = await openStorage({ backend: "sqlite", path: join(dir, "w.db") });
  try {
    const scram = {};
    await store.users.create({ username: "alice", scram, passwordChangedAt: 1, createdAt: 1 });
    const ev = (kind: string, at: number, ip?: string, data: Record<string, unknown> = {}) => ({ username: "alice", kind, at, data, ...(ip ? { ip } : {}) });
    assert.equal(await store.events.add({ username: "nobody", kind: "new-client", at: 5, data: {} }), false, "no account, no history");
    assert.equal(await store.events.addCoalesced({ username: "nobody", kind: "login-failed", at: 5, data: {} }), false);
    await store.events.add(ev("new-client", 10, "192.0.2.1", { software: "App" }));
    await store.events.addCoalesced(ev("login-failed", 20, "198.51.100.1", { via: "xmpp" }));
    await store.events.addCoalesced(ev("login-failed", 30, "198.51.100.2", { via: "xmpp" }));
    await store.events.addCoalesced(ev("login-failed", 35, "198.51.100.3", { via: "account page" }));
    await store.events.addCoalesced(ev("login-failed", 40, "198.51.100.4", { via: "account page" }));
    await store.events.add(ev("password-changed", 50));
    await store.events.addCoalesced(ev("login-failed", 60, "203.0.113.9", { via: "xmpp" }));
    const list = await store.events.list("alice", 10);
    assert.deepEqual(
      list.map((e) => [e.kind, e.count, e.firstAt, e.at, e.ip ?? null]),
      [
        ["login-failed", 1, 60, 60, "203.0.113.9"],
        ["password-changed", 1, 50, 50, null],
        ["login-failed", 2, 35, 40, "198.51.100.4"],
        ["login-failed", 2, 20, 30, "198.51.100.2"],
        ["new-client", 1, 10, 10, "192.0.2.1"],
      ],
    );
    assert.deepEqual(list[4]!.data, { software: "App" });
    assert.equal((await store.events.list("alice", 2)).length, 2);
    assert.equal(await store.events.purge(36), 2, "entries whose last occurrence is older go");
    assert.deepEqual(
      (await store.events.list("alice", 10)).map((e) => e.kind),
      ["login-failed", "password-changed", "login-failed"],
    );
    await store.users.delete("alice");
    assert.deepEqual(await store.events.list("alice", 10), [], "deleted with the account");
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
