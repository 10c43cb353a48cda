// The in-process implementations of shared state (src/state/): what a cluster implementation
// must also do — request counts per one-minute window, expiring records with one-step take,
// add and update, and a fan-out that reaches every subscriber — checked with explicit clocks.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LocalRateLimits, WINDOW_MS } from "../../src/state/rate-limits.js";
import { ExpiringMap, LocalExpiringStores } from "../../src/state/expiring-store.js";
import { LocalFanout } from "../../src/state/fanout.js";

describe("LocalRateLimits", () => {
  it("allows the limit in a window, then answers the seconds left; a new window starts afresh; keys are apart", () => {
    const r = new LocalRateLimits();
    try {
      const t0 = 1_000_000;
      for (let i = 0; i < 3; i++) assert.equal(r.hit("login:192.0.2.1", 3, t0 + i), undefined);
      assert.equal(r.hit("login:192.0.2.1", 3, t0 + 10), 60, "the window ends 59.99 s later: rounded up");
      assert.equal(r.hit("login:192.0.2.1", 3, t0 + WINDOW_MS - 10), 1, "at least one second");
      assert.equal(r.hit("token:192.0.2.1", 3, t0 + 20), undefined, "another group");
      assert.equal(r.hit("login:192.0.2.1", 3, t0 + WINDOW_MS), undefined, "a new window");
      assert.equal(r.hit("login:192.0.2.1", 1, t0 + WINDOW_MS + 1), 60, "the limit is read at each request");
    } finally {
      r.stop();
    }
  });
});

describe("ExpiringMap", () => {
  it("take removes (single use), add refuses a present key, update changes in place of the entry", async () => {
    const m = new ExpiringMap<{ n: number; exp: number }>();
    await m.set("a", { n: 1, exp: 10 });
    assert.deepEqual(await m.get("a"), { n: 1, exp: 10 });
    assert.deepEqual(await m.take("a"), { n: 1, exp: 10 });
    assert.equal(await m.take("a"), undefined, "a second take gets nothing");
    assert.equal(await m.add("t", { n: 1, exp: 10 }), true);
    assert.equal(await m.add("t", { n: 2, exp: 10 }), false);
    assert.equal((await m.get("t"))!.n, 1);
    assert.deepEqual(await m.update("t", (v) => ({ ...v, n: v.n + 1 })), { n: 2, exp: 10 });
    assert.equal(await m.update("absent", (v) => v), undefined);
    assert.equal(await m.get("absent"), undefined, "update does not create");
    await m.delete("t");
    assert.equal(m.size, 0);
  });

  it("expired entries are still returned until swept; when full, the expired go first, then the oldest", async () => {
    const m = new ExpiringMap<{ exp: number }>(3);
    const later = Date.now() + 3_600_000;
    await m.set("old", { exp: 5 });
    await m.set("b", { exp: later });
    assert.deepEqual(await m.get("old"), { exp: 5 }, "the caller decides what expiry means");
    await m.set("c", { exp: later });
    await m.set("d", { exp: later });
    assert.equal(await m.get("old"), undefined, "full: the expired one went");
    assert.equal(m.size, 3);
    await m.set("e", { exp: later });
    assert.equal(m.size, 3);
    assert.equal(await m.get("b"), undefined, "still full: the oldest went");
    m.sweep(later);
    assert.equal(m.size, 0);
  });

  it("stores are opened by name, once", () => {
    const s = new LocalExpiringStores();
    try {
      s.open("codes");
      assert.throws(() => s.open("codes"), /opened twice/);
    } finally {
      s.stop();
    }
  });
});

describe("LocalFanout", () => {
  it("every subscriber hears each message, in order; an unsubscribed one no longer", () => {
    const f = new LocalFanout<string>();
    const a: string[] = [],
      b: string[] = [];
    const offA = f.subscribe((m) => a.push(m));
    f.subscribe((m) => b.push(m));
    f.publish("one");
    offA();
    f.publish("two");
    assert.deepEqual(a, ["one"]);
    assert.deepEqual(b, ["one", "two"]);
  });

  it("the same listener subscribed twice hears twice and unsubscribes each on its own", () => {
    const f = new LocalFanout<number>();
    const heard: number[] = [];
    const l = (m: number) => heard.push(m);
    const off1 = f.subscribe(l);
    f.subscribe(l);
    off1();
    f.publish(1);
    assert.deepEqual(heard, [1]);
  });
});
