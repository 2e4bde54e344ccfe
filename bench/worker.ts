/**
 * Runs one JavaScript contender over the workloads, in its own process:
 *   node --import tsx bench/worker.ts <contender> <result.json> [--quick] [--workloads W1,W2]
 * For each workload: prepare, check the output against Keras' reference, then time it.
 * The result file holds {describe, results: {W1: {median_ms, min_ms, ...} | {skipped} | {error}}}.
 */
import { writeFileSync } from "node:fs";
import { JS_CONTENDERS } from "./contenders/index.js";
import { isSkip } from "./contenders/contender.js";
import { compareWithKeras, loadWorkloads } from "./lib/spec.js";
import { FULL, QUICK, measure } from "./lib/timing.js";

const [id, outFile, ...flags] = process.argv.slice(2);
const quick = flags.includes("--quick");
const only = flags.includes("--workloads") ? flags[flags.indexOf("--workloads") + 1].split(",") : undefined;
const make = JS_CONTENDERS[id];
if (make === undefined || outFile === undefined) {
  console.error(
    `usage: worker.ts <${Object.keys(JS_CONTENDERS).join("|")}> <result.json> [--quick] [--workloads W1,W2]`,
  );
  process.exit(2);
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const results: Record<string, unknown> = {};
let describe: Record<string, unknown>;
try {
  const contender = await make();
  describe = contender.describe();
  for (const w of loadWorkloads()) {
    if (only !== undefined && !only.includes(w.id)) continue;
    if (w.unavailable !== undefined) {
      results[w.id] = { skipped: w.unavailable };
      continue;
    }
    try {
      const runner = await contender.prepare(w);
      if (isSkip(runner)) {
        results[w.id] = runner;
        continue;
      }
      const checkStart = performance.now();
      const got = await runner.check();
      const firstMs = performance.now() - checkStart;
      const parity = compareWithKeras(got, w.expected);
      if (!parity.ok) {
        results[w.id] = { error: `output disagrees with Keras: ${parity.problem}` };
        continue;
      }
      const timing = await measure(runner.run, quick ? QUICK : FULL);
      results[w.id] = {
        ...timing,
        max_abs_diff: parity.maxAbsDiff,
        ...(w.kind === "coldload" ? { first_ms: firstMs } : {}),
        ...(runner.mode !== undefined ? { mode: runner.mode } : {}),
        ...(runner.note !== undefined ? { note: runner.note } : {}),
      };
      await runner.dispose?.();
    } catch (e) {
      results[w.id] = { error: message(e) };
    }
  }
} catch (e) {
  describe = { error: message(e) };
}
writeFileSync(outFile, JSON.stringify({ describe, results }, null, 1));
// onnxruntime-web's worker threads would keep the process alive.
process.exit(0);
