// The push registrations' storage (src/storage/sqlite-push.ts) against a real SQLite file: one
// registration per client, the account's limit, disable by service and node, and that a
// registration goes with its client's record and with its account.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage, type Storage, type PushRegistration } from "../../src/storage/index.js";

let dir: string;
let store: Storage;

const cred = { salt: Buffer.from([1]), iterations: 4096, storedKey: Buffer.alloc(32, 1), serverKey: Buffer.alloc(32, 2) };
const reg = (clientId: string, node = `node-${clientId}`, jid = "push.example"): PushRegistration => ({
  username: "alice",
  clientId,
  jid,
  node,
  options: [{ name: "secret", values: [`s-${clientId}`] }],
  createdAt: 1000,
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-push-"));
  store = await openStorage({ backend: "sqlite", path: join(dir, "warden.db") });
  await store.users.create({ username: "alice", scram: { "SHA-256": cred }, passwordChangedAt: 1, createdAt: 1 });
  for (const id of ["c1", "c2", "c3"]) await store.clients.put({ username: "alice", id, legacy: false, firstSeen: 1, lastSeen: 1, mechanisms: {} });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("one registration per client, replaced; the limit counts the other clients only", async () => {
  assert.equal(await store.push.put(reg("c1"), 2), true);
  assert.equal(await store.push.put(reg("c1", "again"), 2), true);
  assert.deepEqual(await store.push.get("alice", "c1"), reg("c1", "again"));
  assert.equal(await store.push.put(reg("c2"), 2), true);
  assert.equal(await store.push.put(reg("c3"), 2), false, "a third client is over the limit");
  assert.equal(await store.push.get("alice", "c3"), undefined, "and nothing was stored");
  assert.equal(await store.push.put(reg("c2", "replaced"), 2), true, "a client at the limit may still replace its own");
  assert.deepEqual((await store.push.list("alice")).map((r) => r.node).sort(), ["again", "replaced"]);
});

test("the same service and node enabled by another client moves to it (one device, §5)", async () => {
  await store.push.put(reg("c1", "shared"), 5);
  await store.push.put(reg("c2", "shared"), 5);
  assert.deepEqual(
    (await store.push.list("alice")).map((r) => r.clientId),
    ["c2"],
  );
  await store.push.put(reg("c1", "n1"), 2);
  assert.equal(await store.push.put(reg("c3", "n1"), 1), false, "over the limit even after taking the node over");
  assert.deepEqual((await store.push.list("alice")).map((r) => `${r.clientId}:${r.node}`).sort(), ["c1:n1", "c2:shared"], "and nothing changed");
});

test("disable by service and node, or by service; remove one client; remove all", async () => {
  await store.push.put(reg("c1", "n1"), 5);
  await store.push.put(reg("c2", "n2"), 5);
  await store.push.put(reg("c3", "n3", "other.example"), 5);
  assert.deepEqual(await store.push.disable("alice", "push.example", "nope"), []);
  assert.deepEqual(await store.push.disable("alice", "push.example", "n1"), ["c1"]);
  assert.deepEqual(await store.push.disable("alice", "push.example"), ["c2"]);
  assert.equal(await store.push.remove("alice", "c3"), true);
  assert.equal(await store.push.remove("alice", "c3"), false);
  await store.push.put(reg("c1"), 5);
  assert.equal(await store.push.removeAll("alice"), 1);
  assert.deepEqual(await store.push.list("alice"), []);
});

test("a registration goes with its client's record (purged) and with its account", async () => {
  await store.push.put(reg("c1"), 5);
  await store.push.put(reg("c2"), 5);
  assert.equal(await store.clients.purge(10, [{ username: "alice", id: "c2" }]), 2, "c1 and c3 were last seen before 10");
  assert.deepEqual(
    (await store.push.list("alice")).map((r) => r.clientId),
    ["c2"],
  );
  await store.users.delete("alice");
  assert.deepEqual(await store.push.list("alice"), []);
  await assert.rejects(store.push.put(reg("c2"), 5), "no registration for a client that has no record");
});
