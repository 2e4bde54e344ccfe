/**
 * Drives the fuzzer in child processes: a case that crashes its process, stops reporting for
 * `hangMs`, uses more than `stepLimitMs` of CPU time (or five times that of wall time: the
 * machine may be shared) or leaves the process above `rssLimitBytes` is a finding, like any
 * exception that is not a KeraslessError. Used by the CI test and by `npm run fuzz`.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeCase, loadCorpus, makeCase } from "./engine.js";
import { describeStructuredCase, makeStructuredCase } from "./structured.js";

export interface FuzzOptions {
  seed: number;
  /**
   * The structure-aware fuzzer (structured.ts) instead of the random one; its children run with a
   * 256 MiB V8 heap, and a case that grows the process by more than `rssLimitBytes` is a finding.
   */
  structured?: boolean;
  /** First case index. */
  start?: number;
  /** Stop after this many cases... */
  iterations?: number;
  /** ...or after this many seconds, whichever comes first. */
  seconds?: number;
  stepLimitMs?: number;
  hangMs?: number;
  rssLimitBytes?: number;
  onProgress?: (report: FuzzReport) => void;
  /** Called for each finding as it happens. */
  onFinding?: (finding: Finding) => void;
}

export interface Finding {
  index: number;
  problem: string;
  case: string;
  stack?: string;
}

export interface FuzzReport {
  seed: number;
  iterations: number;
  outcomes: Record<string, number>;
  findings: Finding[];
  slowestMs: number;
  slowest: string;
  maxRssBytes: number;
  elapsedMs: number;
}

interface Message {
  index: number;
  kind: "ok" | "error" | "bug";
  detail: string;
  stack?: string;
  ms: number;
  cpuMs: number;
  rss: number;
  /** The child's RSS before its first case (structured runs measure growth from it). */
  baselineRss: number;
}

const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, structured = false, stepLimitMs = 2000, hangMs = 15000 } = options;
  const rssLimitBytes = options.rssLimitBytes ?? (structured ? 256 * 2 ** 20 : 1.5 * 2 ** 30);
  const start = options.start ?? 0;
  const end = options.iterations === undefined ? Number.MAX_SAFE_INTEGER : start + options.iterations;
  const deadline = options.seconds === undefined ? Infinity : Date.now() + options.seconds * 1000;
  const began = Date.now();
  const corpus = structured ? [] : loadCorpus();
  const describe = (index: number): string => {
    try {
      return structured
        ? describeStructuredCase(makeStructuredCase(seed, index))
        : describeCase(makeCase(seed, index, corpus));
    } catch (e) {
      return `#${index} (the case cannot be built here: ${String(e)})`;
    }
  };
  const report: FuzzReport = {
    seed,
    iterations: 0,
    outcomes: {},
    findings: [],
    slowestMs: 0,
    slowest: "",
    maxRssBytes: 0,
    elapsedMs: 0,
  };
  const finding = (index: number, problem: string, stack?: string): void => {
    const found = { index, problem, case: describe(index), stack };
    report.findings.push(found);
    options.onFinding?.(found);
  };
  let next = start;
  while (next < end && Date.now() < deadline) {
    // One child per batch; a crash or hang costs only the rest of its batch.
    const batchEnd = Math.min(end, next + 20000);
    next = await new Promise<number>((resolve) => {
      let last = next - 1;
      let settled = false;
      const heap = structured ? 256 : 2048;
      const child = fork(CHILD, [String(seed), String(next), String(batchEnd), structured ? "structured" : "random"], {
        execArgv: ["--import", "tsx", `--max-old-space-size=${heap}`, "--stack-size=984"],
        stdio: ["ignore", "ignore", "pipe", "ipc"],
      });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      let watchdog = setTimeout(onHang, hangMs + 60000); // the first message waits for the corpus to load
      function settle(resume: number): void {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        child.removeAllListeners();
        if (child.exitCode === null) child.kill("SIGKILL");
        resolve(resume);
      }
      function onHang(): void {
        finding(last + 1, `no result within ${hangMs} ms (hang)`);
        report.iterations++;
        settle(last + 2);
      }
      child.on("message", (m: Message) => {
        clearTimeout(watchdog);
        watchdog = setTimeout(onHang, hangMs);
        last = m.index;
        report.iterations++;
        const key = m.kind === "error" ? m.detail : m.kind;
        report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
        if (m.kind === "bug") finding(m.index, m.detail, m.stack);
        if (m.cpuMs > stepLimitMs || m.ms > 5 * stepLimitMs)
          finding(
            m.index,
            `took ${Math.round(m.cpuMs)} ms of CPU time, ${Math.round(m.ms)} ms of wall time (limit ${stepLimitMs} ms)`,
          );
        const rss = structured ? m.rss - m.baselineRss : m.rss;
        if (rss > rssLimitBytes)
          finding(
            m.index,
            `${structured ? "grew" : "left"} the process ${structured ? "by" : "at"} ` +
              `${Math.round(rss / 2 ** 20)} MiB RSS`,
          );
        if (m.ms > report.slowestMs) {
          report.slowestMs = m.ms;
          report.slowest = `#${m.index}`;
        }
        report.maxRssBytes = Math.max(report.maxRssBytes, m.rss);
        if (report.iterations % 1000 === 0) options.onProgress?.(report);
        if (Date.now() >= deadline) settle(m.index + 1);
      });
      // "close", not "exit": messages the child sent just before exiting can arrive after "exit".
      child.on("close", (code, signal) => {
        if (settled) return;
        if (last + 1 < batchEnd) {
          finding(
            last + 1,
            `the process died (exit ${code}, signal ${signal}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
          );
          report.iterations++;
          settle(last + 2);
        } else settle(batchEnd);
      });
    });
  }
  report.elapsedMs = Date.now() - began;
  return report;
}
