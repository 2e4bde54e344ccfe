/**
 * Figures the docs state about the package are checked against the build (issue 15): the browser
 * bundle's gzip size and its CI budget, and the error codes the README lists. Benchmark figures
 * come from bench/ (docs/benchmarks.md) and are not checked here.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  BUNDLE_BUDGET_GZIP,
  RECURRENT_BUDGET_GZIP,
  buildCoreBundle,
  buildRecurrentBundle,
  gzipSize,
} from "../../scripts/build-browser.js";
import { ROOT } from "../docs/snippets.js";

const read = (file: string): string => readFileSync(join(ROOT, file), "utf8").replace(/\s+/g, " ");

/** Where the docs give the bundle's size, "about N KB gzip". */
const SIZE_STATEMENTS: [string, RegExp][] = [
  ["README.md", /everything inside, about (\d+) KB gzip/],
  ["docs/runtimes.md", /fflate inside, about (\d+) KB gzip/],
  ["docs/coming-from-tfjs-onnx.md", /the whole library is about (\d+) KB gzip/],
];
const BUDGET_STATEMENTS: [string, RegExp][] = [
  ["README.md", /CI fails above (\d+) KB/],
  ["docs/runtimes.md", /CI fails the build above (\d+) KB/],
];
/** Where the docs give the recurrent-only bundle's size (kerasless/recurrent) and its budget. */
const RECURRENT_STATEMENTS: [string, RegExp, RegExp][] = [
  [
    "README.md",
    /sequence models only, about (\d+) KB gzip/,
    /sequence models only, about \d+ KB gzip \(CI fails above (\d+) KB\)/,
  ],
  ["docs/runtimes.md", /recurrent models only, about (\d+) KB gzip/, /CI fails the build above (\d+) KB\); see below/],
  ["docs/runtimes.md", /a bundle of it is about (\d+) KB gzip/, /CI fails the recurrent one above (\d+) KB/],
];

test("the docs give the browser bundle's gzip size within 1 KB of the build's, and its budget", async () => {
  const kb = gzipSize((await buildCoreBundle()).code) / 1024;
  for (const [file, statement] of SIZE_STATEMENTS) {
    const stated = statement.exec(read(file));
    assert.ok(stated !== null, `${file} no longer says ${statement}`);
    assert.ok(
      Math.abs(Number(stated[1]) - kb) <= 1,
      `${file} says about ${stated[1]} KB gzip, the build has ${kb.toFixed(1)} KB`,
    );
  }
  for (const [file, statement] of BUDGET_STATEMENTS) {
    const stated = statement.exec(read(file));
    assert.ok(stated !== null, `${file} no longer says ${statement}`);
    assert.equal(Number(stated[1]) * 1024, BUNDLE_BUDGET_GZIP, `${file}: the budget`);
  }
});

test("every error code the README names exists", () => {
  const defined = readFileSync(join(ROOT, "src/errors.ts"), "utf8");
  const named = new Set(read("README.md").match(/\bE_[A-Z0-9_]+/g));
  assert.ok(named.size >= 5);
  for (const code of named)
    assert.ok(defined.includes(`"${code}"`), `README.md names ${code}, src/errors.ts does not define it`);
});

test("the docs give the recurrent-only bundle's gzip size within 1 KB of the build's, and its budget", async () => {
  const kb = gzipSize((await buildRecurrentBundle()).code) / 1024;
  for (const [file, size, budget] of RECURRENT_STATEMENTS) {
    const stated = size.exec(read(file));
    assert.ok(stated !== null, `${file} no longer says ${size}`);
    assert.ok(
      Math.abs(Number(stated[1]) - kb) <= 1,
      `${file} says about ${stated[1]} KB, the build has ${kb.toFixed(1)}`,
    );
    const limit = budget.exec(read(file));
    assert.ok(limit !== null, `${file} no longer says ${budget}`);
    assert.equal(Number(limit[1]) * 1024, RECURRENT_BUDGET_GZIP, `${file}: the recurrent budget`);
  }
});
