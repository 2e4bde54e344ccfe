/**
 * Tests mirror the layer families: every family file of src/layers/ has its test file, and every
 * generated fixture case (a folder under test/fixtures/keras3/ or keras2/) is run by exactly one
 * family's test file, which names it in a literal matchesKeras([...]) list.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { KERAS_SUITES, listFixtures } from "../helpers.js";

const here = new URL("./", import.meta.url).pathname;
const layersSource = new URL("../../src/layers/", import.meta.url).pathname;

/** Case name -> the test files that name it. */
function namedCases(): Map<string, string[]> {
  const named = new Map<string, string[]>();
  const files = readdirSync(here).filter((f) => f.endsWith(".test.ts") && f !== "fixture-cases.test.ts");
  for (const file of files) {
    const source = readFileSync(`${here}${file}`, "utf8");
    for (const call of source.matchAll(/matchesKeras\(([^)]*)\)/g)) {
      const list = /^\s*\[([\s"\w,]*)\]\s*$/.exec(call[1]);
      assert.ok(list, `${file}: matchesKeras takes a literal list of case names, got ${call[1]}`);
      for (const [, name] of list[1].matchAll(/"(\w+)"/g)) named.set(name, [...(named.get(name) ?? []), file]);
    }
  }
  return named;
}

test("every keras3/keras2 fixture case is run by exactly one family's test file", () => {
  const named = namedCases();
  const cases = new Set(KERAS_SUITES.flatMap((suite) => listFixtures(suite).map((f) => f.id.split("/")[1])));
  const unnamed = [...cases].filter((name) => !named.has(name));
  assert.deepEqual(unnamed, [], "cases no test/layers/<family>.test.ts names");
  const twice = [...named].filter(([, files]) => files.length > 1).map(([name, files]) => `${name}: ${files}`);
  assert.deepEqual(twice, [], "cases named by several files");
  const missing = [...named.keys()].filter((name) => !cases.has(name));
  assert.deepEqual(missing, [], "names without a fixture folder");
});

test("every layer family in src/layers/ (a file exporting registry lines) has test/layers/<family>.test.ts", () => {
  const families = readdirSync(layersSource).filter(
    (f) =>
      f.endsWith(".ts") && /^export const \w+: LayerDefinition\[\]/m.test(readFileSync(`${layersSource}${f}`, "utf8")),
  );
  assert.ok(families.length >= 10, `found only ${families}`);
  const missing = families.filter((f) => !existsSync(`${here}${f.replace(/\.ts$/, ".test.ts")}`));
  assert.deepEqual(missing, [], "family files without a test file");
});
