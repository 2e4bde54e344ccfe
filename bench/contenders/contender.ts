/** What one benchmark contender provides. Each contender runs in its own process (bench/worker.ts). */
import type { Workload } from "../lib/spec.js";

export interface Runner {
  /**
   * Computes the workload's output from scratch, for the parity check against Keras (streaming:
   * steps through the whole window from a fresh state; cold load: loads the bytes and predicts).
   */
  check(): Promise<ArrayLike<number>>;
  /** One timed call: from a Float32Array input to a Float32Array output. */
  run(): unknown;
  /** For W5: "stream" (one step with the state kept) or "window" (re-runs the 50-step window). */
  mode?: "stream" | "window";
  note?: string;
  dispose?(): void | Promise<void>;
}

export interface Skip {
  skipped: string;
}

export interface Contender {
  /** Versions, threads and settings, for the report. */
  describe(): Record<string, unknown>;
  prepare(workload: Workload): Promise<Runner | Skip>;
}

export const isSkip = (r: Runner | Skip): r is Skip => "skipped" in r;

/** Time step t of a [batch, steps, features] input, as [batch, features]: what W5 feeds per step. */
export function stepSlice(w: Workload, t: number): Float32Array {
  const [batch, steps, features] = w.inputShape;
  const out = new Float32Array(batch * features);
  for (let b = 0; b < batch; b++)
    out.set(w.input.subarray((b * steps + t) * features, (b * steps + t + 1) * features), b * features);
  return out;
}
