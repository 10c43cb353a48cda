// The uploads store (src/storage/sqlite-uploads.ts) against a real SQLite file: quotas checked
// in the insert's transaction, one claim per slot, revocation of a client's unused slots only,
// holdings per client, the purge, and the cascade from a deleted account.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage, type Storage, type UploadRecord } from "../../src/storage/index.js";

let dir: string;
let store: Storage;
let seq = 0;

const slot = (username: string, size: number, over: Partial<UploadRecord> = {}): UploadRecord => ({
  id: `id${String(++seq).padStart(20, "0")}`,
  username,
  clientId: "phone",
  filename: "f.bin",
  size,
  contentType: "application/octet-stream",
  tokenHash: "ab".repeat(32),
  createdAt: 1000,
  slotExpiresAt: 2000,
  revoked: false,
  expiresAt: 10_000,
  ...over,
});
const quota = { since: 0, daily: 100 };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-uploads-"));
  store = await openStorage({ backend: "sqlite", path: join(dir, "warden.db") });
  for (const u of ["ann", "ben"]) await store.users.create({ username: u, scram: {}, passwordChangedAt: 0, createdAt: 0 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("quotas: the account's uploads since `since`, and every upload together; a refused slot is not stored", async () => {
  const u = store.uploads;
  assert.equal(await u.addSlot(slot("ann", 60), quota), undefined);
  const over = slot("ann", 41);
  assert.equal(await u.addSlot(over, quota), "daily-quota");
  assert.equal(await u.get(over.id), undefined);
  assert.equal(await u.addSlot(slot("ann", 40), quota), undefined);
  assert.equal(await u.addSlot(slot("ann", 50, { createdAt: 5000 }), { since: 2000, daily: 100 }), undefined, "older uploads are outside the day");
  assert.equal(await u.addSlot(slot("ben", 30), { ...quota, global: 179 }), "global-quota");
  assert.equal(await u.addSlot(slot("ben", 30), { ...quota, global: 180 }), undefined);
});

test("one claim per slot; a released claim can be taken again; complete once; expired slots cannot be claimed", async () => {
  const u = store.uploads;
  const s = slot("ann", 10);
  await u.addSlot(s, quota);
  assert.equal(await u.claim(s.id, 1500), true);
  assert.equal(await u.claim(s.id, 1500), false, "a second PUT while the first runs");
  await u.release(s.id);
  assert.equal(await u.claim(s.id, 1500), true);
  assert.equal(await u.complete(s.id, 1600), true);
  assert.equal(await u.complete(s.id, 1700), false);
  assert.equal((await u.get(s.id))?.uploadedAt, 1600);
  await u.release(s.id);
  assert.equal(await u.claim(s.id, 1800), false, "a stored file's slot is never claimed again");
  const late = slot("ann", 10);
  await u.addSlot(late, quota);
  assert.equal(await u.claim(late.id, 2000), false);
});

test("revoking a client revokes its unused slots (a claimed one cannot complete), not its files nor other clients' slots", async () => {
  const u = store.uploads;
  const [stored, unused, running, other] = [slot("ann", 5), slot("ann", 6), slot("ann", 7), slot("ann", 8, { clientId: "laptop" })];
  for (const s of [stored, unused, running, other]) await u.addSlot(s, quota);
  await u.claim(stored.id, 1100);
  await u.complete(stored.id, 1200);
  await u.claim(running.id, 1100);
  assert.equal(await u.revokeSlots("ann", "phone"), 2);
  assert.equal((await u.get(unused.id))?.revoked, true);
  assert.equal(await u.claim(unused.id, 1300), false);
  assert.equal(await u.complete(running.id, 1300), false);
  assert.equal((await u.get(stored.id))?.revoked, false);
  assert.equal((await u.get(other.id))?.revoked, false);
  assert.deepEqual(await u.perClient("ann"), [{ clientId: "phone", files: 1, bytes: 5 }]);
});

test("purge: expired files and slots unused by the cut-off; existing(); deleting the account deletes its records", async () => {
  const u = store.uploads;
  const [file, expired, unused, fresh] = [slot("ann", 1), slot("ann", 1, { expiresAt: 3000 }), slot("ann", 1), slot("ann", 1, { slotExpiresAt: 9000 })];
  for (const s of [file, expired, unused, fresh]) await u.addSlot(s, quota);
  for (const s of [file, expired]) {
    await u.claim(s.id, 1100);
    await u.complete(s.id, 1200);
  }
  assert.deepEqual((await u.purge(5000, 5000)).sort(), [expired.id, unused.id].sort());
  assert.deepEqual(await u.existing([file.id, expired.id, fresh.id, "nope"]), new Set([file.id, fresh.id]));
  await store.users.delete("ann");
  assert.deepEqual(await u.existing([file.id, fresh.id]), new Set());
});
