// SQLite storage against a real file: the semantics every backend must keep, plus persistence
// and migrations across reopen.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openStorage, StorageConflictError, type Storage, type UserRecord } from "../../src/storage/index.js";
import { openSqlite, SchemaVersionError } from "../../src/storage/sqlite.js";
import { MIGRATIONS } from "../../src/storage/sqlite-migrations.js";

let dir: string;
let path: string;
let store: Storage;

const cred = (n: number) => ({
  salt: Buffer.from([n, 1, 2]),
  iterations: 4096,
  storedKey: Buffer.alloc(32, n),
  serverKey: Buffer.alloc(32, n + 1),
});
const user = (username: string, at = 1000): UserRecord => ({
  username,
  scram: { "SHA-1": cred(1), "SHA-256": cred(2) },
  passwordChangedAt: at,
  createdAt: at,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-storage-"));
  path = join(dir, "warden.db");
  store = await openStorage({ backend: "sqlite", path, offlineLimit: 3 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("pragmas, owner-only file", () => {
  const raw = new Database(path);
  assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
  raw.close();
  if (process.platform !== "win32") assert.equal(statSync(path).mode & 0o777, 0o600);
});

test("users: create, get, conflict, list", async () => {
  await store.users.create(user("bob"));
  await store.users.create(user("alice"));
  assert.deepEqual(await store.users.get("alice"), user("alice"));
  assert.equal(await store.users.get("Alice"), undefined, "exact comparison");
  assert.equal(await store.users.get("nobody"), undefined);
  await assert.rejects(store.users.create(user("alice", 5)), StorageConflictError);
  assert.equal((await store.users.get("alice"))!.createdAt, 1000, "conflict changed nothing");
  assert.deepEqual(await store.users.list(), ["alice", "bob"]);
});

test("setCredentials replaces credentials and bumps passwordChangedAt", async () => {
  await store.users.create(user("alice"));
  assert.equal(await store.users.setCredentials("alice", { "SHA-256": cred(9) }, 2000), true);
  const u = (await store.users.get("alice"))!;
  assert.equal(u.passwordChangedAt, 2000);
  assert.equal(u.createdAt, 1000);
  assert.deepEqual(u.scram, { "SHA-256": cred(9) });
  assert.equal(await store.users.setCredentials("nobody", {}, 2000), false);
});

test("resetCredentials: new credentials and every grant (with its tokens) of that user gone, in one transaction; other users untouched", async () => {
  await store.users.create(user("alice"));
  await store.users.create(user("bob"));
  const grant = (id: string, username: string) => store.grants.create({ id, username, kind: "oauth", createdAt: 1500, accessedAt: 1500, data: {} });
  const token = (hash: string, grantId: string, username: string) => store.grants.addToken({ hash, grantId, username, purpose: "oauth2", createdAt: 1500 });
  await grant("a1", "alice");
  await grant("a2", "alice");
  await grant("b1", "bob");
  await token("ha1", "a1", "alice");
  await token("ha2", "a2", "alice");
  await token("hb1", "b1", "bob");
  assert.deepEqual((await store.users.resetCredentials("alice", { "SHA-256": cred(7) }, 3000))?.sort(), ["a1", "a2"]);
  const u = (await store.users.get("alice"))!;
  assert.equal(u.passwordChangedAt, 3000);
  assert.deepEqual(u.scram, { "SHA-256": cred(7) });
  assert.deepEqual(await store.grants.list("alice"), []);
  assert.deepEqual(await store.grants.userTokens("alice"), []);
  assert.equal((await store.grants.list("bob")).length, 1, "bob's grant stays");
  assert.ok(await store.grants.getToken("hb1"), "bob's token stays");
  assert.equal(await store.users.resetCredentials("nobody", {}, 3000), undefined);
  // A failure inside the transaction leaves everything as it was (a credential row that breaks a constraint).
  await grant("a3", "alice");
  await assert.rejects(store.users.resetCredentials("alice", { "SHA-256": { ...cred(8), salt: null as unknown as Buffer } }, 4000));
  assert.equal((await store.users.get("alice"))!.passwordChangedAt, 3000, "the password change was rolled back");
  assert.deepEqual(
    (await store.grants.list("alice")).map((g) => g.id),
    ["a3"],
    "the grant was not deleted",
  );
});

test("delete cascades to credentials, roster and offline messages", async () => {
  await store.users.create(user("alice"));
  await store.users.create(user("bob"));
  await store.roster.setItem("alice", { jid: "bob@x", subscription: "both", groups: [] });
  await store.offline.push("alice", "<message/>", 1);
  await store.offline.push("bob", "<message/>", 1);
  assert.equal(await store.users.delete("alice"), true);
  assert.equal(await store.users.delete("alice"), false);
  assert.equal(await store.users.get("alice"), undefined);
  assert.deepEqual(await store.users.list(), ["bob"]);
  assert.deepEqual(await store.roster.get("alice"), []);
  assert.equal(await store.roster.version("alice"), 0);
  assert.equal(await store.offline.count("alice"), 0);
  assert.equal(await store.offline.count("bob"), 1, "other users untouched");
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.prepare("SELECT count(*) FROM scram_credentials WHERE username = 'alice'").pluck().get(), 0);
  raw.close();
  // Recreating starts from scratch, including the roster version.
  await store.users.create(user("alice"));
  assert.deepEqual(await store.roster.get("alice"), []);
});

test("roster: set, get, replace, remove, version", async () => {
  await store.users.create(user("alice"));
  assert.equal(await store.roster.version("alice"), 0);
  assert.equal(await store.roster.setItem("alice", { jid: "bob@x", subscription: "none", groups: [] }), 1);
  const carol = { jid: "carol@x", name: "Carol", subscription: "to" as const, ask: "subscribe" as const, groups: ["A", "B"], pendingIn: true };
  assert.equal(await store.roster.setItem("alice", carol), 2);
  assert.deepEqual(await store.roster.getItem("alice", "carol@x"), carol);
  assert.deepEqual(await store.roster.getItem("alice", "bob@x"), { jid: "bob@x", subscription: "none", groups: [] });
  assert.equal(await store.roster.getItem("alice", "nobody@x"), undefined);
  // Replacing clears the optional fields that are no longer set.
  assert.equal(await store.roster.setItem("alice", { jid: "carol@x", subscription: "both", groups: ["C"] }), 3);
  assert.deepEqual(await store.roster.get("alice"), [
    { jid: "bob@x", subscription: "none", groups: [] },
    { jid: "carol@x", subscription: "both", groups: ["C"] },
  ]);
  assert.equal(await store.roster.removeItem("alice", "bob@x"), 4);
  assert.equal(await store.roster.removeItem("alice", "bob@x"), undefined);
  assert.equal(await store.roster.version("alice"), 4, "removing nothing keeps the version");
  assert.equal((await store.roster.get("alice")).length, 1);
  await assert.rejects(store.roster.setItem("nobody", { jid: "a@x", subscription: "none", groups: [] }));
});

test("offline: push, order, cap, popAll empties", async () => {
  await store.users.create(user("alice"));
  for (const n of [1, 2, 3]) assert.equal(await store.offline.push("alice", `<message id='${n}'/>`, n * 10), true);
  assert.equal(await store.offline.push("alice", "<message id='4'/>", 40), false, "cap of 3");
  assert.equal(await store.offline.count("alice"), 3);
  const msgs = await store.offline.popAll("alice");
  assert.deepEqual(
    msgs.map((m) => [m.stanza, m.storedAt]),
    [
      ["<message id='1'/>", 10],
      ["<message id='2'/>", 20],
      ["<message id='3'/>", 30],
    ],
  );
  assert.ok(msgs[0]!.id < msgs[1]!.id && msgs[1]!.id < msgs[2]!.id);
  assert.deepEqual(await store.offline.popAll("alice"), []);
  assert.equal(await store.offline.push("alice", "<message id='5'/>", 50), true, "room again after popAll");
  assert.equal(await store.offline.push("nobody", "<message/>", 1), false, "no such user");
});

test("offline cap defaults to 1000; 0 disables storage", async () => {
  await store.users.create(user("alice"));
  await store.close();
  store = openSqlite(path);
  for (let i = 0; i < 1000; i++) assert.equal(await store.offline.push("alice", "<m/>", i), true);
  assert.equal(await store.offline.push("alice", "<m/>", 1000), false);
  await store.close();
  store = openSqlite(path, { offlineLimit: 0 });
  await store.offline.popAll("alice");
  assert.equal(await store.offline.push("alice", "<m/>", 1), false);
});

test("data persists across reopen; migrations are idempotent", async () => {
  await store.users.create(user("alice"));
  await store.roster.setItem("alice", { jid: "bob@x", name: "Bob", subscription: "from", groups: ["G"] });
  await store.offline.push("alice", "<message/>", 7);
  await store.close();
  await store.close(); // closing twice is harmless

  for (let i = 0; i < 2; i++) {
    store = await openStorage({ backend: "sqlite", path });
    assert.deepEqual(await store.users.get("alice"), user("alice"));
    assert.deepEqual(await store.roster.get("alice"), [{ jid: "bob@x", name: "Bob", subscription: "from", groups: ["G"] }]);
    assert.equal(await store.roster.version("alice"), 1);
    assert.equal(await store.offline.count("alice"), 1);
    await store.close();
  }
  const raw = new Database(path);
  assert.equal(raw.pragma("user_version", { simple: true }), MIGRATIONS.length);
  raw.close();
  store = openSqlite(path);
});

test("a database from a newer Warden is refused", async () => {
  await store.close();
  const raw = new Database(path);
  raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  raw.close();
  assert.throws(
    () => openSqlite(path),
    (err: unknown) => err instanceof SchemaVersionError && /newer Warden/.test(err.message),
  );
  const again = new Database(path);
  again.pragma(`user_version = ${MIGRATIONS.length}`);
  again.close();
  store = openSqlite(path);
});

test("two connections to one file (server + CLI) see each other's writes", async () => {
  const cli = openSqlite(path);
  try {
    await cli.users.create(user("carol"));
    assert.deepEqual(await store.users.get("carol"), user("carol"));
    await store.offline.push("carol", "<m/>", 1);
    assert.equal((await cli.offline.popAll("carol")).length, 1);
    assert.equal(await store.offline.count("carol"), 0);
  } finally {
    await cli.close();
  }
});
