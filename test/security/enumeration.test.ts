// Issue 10 §6, finding "Enumeration through iteration counts": whether an account exists must
// not show in what the server says or in how long it takes to say it.
// - SCRAM: an unknown account gets a salt and an iteration count like a real one's: the
//   configured scram_iterations (not a built-in default), a 16-byte salt that is the same on
//   every attempt and after a restart (a salt that changed would give it away).
// - PLAIN and the web forms: checking a password costs the configured PBKDF2 work for an
//   unknown account too, and for an account whose credentials predate a raise of
//   scram_iterations (its own, smaller count is topped up), so the medians agree.
// What cannot be helped: such an old account's SCRAM `i=` is its stored count until its
// password changes, since the server cannot re-derive credentials without the password.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer } from "../helpers/server.js";
import { loginPaths, median, type Answer } from "../helpers/login-paths.js";

test("SCRAM: an unknown account answers with the configured iterations and a stable salt (across attempts and a restart), like a real one", async () => {
  // A 1-second failure window keeps the failure delays short: this test is about what is said.
  const s = await startServer({ scram_iterations: 20_000, login_failure_window: 1 });
  try {
    await s.addUser("real", "real-password-1");
    const salts = new Map<string, string>();
    for (const round of ["before", "after a restart"]) {
      if (round !== "before") await s.restart();
      for (const path of loginPaths(s).filter((p) => p.scram)) {
        const seen: Record<string, Answer[]> = { real: [], ghost: [] };
        for (let i = 0; i < 2; i++) for (const who of ["real", "ghost"]) seen[who]!.push(await path.attempt(who, "wrong-password"));
        for (const who of ["real", "ghost"]) {
          for (const a of seen[who]!) {
            assert.ok(a.scram, `${path.name}: ${who} got a SCRAM challenge: ${a.outcome}`);
            assert.equal(a.scram.iterations, 20_000, `${path.name}: ${who} answers the configured iterations`);
            assert.equal(Buffer.from(a.scram.salt, "base64").length, 16, `${path.name}: ${who}'s salt is 16 bytes`);
          }
          assert.equal(seen[who]![0]!.scram!.salt, seen[who]![1]!.scram!.salt, `${path.name}: ${who}'s salt is the same on every attempt`);
          const key = `${path.name.includes("SHA-1") ? "SHA-1" : "SHA-256"}/${who}`;
          if (salts.has(key)) assert.equal(seen[who]![0]!.scram!.salt, salts.get(key), `${path.name}: ${who}'s salt is the same ${round}`);
          else salts.set(key, seen[who]![0]!.scram!.salt);
        }
        assert.equal(seen.ghost![0]!.outcome, seen.real![0]!.outcome, `${path.name}: the same failure for both`);
      }
    }
    assert.notEqual(salts.get("SHA-256/ghost"), salts.get("SHA-256/real"));
  } finally {
    await s.stop();
  }
});

test("PLAIN and the account page: a wrong password costs the same for a new account, an account from before scram_iterations was raised, and an unknown one", async (t) => {
  const s = await startServer({ scram_iterations: 4096, login_failure_window: 1 });
  try {
    await s.addUser("older", "older-password-1"); // 4096 iterations
    await s.stop();
    // Raised so far that PBKDF2 dominates the answer time: with the work not evened out, the
    // unknown and the old account answered in a few ms where the new one takes about 100.
    s.configure({ scram_iterations: 250_000 });
    await s.addUser("newer", "newer-password-1");
    await s.start();
    const paths = loginPaths(s).filter((p) => p.name === "legacy SASL PLAIN" || p.name.startsWith("account page"));
    for (const path of paths) {
      const times: Record<string, number[]> = { newer: [], older: [], ghost: [] };
      for (let round = 0; round < 5; round++) {
        for (const who of ["newer", "older", "ghost"]) {
          // More than the failure window apart, so that every failure waits the same base delay.
          await sleep(1100);
          const a = await path.attempt(who, "not-the-password");
          assert.match(a.outcome, path.web ? /^http 403\// : /^failure\/not-authorized\//, `${path.name}: ${who}`);
          times[who]!.push(a.ms);
        }
      }
      const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      const spread = Math.max(...Object.values(m)) - Math.min(...Object.values(m));
      t.diagnostic(`${path.name}: median ms ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v)])))}`);
      // The delay every failure waits (150 ms) is in all three: the tolerance is on the rest.
      const work = Math.max(...Object.values(m)) - 150;
      assert.ok(
        spread < Math.max(40, work * 0.4),
        `${path.name}: medians ${JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v)])))} ms differ by ${spread.toFixed(0)} ms`,
      );
    }
  } finally {
    await s.stop();
  }
});
