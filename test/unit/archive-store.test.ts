// The archive store (src/storage/sqlite-archive.ts) against a real SQLite file: the paging
// semantics every backend must keep (exclusive id bounds, the page at the end, complete, count),
// item-not-found for an unknown id, appends for unknown accounts refused, purges in batches,
// deletion with the account, and that every page query walks an index, never the table.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openStorage, type Storage, type ArchiveQuery } from "../../src/storage/index.js";

let dir: string;
let store: Storage;
const ids: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-archive-"));
  store = await openStorage({ backend: "sqlite", path: join(dir, "warden.db") });
  for (const u of ["ann", "ben"]) await store.users.create({ username: u, scram: {}, passwordChangedAt: 1, createdAt: 1 });
  for (let i = 0; i < 20; i++) {
    const id = `id${i}`;
    ids.push(id);
    const ok = await store.archive.append("ann", {
      id,
      with: i % 2 ? "odd@x" : "even@x",
      withResource: i % 4 < 2 ? "r1" : "r2",
      at: 1000 * i,
      stanza: `<message id='m${i}'/>`,
    });
    assert.equal(ok, true);
  }
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function page(q: Partial<ArchiveQuery>): Promise<{ ids: string[]; complete: boolean; count?: number }> {
  const r = await store.archive.query("ann", { max: 5, ...q });
  assert.notEqual(r, "item-not-found");
  if (r === "item-not-found") throw new Error("unreachable");
  return { ids: r.items.map((m) => m.id), complete: r.complete, count: r.count };
}

test("forward and backward pages with exclusive bounds; complete at either end", async () => {
  assert.deepEqual(await page({}), { ids: ids.slice(0, 5), complete: false, count: undefined });
  assert.deepEqual((await page({ pageAfter: "id14" })).ids, ids.slice(15, 20));
  assert.equal((await page({ pageAfter: "id14" })).complete, true);
  assert.deepEqual((await page({ fromEnd: true })).ids, ids.slice(15, 20));
  assert.deepEqual(await page({ fromEnd: true, pageBefore: "id5" }), { ids: ids.slice(0, 5), complete: true, count: undefined });
  assert.deepEqual((await page({ afterId: "id3", beforeId: "id7", max: 50 })).ids, ["id4", "id5", "id6"]);
  assert.deepEqual((await page({ ids: ["id9", "id2"] })).ids, ["id2", "id9"]);
  assert.deepEqual((await page({ max: 0, count: true })).count, 20);
  assert.deepEqual((await page({ with: "odd@x", max: 0, count: true })).count, 10);
  assert.deepEqual((await page({ with: "odd@x", withResource: "r1", max: 50 })).ids, ["id1", "id5", "id9", "id13", "id17"]);
  assert.deepEqual((await page({ start: 3000, end: 5000, max: 50 })).ids, ["id3", "id4", "id5"]);
});

test("an unknown id in any bound is item-not-found; another account's ids are unknown too", async () => {
  for (const q of [{ pageAfter: "nope" }, { pageBefore: "nope" }, { afterId: "nope" }, { beforeId: "nope" }, { ids: ["id1", "nope"] }])
    assert.equal(await store.archive.query("ann", { max: 5, ...q }), "item-not-found");
  assert.equal(await store.archive.query("ben", { max: 5, pageAfter: "id1" }), "item-not-found");
});

test("appending for an unknown account is refused; prefs and sync records round-trip", async () => {
  assert.equal(await store.archive.append("nobody", { id: "x", with: "a@b", at: 1, stanza: "<message/>" }), false);
  assert.equal(await store.archive.getPrefs("ben"), undefined);
  await store.archive.setPrefs("ben", { default: "roster", always: ["a@x"], never: ["b@x"] });
  assert.deepEqual(await store.archive.getPrefs("ben"), { default: "roster", always: ["a@x"], never: ["b@x"] });
  // No client record "c1": nothing to show the sync on, and no error.
  await store.archive.markSynced("ben", "c1", 5);
  assert.equal((await store.archive.synced("ben")).size, 0);
});

test("every page query walks an index (no table scan)", () => {
  const db = new Database(join(dir, "warden.db"), { readonly: true });
  try {
    const plans = [
      "SELECT id FROM archive WHERE username = 'ann' AND seq > 5 ORDER BY seq ASC LIMIT 51",
      "SELECT id FROM archive WHERE username = 'ann' ORDER BY seq DESC LIMIT 51",
      "SELECT id FROM archive WHERE username = 'ann' AND with_jid = 'odd@x' AND seq > 5 ORDER BY seq ASC LIMIT 51",
      "SELECT seq FROM archive WHERE username = 'ann' AND id = 'id3'",
      "SELECT seq FROM archive WHERE at < 5 ORDER BY at LIMIT 1000",
      "SELECT seq FROM archive WHERE username = 'ann' AND at >= 5 ORDER BY at, seq LIMIT 1",
      "SELECT id FROM archive WHERE username = 'ann' AND +at >= 5 AND seq >= 3 ORDER BY seq ASC LIMIT 51",
    ].map((sql) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join("; "));
    for (const p of plans) {
      assert.match(p, /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/, p);
      assert.doesNotMatch(p, /TEMP B-TREE/, `no sort: ${p}`);
    }
  } finally {
    db.close();
  }
});

test("purge deletes old messages in batches; deleting the account deletes the rest", async () => {
  assert.equal(await store.archive.purge(5000, 3), 3);
  assert.equal(await store.archive.purge(5000, 3), 2);
  assert.equal(await store.archive.purge(5000, 3), 0);
  assert.equal((await page({ max: 0, count: true })).count, 15);
  await store.users.delete("ann");
  assert.equal(await store.archive.bounds("ann"), undefined);
  const db = new Database(join(dir, "warden.db"), { readonly: true });
  try {
    assert.equal(db.prepare<[], number>("SELECT count(*) FROM archive WHERE username = 'ann'").pluck().get(), 0);
  } finally {
    db.close();
  }
});
