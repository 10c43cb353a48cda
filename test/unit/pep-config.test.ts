// PEP's item size limit against the stanza size limit (src/core/config.ts): a server that only
// lowers c2s_stanza_size_limit must still start (the stream-errors tests run one at 4096 bytes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildConfig, ConfigError } from "../../src/core/config.js";

test("pep_max_item_size follows a lowered c2s_stanza_size_limit when unset, and is refused above it when set", () => {
  assert.equal(buildConfig({}).pep_max_item_size, 128 * 1024);
  assert.equal(buildConfig({ c2s_stanza_size_limit: 4096 }).pep_max_item_size, 4096);
  assert.equal(buildConfig({ c2s_stanza_size_limit: 16384, pep_max_item_size: 2048 }).pep_max_item_size, 2048);
  assert.throws(
    () => buildConfig({ c2s_stanza_size_limit: 4096, pep_max_item_size: 8192 }),
    (e: unknown) => e instanceof ConfigError && e.key === "pep_max_item_size",
  );
});
