// ESLint (flat config) for the TypeScript of src/, test/ and bench/: typescript-eslint's type-checked
// rules, which catch the bugs a server cares about (a promise nobody awaits, an async callback where a
// sync one is expected, `any` leaking into typed code). Formatting is Prettier's job: eslint-config-prettier
// turns off every rule that would fight it. Each rule tuned below says why.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

export default defineConfig(
  { ignores: ["dist/", "data/", "bench/results/", "test-artifacts/", "node_modules/"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked, prettier],
    languageOptions: {
      // Each file is checked with the nearest tsconfig.json: the root one for src/, test/'s and bench/'s for theirs.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {},
  },
);
