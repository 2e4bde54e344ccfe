/** The messages between a served model's executor (executor.ts) and its worker thread (executor-worker.ts). */
import type { KernelPath } from "../kernels/wasm.js";
import type { DType } from "../tensor.js";

/** A tensor crossing threads; `data`'s buffer is transferred, not copied. */
export interface WireTensor {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

export interface WireTensorInfo {
  name: string;
  shape: (number | null)[];
  dtype: DType;
}

/**
 * A predict's measured time: `oneRowMs` for one row and `manyRowsMs` for `manyRows` rows (the
 * least of a few runs of zeros, after a warm-up). Measured when every input size but the batch is
 * fixed and the batch size is free; the rows only when one row is cheaper than `inlineBelowMs`.
 */
export interface PredictCost {
  oneRowMs: number;
  manyRows: number;
  manyRowsMs: number | undefined;
}

/** The first message: what to load and how many threads its ModelPool may use. */
export interface ExecutorSetup {
  path: string;
  threads: number;
  /** The cost probe's thresholds: one row cheaper than this is measured again at `probeRows` rows. */
  inlineBelowMs: number;
  probeRows: number;
  /** The calling thread's kernel path (setKernelPath there applies to the served models too). */
  kernelPath: KernelPath;
}

export type ExecutorJob =
  | { kind: "predict"; id: number; inputs: WireTensor[] }
  /** Opens stream `sid`; `state` restores an exported one. */
  | { kind: "open"; id: number; sid: string; batch: number; state?: Float32Array[] }
  /** Feeds [batch, steps, ...] per input, one step at a time; outputs come stacked on axis 1. */
  | { kind: "step"; id: number; sid: string; inputs: WireTensor[] }
  | { kind: "get-state"; id: number; sid: string }
  | { kind: "set-state"; id: number; sid: string; state: Float32Array[] }
  | { kind: "reset"; id: number; sid: string }
  | { kind: "close"; id: number; sid: string }
  /** Tests only: makes the worker thread die as a crash would. */
  | { kind: "crash"; id: number }
  /** Tests only: the thread's heap and array buffers in use after a full garbage collection. */
  | { kind: "memory"; id: number };

export interface SentError {
  message: string;
  /** A KeraslessError's code: the request was at fault (400), not the server. */
  code?: string;
}

export type ExecutorReply =
  | {
      kind: "ready";
      name: string;
      inputs: WireTensorInfo[];
      outputs: WireTensorInfo[];
      streamable: boolean;
      kernelPath: KernelPath;
      /** What a predict costs on this thread, when that does not depend on the request (see PredictCost). */
      cost: PredictCost | undefined;
    }
  | { kind: "load-failed"; error: SentError }
  | { kind: "done"; id: number; outputs: WireTensor[] }
  | { kind: "state"; id: number; batch: number; state: Float32Array[] }
  | { kind: "ok"; id: number }
  | { kind: "memory"; id: number; bytes: number }
  | { kind: "failed"; id: number; error: SentError };
