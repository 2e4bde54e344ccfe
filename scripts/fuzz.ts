/**
 * Long fuzzing runs: npm run fuzz -- [--structured] --iterations N [--seed S] [--start I] [--seconds T]
 *                    npm run fuzz -- [--structured] --seed S --replay I [--save FILE]
 * --structured runs the structure-aware fuzzer (test/fuzz/structured.ts) instead of the random one.
 * Prints progress every 1000 cases and a JSON report at the end; exits 1 if anything was found.
 * --replay runs one case in this process and prints what it did (and saves the mutated file).
 */
import { writeFileSync } from "node:fs";
import { fuzz } from "../test/fuzz/driver.js";
import { describeCase, loadCorpus, makeCase, runCase } from "../test/fuzz/engine.js";
import { describeStructuredCase, makeStructuredCase, runStructuredCase } from "../test/fuzz/structured.js";

const args = process.argv.slice(2);
const option = (name: string): number | undefined => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = Number(args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} needs a whole number`);
  return value;
};
const seed = option("seed") ?? 1;
const replay = option("replay");
const structured = args.includes("--structured");

if (replay !== undefined && structured) {
  const c = makeStructuredCase(seed, replay);
  console.log(describeStructuredCase(c));
  const saveAt = args.indexOf("--save");
  if (saveAt >= 0) writeFileSync(args[saveAt + 1], c.bytes);
  const outcome = await runStructuredCase(c);
  console.log(JSON.stringify(outcome, null, 2));
  process.exitCode = outcome.kind === "bug" ? 1 : 0;
} else if (replay !== undefined) {
  const c = makeCase(seed, replay, loadCorpus());
  console.log(describeCase(c));
  const saveAt = args.indexOf("--save");
  if (saveAt >= 0) writeFileSync(args[saveAt + 1], c.target === "weights" ? c.weights! : c.main);
  const outcome = runCase(c);
  console.log(JSON.stringify(outcome, null, 2));
  process.exitCode = outcome.kind === "bug" ? 1 : 0;
} else {
  const iterations = option("iterations");
  const seconds = option("seconds");
  if (iterations === undefined && seconds === undefined) throw new Error("give --iterations N or --seconds T");
  const report = await fuzz({
    seed,
    structured,
    start: option("start") ?? 0,
    iterations,
    seconds,
    onProgress: (r) =>
      console.error(`${r.iterations} cases, ${r.findings.length} findings, ${JSON.stringify(r.outcomes)}`),
    onFinding: (f) => console.error(`FINDING ${JSON.stringify(f)}`),
  });
  console.log(JSON.stringify(report, null, 2));
  process.exitCode = report.findings.length > 0 ? 1 : 0;
}
