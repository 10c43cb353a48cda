// The in-process hibernation store (src/features/stream-management/hibernation-store.ts) on
// its own: a resumption id finds its session until the session ends, then what is
// remembered of it; hibernation expires unless the session is woken or ends first.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LocalHibernationStore } from "../../src/features/stream-management/hibernation-store.js";
import type { Session } from "../../src/core/session.js";

// The store only compares sessions by identity: an empty object stands in for one.
const fakeSession = (): Session => ({}) as Session;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("LocalHibernationStore", () => {
  it("finds a session by its id until it ends, then its final 'h'", async () => {
    const store = new LocalHibernationStore();
    const s = fakeSession();
    store.add("id1", s);
    assert.ok(store.holds("id1", s));
    assert.equal((await store.lookup("id1")).session, s);
    store.end("id1", s, { username: "alice", h: 7 });
    assert.equal(store.holds("id1", s), false);
    assert.deepEqual(await store.lookup("id1"), { session: undefined, ended: { username: "alice", h: 7 } });
    assert.deepEqual(await store.lookup("nope"), { session: undefined, ended: undefined });
  });

  it("ending another session under the same id changes nothing", async () => {
    const store = new LocalHibernationStore();
    const s = fakeSession();
    store.add("id1", s);
    store.end("id1", fakeSession(), { username: "alice", h: 1 });
    assert.equal((await store.lookup("id1")).session, s);
  });

  it("a hibernation expires unless woken; ending a session stops its expiry", async () => {
    const store = new LocalHibernationStore();
    const [a, b, c] = [fakeSession(), fakeSession(), fakeSession()];
    const expired: string[] = [];
    store.add("a", a);
    store.add("b", b);
    store.add("c", c);
    store.hibernate("a", 20, () => expired.push("a"));
    store.hibernate("b", 20, () => expired.push("b"));
    store.hibernate("c", 20, () => expired.push("c"));
    assert.deepEqual(store.hibernating(), [a, b, c]);
    store.wake("b");
    store.end("c", c, { username: "carol", h: 0 });
    assert.deepEqual(store.hibernating(), [a]);
    await sleep(60);
    assert.deepEqual(expired, ["a"]);
    store.stop();
  });

  it("remembers at most 1000 ended sessions, forgetting the oldest", async () => {
    const store = new LocalHibernationStore();
    for (let i = 0; i <= 1000; i++) {
      const s = fakeSession();
      store.add(`id${i}`, s);
      store.end(`id${i}`, s, { username: "alice", h: i });
    }
    assert.equal((await store.lookup("id0")).ended, undefined);
    assert.deepEqual((await store.lookup("id1")).ended, { username: "alice", h: 1 });
    assert.deepEqual((await store.lookup("id1000")).ended, { username: "alice", h: 1000 });
  });
});
