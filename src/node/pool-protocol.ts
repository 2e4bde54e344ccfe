/** The messages between a ModelPool (src/node/pool.ts) and its worker threads (pool-worker.ts). */
import type { ErrorCode } from "../errors.js";
import type { NamedBytes } from "../format/artifact.js";
import type { KernelPath } from "../kernels/wasm.js";

/** The first message to a worker: what it loads its own copy of the model from. */
export interface WorkerSetup {
  model: NamedBytes;
  weights?: NamedBytes;
  maxDecompressedBytes?: number;
  /** An ONNX model's external data files, by location (read once, by the calling thread). */
  externalData?: Record<string, Uint8Array>;
  kernelPath: KernelPath;
}

/** One input or output of a shard; `data`'s buffer is transferred, not copied. */
export interface ShardTensor {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

/** A shard to predict: the inputs in the order of model.inputs. */
export interface ShardJob {
  id: number;
  inputs: ShardTensor[];
}

export interface SentError {
  message: string;
  /** Set when the error was a KeraslessError. */
  code?: ErrorCode;
  problem?: string;
  file?: string;
  layer?: string;
}

export type WorkerReply =
  | { kind: "ready" }
  | { kind: "load-failed"; error: SentError }
  | { kind: "done"; id: number; outputs: ShardTensor[] }
  | { kind: "failed"; id: number; error: SentError };
