// The message archive's configuration keys (src/core/config.ts): Prosody's duration syntax for
// archive_expires_after, and a clear error at start for a bad value of any of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildConfig, ConfigError } from "../../src/core/config.js";

test("archive_expires_after takes seconds, Prosody's '1d'/'2w'/'6m'/'1y', or 'never'; the default is a year", () => {
  assert.equal(buildConfig({}).archive_expires_after, 365 * 86400);
  assert.equal(buildConfig({ archive_expires_after: 3600 }).archive_expires_after, 3600);
  assert.equal(buildConfig({ archive_expires_after: "1d" }).archive_expires_after, 86400);
  assert.equal(buildConfig({ archive_expires_after: "2w" }).archive_expires_after, 14 * 86400);
  assert.equal(buildConfig({ archive_expires_after: "1y" }).archive_expires_after, 365 * 86400);
  assert.equal(buildConfig({ archive_expires_after: "never" }).archive_expires_after, "never");
  for (const bad of ["", "soon", "0d", "-1w", 0, -5, 1.5, "1 fortnight", true])
    assert.throws(
      () => buildConfig({ archive_expires_after: bad }),
      (e: unknown) => e instanceof ConfigError && e.key === "archive_expires_after",
      String(bad),
    );
});

test("max_archive_query_results and default_archive_policy are checked", () => {
  assert.equal(buildConfig({}).max_archive_query_results, 250);
  assert.equal(buildConfig({}).default_archive_policy, true);
  assert.equal(buildConfig({ default_archive_policy: "roster" }).default_archive_policy, "roster");
  assert.equal(buildConfig({ default_archive_policy: false }).default_archive_policy, false);
  assert.throws(() => buildConfig({ default_archive_policy: "sometimes" }), /default_archive_policy/);
  assert.throws(() => buildConfig({ max_archive_query_results: 0 }), /max_archive_query_results/);
});
