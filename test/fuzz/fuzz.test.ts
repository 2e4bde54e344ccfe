/**
 * The CI fuzz run: a fixed seed for about a minute (KERASLESS_FUZZ_SECONDS / KERASLESS_FUZZ_SEED
 * override). Every case must end in a result or a KeraslessError, within 2 s, without crashing,
 * hanging or bloating its process, and leave Object.prototype alone. Longer runs:
 * `npm run fuzz -- --iterations N --seed S` (docs/robustness.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzz } from "./driver.js";

const seconds = Number(process.env.KERASLESS_FUZZ_SECONDS ?? 55);
const seed = Number(process.env.KERASLESS_FUZZ_SEED ?? 20261127);

test(`fuzzing seed ${seed} for ${seconds} s finds nothing`, { timeout: (seconds + 120) * 1000 }, async (t) => {
  const report = await fuzz({ seed, seconds, stepLimitMs: 2000 });
  const took = Math.round(report.elapsedMs / 1000);
  const summary = `${report.iterations} cases in ${took} s: ${JSON.stringify(report.outcomes)}`;
  t.diagnostic(
    `${summary}; slowest ${Math.round(report.slowestMs)} ms; max RSS ${Math.round(report.maxRssBytes / 2 ** 20)} MiB`,
  );
  assert.deepEqual(
    report.findings.map(
      (f) => `${f.problem} -- ${f.case} (replay: npm run fuzz -- --seed ${seed} --replay ${f.index})`,
    ),
    [],
    summary,
  );
  assert.ok(report.iterations >= 200, `only ${summary}`);
  // Both outcomes must be common, or the mutations are not reaching the loaders.
  assert.ok((report.outcomes.ok ?? 0) > report.iterations / 10, summary);
  assert.ok(report.iterations - (report.outcomes.ok ?? 0) > report.iterations / 10, summary);
});
