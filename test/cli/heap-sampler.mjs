// Preloaded (--import) into a CLI child process by test/cli/sources.test.ts: samples the V8 heap
// every 2 ms and reports the peaks as one JSON line on stderr when the process exits.
import { writeSync } from "node:fs";

const peak = { heapUsed: 0, rss: 0, arrayBuffers: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.rss = Math.max(peak.rss, m.rss);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
};
setInterval(sample, 2).unref();
process.on("exit", () => {
  sample();
  writeSync(2, `HEAP-PEAK ${JSON.stringify(peak)}\n`);
});
