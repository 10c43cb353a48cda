// The PEP store (src/storage/sqlite-pep.ts) on a real SQLite file: what every backend must keep —
// newest-first order by publication (a republished id becomes the newest), trimming to `keep`,
// the per-account node limit, and an account's deletion removing its nodes and items.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage, type Storage } from "../../src/storage/index.js";

let dir: string;
let store: Storage;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-pep-"));
  store = await openStorage({ backend: "sqlite", path: join(dir, "warden.db") });
  for (const u of ["ann", "ben"]) await store.users.create({ username: u, scram: {}, passwordChangedAt: 1, createdAt: 1 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const item = (id: string, at = 1) => ({ id, payload: `<p xmlns='urn:p'>${id}</p>`, publishedAt: at });
const ids = async (owner: string, node: string, max = 100) => (await store.pep.items(owner, node, max)).map((i) => i.id);

test("items: newest first, a republished id moves to the front, trimmed to keep", async () => {
  assert.equal(await store.pep.createNode({ owner: "ann", node: "n", config: { a: "1" } }, 10), "created");
  for (const id of ["a", "b", "c"]) await store.pep.putItem("ann", "n", item(id), 3);
  assert.deepEqual(await ids("ann", "n"), ["c", "b", "a"]);
  await store.pep.putItem("ann", "n", item("a"), 3);
  assert.deepEqual(await ids("ann", "n"), ["a", "c", "b"]);
  await store.pep.putItem("ann", "n", item("d"), 2);
  assert.deepEqual(await ids("ann", "n"), ["d", "a"]);
  assert.deepEqual(await ids("ann", "n", 1), ["d"]);
  assert.deepEqual(
    (await store.pep.itemsById("ann", "n", ["a", "zz", "d"])).map((i) => i.id),
    ["d", "a"],
  );
  assert.equal(await store.pep.setConfig("ann", "n", { a: "2" }, 1), true);
  assert.deepEqual(await ids("ann", "n"), ["d"]);
  assert.deepEqual((await store.pep.getNode("ann", "n"))?.config, { a: "2" });
  assert.equal(await store.pep.retract("ann", "n", "zz"), false);
  assert.equal(await store.pep.retract("ann", "n", "d"), true);
  assert.deepEqual(await ids("ann", "n"), []);
});

test("nodes: exists, the per-account limit, an unknown account, deletion with the items", async () => {
  assert.equal(await store.pep.createNode({ owner: "ann", node: "x", config: {} }, 2), "created");
  assert.equal(await store.pep.createNode({ owner: "ann", node: "x", config: {} }, 2), "exists");
  assert.equal(await store.pep.createNode({ owner: "ann", node: "y", config: {} }, 2), "created");
  assert.equal(await store.pep.createNode({ owner: "ann", node: "z", config: {} }, 2), "limit");
  assert.equal(await store.pep.createNode({ owner: "nobody", node: "x", config: {} }, 2), "limit");
  assert.equal(await store.pep.createNode({ owner: "ben", node: "x", config: {} }, 2), "created");
  await store.pep.putItem("ann", "x", item("1"), 5);
  assert.equal(await store.pep.deleteNode("ann", "x"), true);
  assert.equal(await store.pep.deleteNode("ann", "x"), false);
  assert.equal(await store.pep.createNode({ owner: "ann", node: "x", config: {} }, 2), "created");
  assert.deepEqual(await ids("ann", "x"), [], "a node made again starts empty");
  assert.deepEqual(
    (await store.pep.listNodes("ann")).map((n) => n.node),
    ["x", "y"],
  );
});

test("deleting an account deletes its nodes and items, and nobody else's", async () => {
  await store.pep.createNode({ owner: "ann", node: "n", config: {} }, 5);
  await store.pep.createNode({ owner: "ben", node: "n", config: {} }, 5);
  await store.pep.putItem("ann", "n", item("1"), 5);
  await store.pep.putItem("ben", "n", item("1"), 5);
  assert.equal(await store.users.delete("ann"), true);
  assert.deepEqual(await store.pep.listNodes("ann"), []);
  assert.deepEqual(await ids("ann", "n"), []);
  assert.deepEqual(await ids("ben", "n"), ["1"]);
});
