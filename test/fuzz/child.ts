/**
 * Runs fuzz cases [start, end) of a seed in its own process and reports each outcome to the
 * parent (driver.ts), which watches for crashes and hangs.
 */
import { loadCorpus, makeCase, runCase } from "./engine.js";

const [seed, start, end] = process.argv.slice(2).map(Number);
const corpus = loadCorpus();
for (let index = start; index < end; index++) {
  const outcome = runCase(makeCase(seed, index, corpus));
  const rss = process.memoryUsage().rss;
  process.send!({ index, kind: outcome.kind, detail: outcome.detail, stack: outcome.kind === "bug" ? outcome.stack : undefined, ms: outcome.ms, rss });
}
process.disconnect();
