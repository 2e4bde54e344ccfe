/**
 * The structure-aware fuzzer in CI: a fixed seed for about 20 s (KERASLESS_STRUCTURED_SECONDS /
 * KERASLESS_STRUCTURED_SEED override). Every case must end in the right result or a one-line
 * KeraslessError, within 2 s of CPU time, with a 256 MiB V8 heap, growing its process by at most
 * 256 MiB. Longer runs: `npm run fuzz -- --structured --seconds T --seed S` (docs/robustness.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fuzz } from "./driver.js";

const seconds = Number(process.env.KERASLESS_STRUCTURED_SECONDS ?? 20);
const seed = Number(process.env.KERASLESS_STRUCTURED_SEED ?? 20261207);

test(
  `structure-aware fuzzing, seed ${seed}, for ${seconds} s finds nothing`,
  { timeout: (seconds + 120) * 1000 },
  async (t) => {
    const report = await fuzz({ seed, seconds, structured: true, stepLimitMs: 2000 });
    const took = Math.round(report.elapsedMs / 1000);
    const summary = `${report.iterations} cases in ${took} s: ${JSON.stringify(report.outcomes)}`;
    t.diagnostic(
      `${summary}; slowest ${Math.round(report.slowestMs)} ms; max RSS ${Math.round(report.maxRssBytes / 2 ** 20)} MiB`,
    );
    assert.deepEqual(
      report.findings.map(
        (f) => `${f.problem} -- ${f.case} (replay: npm run fuzz -- --structured --seed ${seed} --replay ${f.index})`,
      ),
      [],
      summary,
    );
    assert.ok(report.iterations >= 50, `only ${summary}`);
    // Both outcomes must be common: honest sizes load, hostile ones are refused.
    assert.ok((report.outcomes.ok ?? 0) > report.iterations / 10, summary);
    assert.ok((report.outcomes.E_LIMIT ?? 0) > 0, summary);
  },
);
