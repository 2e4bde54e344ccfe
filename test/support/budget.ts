/**
 * Time and memory measurement for the hostile-input and complexity tests. Time is the CPU time
 * the process spends (user + system), which up to 8 processes sharing 2 cores do not inflate as
 * they inflate wall time; memory is read after an explicit garbage collection (exposed at run
 * time, no command-line flag needed), so that it is what the work retains, not leftover garbage.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { KeraslessError } from "../../src/errors.js";

setFlagsFromString("--expose-gc");
// The collection measure() makes before the clock starts would otherwise go on sweeping on V8's
// helper threads while the work runs, and their CPU time counts in the process's: up to ~10 ms
// of it in any run (2026-12-07, test/complexity/graph.test.ts), which turned a 1 ms run into
// 10 ms and a linear pair of sizes into a 15-20x ratio. Swept within the collection, it is not
// timed.
setFlagsFromString("--no-concurrent-sweeping");
export const gc = runInNewContext("gc") as () => void;

/** The budget for any hostile file: an answer within 2 s and 256 MB. */
export const BUDGET_MS = 2000;
export const BUDGET_BYTES = 256 * 2 ** 20;

export interface Measured<T> {
  /** CPU time of the work, in milliseconds. */
  readonly ms: number;
  readonly wallMs: number;
  /** Heap still held after the work (the result kept alive), beyond what was held before. */
  readonly retainedBytes: number;
  /** How far the process's peak resident memory rose during the work (0 below an earlier peak). */
  readonly peakGrowthBytes: number;
  readonly result: T | undefined;
  readonly error: unknown;
}

export function measure<T>(work: () => T): Measured<T> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const peakBefore = process.resourceUsage().maxRSS * 1024;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let result: T | undefined;
  let error: unknown;
  try {
    result = work();
  } catch (e) {
    error = e;
  }
  const cpu = process.cpuUsage(cpuStart);
  const ms = (cpu.user + cpu.system) / 1000;
  const wallMs = performance.now() - start;
  const peakGrowthBytes = process.resourceUsage().maxRSS * 1024 - peakBefore;
  gc();
  const retainedBytes = Math.max(0, process.memoryUsage().heapUsed - before);
  return { ms, wallMs, retainedBytes, peakGrowthBytes, result, error };
}

/** Runs `work` within the budget; it must return, or throw a one-line KeraslessError. */
export function withinBudget<T>(what: string, work: () => T): Measured<T> {
  const m = measure(work);
  const took = `${m.ms.toFixed(0)} ms of CPU time, ${m.wallMs.toFixed(0)} ms wall`;
  assert.ok(m.ms < BUDGET_MS, `${what}: took ${took} (budget ${BUDGET_MS} ms)`);
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  assert.ok(m.retainedBytes < BUDGET_BYTES, `${what}: retained ${mb(m.retainedBytes)}`);
  assert.ok(m.peakGrowthBytes < BUDGET_BYTES, `${what}: peak memory rose by ${mb(m.peakGrowthBytes)}`);
  if (m.error !== undefined) {
    assert.ok(
      m.error instanceof KeraslessError,
      `${what}: threw ${m.error instanceof Error ? m.error.stack : String(m.error)}`,
    );
    assert.doesNotMatch(m.error.message, /[\n\r]/, `${what}: the message is not one line`);
  }
  return m;
}

export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
