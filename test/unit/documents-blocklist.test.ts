// The account-document and blocklist stores on SQLite (a real file), and XEP-0191's JID
// matching: the limits, the all-or-nothing writes, and deletion with the account.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage, type Storage } from "../../src/storage/index.js";
import { parseJid } from "../../src/core/jid.js";
import { blocks } from "../../src/features/blocking/lists.js";

let dir: string;
let store: Storage;

const cred = { salt: Buffer.from([1]), iterations: 4096, storedKey: Buffer.alloc(32, 1), serverKey: Buffer.alloc(32, 2) };
const addUser = (username: string) => store.users.create({ username, scram: { "SHA-256": cred }, passwordChangedAt: 1, createdAt: 1 });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-docs-"));
  store = await openStorage({ backend: "sqlite", path: join(dir, "warden.db") });
  await addUser("alice");
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("documents: put replaces, the key limit counts only new keys of that kind, no account stores nothing", async () => {
  assert.equal(await store.documents.get("alice", "private", "a"), undefined);
  assert.equal(await store.documents.put("alice", "private", "a", "<a/>", 2), true);
  assert.equal(await store.documents.put("alice", "private", "b", "<b/>", 2), true);
  assert.equal(await store.documents.put("alice", "private", "c", "<c/>", 2), false, "a third key is over the limit");
  assert.equal(await store.documents.put("alice", "private", "a", "<a>2</a>", 2), true, "replacing is not growing");
  assert.equal(await store.documents.put("alice", "vcard", "", "<vCard/>", 1), true, "another kind has its own count");
  assert.equal(await store.documents.get("alice", "private", "a"), "<a>2</a>");
  assert.equal(await store.documents.get("alice", "private", "c"), undefined);
  assert.equal(await store.documents.put("nobody", "vcard", "", "<vCard/>", 1), false);
  assert.equal(await store.documents.delete("alice", "private", "b"), true);
  assert.equal(await store.documents.delete("alice", "private", "b"), false);
});

test("blocklist: add returns what is new, refuses the whole batch past the limit, removes some or all", async () => {
  assert.deepEqual(await store.blocklist.add("alice", ["b@x", "c@x", "b@x"], 3), ["b@x", "c@x"]);
  assert.deepEqual(await store.blocklist.add("alice", ["c@x", "d@x"], 3), ["d@x"]);
  assert.equal(await store.blocklist.add("alice", ["e@x", "f@x"], 4), undefined);
  assert.deepEqual(await store.blocklist.list("alice"), ["b@x", "c@x", "d@x"], "nothing of the refused batch was added");
  assert.equal(await store.blocklist.add("nobody", ["b@x"], 3), undefined);
  assert.deepEqual(await store.blocklist.remove("alice", ["c@x", "zzz@x"]), ["c@x"]);
  assert.deepEqual((await store.blocklist.remove("alice")).sort(), ["b@x", "d@x"]);
  assert.deepEqual(await store.blocklist.list("alice"), []);
});

test("deleting the account deletes its documents and blocklist", async () => {
  await store.documents.put("alice", "vcard", "", "<vCard/>", 1);
  await store.blocklist.add("alice", ["b@x"], 10);
  assert.equal(await store.users.delete("alice"), true);
  await addUser("alice");
  assert.equal(await store.documents.get("alice", "vcard", ""), undefined);
  assert.deepEqual(await store.blocklist.list("alice"), []);
});

test("XEP-0191 §4 matching: full, bare, domain/resource, domain and its subdomains", () => {
  const list = new Set(["romeo@montague.lit/phone", "iago@shakespeare.lit", "capulet.lit/balcony", "evil.example"]);
  const is = (jid: string) => blocks(list, parseJid(jid)!);
  assert.equal(is("romeo@montague.lit/phone"), true);
  assert.equal(is("romeo@montague.lit/laptop"), false, "a full JID covers that resource only");
  assert.equal(is("romeo@montague.lit"), false);
  assert.equal(is("iago@shakespeare.lit"), true);
  assert.equal(is("iago@shakespeare.lit/any"), true, "a bare JID covers every resource");
  assert.equal(is("capulet.lit/balcony"), true);
  assert.equal(is("juliet@capulet.lit/balcony"), false, "domain/resource is the domain's own resource");
  assert.equal(is("evil.example"), true);
  assert.equal(is("someone@evil.example/r"), true, "a domain covers its accounts");
  assert.equal(is("muc.evil.example"), true, "and its subdomains");
  assert.equal(is("notevil.example"), false);
  assert.equal(blocks(new Set(), parseJid("a@b")!), false);
});
