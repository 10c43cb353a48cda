// The login throttle (src/auth/throttle.ts) on its own: attempts are admitted before the
// credentials are checked and reserved until settled, so parallel failures cannot exceed the
// limit, while parallel successes are only delayed, never refused.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LocalLoginThrottle } from "../../src/auth/throttle.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("LocalLoginThrottle", () => {
  it("admits up to the per-account limit, then refuses without a check; another account is not affected", async () => {
    const t = new LocalLoginThrottle(3, 60_000, 0);
    try {
      for (let i = 0; i < 3; i++) (await t.admit("192.0.2.1", "alice"))!.failed();
      assert.equal(await t.admit("192.0.2.1", "alice"), undefined);
      assert.equal(await t.admit("192.0.2.99", "alice"), undefined, "the account limit holds from another address");
      const bob = await t.admit("192.0.2.1", "bob");
      assert.ok(bob, "another account from the same address");
      bob.release();
    } finally {
      t.stop();
    }
  });

  it("100 parallel attempts that all fail: exactly the per-IP limit (4 × limit) is admitted", async () => {
    const t = new LocalLoginThrottle(5, 60_000, 0);
    try {
      let admitted = 0;
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const a = await t.admit("198.51.100.7", `user${i}`);
          if (!a) return;
          admitted++;
          await tick(); // the asynchronous password check
          a.failed();
        }),
      );
      assert.equal(admitted, 20);
      assert.equal(t.blocked("198.51.100.7", undefined), true);
    } finally {
      t.stop();
    }
  });

  it("parallel attempts that succeed wait for room instead of being refused", async () => {
    const t = new LocalLoginThrottle(2, 60_000, 0);
    try {
      const results = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const a = await t.admit("203.0.113.5", "carol");
          if (!a) return "refused";
          await tick();
          a.release();
          return "checked";
        }),
      );
      assert.deepEqual(new Set(results), new Set(["checked"]));
      assert.equal(t.blocked("203.0.113.5", "carol"), false);
    } finally {
      t.stop();
    }
  });

  it("settling twice counts once; the failure delay grows with the failures", async () => {
    const t = new LocalLoginThrottle(5, 60_000, 100);
    try {
      const a = (await t.admit("192.0.2.2", "dave"))!;
      assert.equal(a.failed(), 100);
      assert.equal(a.failed(), 0);
      a.release();
      assert.equal((await t.admit("192.0.2.2", "dave"))!.failed(), 200);
    } finally {
      t.stop();
    }
  });
});
