/**
 * Runs fuzz cases [start, end) of a seed in its own process and reports each outcome to the
 * parent (driver.ts), which watches for crashes and hangs.
 */
import { loadCorpus, makeCase, runCase, type Outcome } from "./engine.js";
import { makeStructuredCase, runStructuredCase } from "./structured.js";

const [seed, start, end] = process.argv.slice(2, 5).map(Number);
const structured = process.argv[5] === "structured";
const corpus = structured ? [] : loadCorpus();
const baselineRss = process.memoryUsage().rss;
for (let index = start; index < end; index++) {
  // The file is built before the clock starts: only reading it is timed.
  let run: () => Outcome | Promise<Outcome>;
  if (structured) {
    const c = makeStructuredCase(seed, index);
    run = () => runStructuredCase(c);
  } else {
    const c = makeCase(seed, index, corpus);
    run = () => runCase(c);
  }
  // CPU time as well as wall time: on a shared machine a case can wait for a core.
  const cpu = process.cpuUsage();
  const outcome = await run();
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
    baselineRss,
  });
}
process.disconnect();
