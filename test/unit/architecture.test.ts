// The house's rules, checked on the code itself so that drift fails CI (ARCHITECTURE.md says
// why they exist): no import cycle anywhere in src/ (type-only imports count: they tie files
// together as much for a reader), the kernel imports no feature, and the feature loader orders
// features by what they declare and refuses what cannot work, with a message naming the fault.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { FeatureError, defineFeature, orderFeatures } from "../../src/core/feature.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every relative import and re-export of each file, as repository paths ("src/core/bus.ts"). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const spec = /^\s*(?:import|export)\b[^'"]*?from\s+["'](\.[^"']+)["']|^\s*import\s+["'](\.[^"']+)["']/gm;
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    const deps: string[] = [];
    for (const m of text.matchAll(spec)) {
      const target = resolve(dirname(file), (m[1] ?? m[2]) as string).replace(/\.js$/, ".ts");
      deps.push(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), deps);
  }
  return graph;
}

test("no import cycle in src/", () => {
  const graph = importGraph();
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join("\n")}`);
});

test("the kernel (src/core) imports only itself, xml and storage", () => {
  const wrong: string[] = [];
  for (const [file, deps] of importGraph()) {
    if (!file.startsWith("src/core/")) continue;
    for (const dep of deps) if (!/^src\/(core|xml|storage)\//.test(dep)) wrong.push(`${file} -> ${dep}`);
  }
  assert.deepEqual(wrong, []);
});

test("the loader orders features by what they need and provide, keeping the list's order otherwise", () => {
  const f = (name: string, decl: { needs?: string[]; provides?: string[]; after?: string[] } = {}) =>
    // Service names are typed by interface merging; these tests use names of their own.
    defineFeature({ name, ...(decl as object), setup: () => {} });
  const order = orderFeatures([f("a"), f("uses-x", { needs: ["x"] }), f("b"), f("gives-x", { provides: ["x"] }), f("c", { after: ["a"] })]);
  assert.deepEqual(
    order.map((x) => x.name),
    ["a", "b", "gives-x", "uses-x", "c"],
  );
});

test("the loader refuses, naming the fault: a missing service, a missing feature, a circle, a double", () => {
  const f = (name: string, decl: { needs?: string[]; provides?: string[]; after?: string[] } = {}) =>
    defineFeature({ name, ...(decl as object), setup: () => {} });
  assert.throws(
    () => orderFeatures([f("rest", { needs: ["http"] })]),
    (e: unknown) => e instanceof FeatureError && e.message === "the feature 'rest' needs the service 'http', which no configured feature provides",
  );
  assert.throws(() => orderFeatures([f("a", { after: ["b"] })]), /the feature 'a' needs the feature 'b', which is not configured/);
  assert.throws(
    () => orderFeatures([f("a", { needs: ["y"], provides: ["x"] }), f("b", { needs: ["x"], provides: ["y"] })]),
    /'a', 'b' depend on each other in a circle/,
  );
  assert.throws(() => orderFeatures([f("a", { provides: ["x"] }), f("b", { provides: ["x"] })]), /the service 'x' is provided by both 'a' and 'b'/);
  assert.throws(() => orderFeatures([f("a"), f("a")]), /the feature 'a' is listed twice/);
});
