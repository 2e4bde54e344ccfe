/**
 * Runs fuzz cases [start, end) of a seed in its own process and reports each outcome to the
 * parent (driver.ts), which watches for crashes and hangs.
 */
import { loadCorpus, makeCase, runCase } from "./engine.js";

const [seed, start, end] = process.argv.slice(2).map(Number);
const corpus = loadCorpus();
for (let index = start; index < end; index++) {
  const c = makeCase(seed, index, corpus);
  // CPU time as well as wall time: on a shared machine a case can wait for a core.
  const cpu = process.cpuUsage();
  const outcome = runCase(c);
  const used = process.cpuUsage(cpu);
  const rss = process.memoryUsage().rss;
  const cpuMs = (used.user + used.system) / 1000;
  process.send!({
    index,
    kind: outcome.kind,
    detail: outcome.detail,
    stack: outcome.kind === "bug" ? outcome.stack : undefined,
    ms: outcome.ms,
    cpuMs,
    rss,
  });
}
process.disconnect();
