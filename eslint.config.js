// ESLint (flat config) for the TypeScript of src/, test/ and bench/: typescript-eslint's type-checked
// rules, which catch the bugs a server cares about (a promise nobody awaits, an async callback where a
// sync one is expected, `any` leaking into typed code). Formatting is Prettier's job: eslint-config-prettier
// turns off every rule that would fight it. Each rule tuned below says why.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

// Types whose toString() is their deliberate text form, fine in a template: the XML serialization of an Element
// (src/xml/element.ts, and @xmpp/client's in test/types), the string form of a JID (src/core/jid.ts). By name:
// typescript-eslint's { from: "file" } specifiers match under `eslint` but not under `eslint --fix`.
const stringifiable = [{ from: "lib", name: ["Error", "URL", "URLSearchParams"] }, "Element", "JID"];

export default defineConfig(
  { ignores: ["dist/", "data/", "bench/results/", "test-artifacts/", "node_modules/"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked, prettier],
    languageOptions: {
      // Each file is checked with the nearest tsconfig.json: the root one for src/, test/'s and bench/'s for theirs.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe()/it() return promises the runner itself awaits; every other promise must be handled.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "describe", "it", "suite", "before", "after", "beforeEach", "afterEach"] },
          ],
        },
      ],
      // Async functions without await are deliberate: they implement async interfaces (the storage API) and turn a throw into a rejection.
      "@typescript-eslint/require-await": "off",
      // A leading underscore marks a value left out on purpose (`const { secret: _s, ...rest } = x`, an unused callback argument).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/restrict-template-expressions": ["error", { allow: stringifiable }],
      "@typescript-eslint/no-base-to-string": ["error", { ignoredTypeNames: ["Error", "RegExp", "URL", "URLSearchParams", "Element", "JID"] }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      // Failure messages print lists as they come (`offered: ${mechanisms}`); a comma-joined array is what a reader wants there.
      "@typescript-eslint/restrict-template-expressions": ["error", { allow: stringifiable, allowArray: true }],
    },
  },
);
