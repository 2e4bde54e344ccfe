/**
 * loadModelPool(): one model on several threads (Node worker_threads). predict() splits the batch
 * (axis 0) into contiguous shards, one per thread, and concatenates the outputs: rows of a batch
 * are independent, so the result is the one model.predict() gives, bit for bit. (An ONNX graph
 * whose axis 0 is not a batch of independent rows runs whole on the calling thread: pool-rows.ts.)
 */
import { workerEntry } from "./worker-argv.js";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { onnxExternalData, readSource, type LoadOptions, type ModelSource } from "../api.js";
import { KeraslessError } from "../errors.js";
import { normalizeInputs, type PredictInput } from "../inputs.js";
import { kernelPath } from "../kernels/wasm.js";
import { loadModelFromBytes } from "../load.js";
import type { Model } from "../model.js";
import { Tensor, sizeOf, type TensorData } from "../tensor.js";
import type { SentError, ShardJob, ShardTensor, WorkerReply, WorkerSetup } from "./pool-protocol.js";
import { onnxExternalFiles } from "./onnx-external.js";
import { rowsIndependent } from "./pool-rows.js";
import { readPathOrUrl } from "./read.js";

export interface PoolOptions extends LoadOptions {
  /**
   * Threads predict() may use, the calling thread included: threads - 1 worker threads are
   * started. Default: os.availableParallelism().
   */
  threads?: number;
  /**
   * A call whose estimated time on one thread is below this many milliseconds runs on the calling
   * thread alone: handing shards to workers and back costs about 0.2 ms, so splitting pays from
   * about 0.5 ms of work. The estimate comes from the calls the calling thread has computed so far
   * (the first call of a pool is split). Default 1; 0 splits every batch of 2 rows or more.
   */
  inlineBelowMs?: number;
}

/** Measured on a 2-core machine: see docs/runtimes.md ("Node: threads"). */
const DEFAULT_INLINE_BELOW_MS = 1;

const WORKER = workerEntry(import.meta.url, "pool-worker");

const poolError = (problem: string, cause?: unknown): KeraslessError =>
  new KeraslessError("E_POOL", problem, { cause });

function receivedError(sent: SentError): Error {
  if (sent.code === undefined) return new Error(sent.message);
  return new KeraslessError(sent.code, sent.problem ?? sent.message, { file: sent.file, layer: sent.layer });
}

/** A shard a worker could not predict (as opposed to a worker that died). */
class ShardFailure extends Error {}

interface Pending {
  resolve(outputs: ShardTensor[]): void;
  reject(error: Error): void;
}

/** One worker thread and the shards it has been sent but not answered yet. */
class PoolThread {
  readonly pending = new Map<number, Pending>();
  /** Set by ModelPool.close(): the exit that follows is not a failure of the worker. */
  closing = false;
  private failure: Error | undefined;
  private exited = false;

  constructor(
    readonly worker: Worker,
    private readonly number: number,
    private readonly onExit: (thread: PoolThread) => void,
  ) {
    worker.on("message", (reply: WorkerReply) => this.receive(reply));
    worker.on("error", (error) => (this.failure ??= error));
    worker.on("messageerror", (error) => {
      this.failure ??= error;
      void worker.terminate();
    });
    worker.on("exit", (code) => {
      this.exited = true;
      const why = this.failure === undefined ? `exited with code ${code}` : `failed: ${this.failure.message}`;
      const error = this.closing
        ? poolError("the model pool was closed while predict() was running")
        : poolError(`worker thread ${this.number} of the model pool ${why}`, this.failure);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      this.readyWaiter?.reject(error);
      this.onExit(this);
    });
  }

  private readyWaiter: { resolve(): void; reject(error: Error): void } | undefined;

  /** Resolves once the worker has loaded the model. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.exited)
        reject(poolError(`worker thread ${this.number} of the model pool exited before it loaded the model`));
      else this.readyWaiter = { resolve, reject };
    });
  }

  run(job: ShardJob): Promise<ShardTensor[]> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(poolError(`worker thread ${this.number} of the model pool has exited`));
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(job.id, { resolve, reject });
      this.worker.postMessage(
        job,
        job.inputs.map((t) => t.data.buffer as ArrayBuffer),
      );
    });
  }

  private receive(reply: WorkerReply): void {
    if (reply.kind === "ready") {
      // An idle worker does not keep the process alive; one with work does (see run()).
      if (this.pending.size === 0) this.worker.unref();
      this.readyWaiter?.resolve();
      this.readyWaiter = undefined;
      return;
    }
    if (reply.kind === "load-failed") {
      this.readyWaiter?.reject(receivedError(reply.error));
      this.readyWaiter = undefined;
      return;
    }
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === "done") pending.resolve(reply.outputs);
    else pending.reject(new ShardFailure(receivedError(reply.error).message));
  }
}

/**
 * A model on several threads. `model` is an ordinary Model on the calling thread; predict()
 * splits large batches over it and the pool's worker threads.
 */
export class ModelPool {
  /** The model on the calling thread: metadata, summary(), getWeights(), and one shard of every split call. */
  readonly model: Model;
  private readonly workers: PoolThread[];
  private readonly inlineBelowMs: number;
  /**
   * Only models whose inputs accept any batch size can be split (stateful models have a fixed
   * one), and only along axis 0 when it holds independent rows (pool-rows.ts: ONNX graphs).
   */
  private readonly splittable: boolean;
  /** Calling-thread milliseconds per input value, from the calls so far (undefined: none yet). */
  private msPerValue: number | undefined;
  private nextJob = 0;
  private closed = false;
  private readonly counts = { inline: 0, split: 0, retried: 0 };

  /** @internal Use loadModelPool(). */
  constructor(model: Model, workers: Worker[], inlineBelowMs: number) {
    this.model = model;
    this.inlineBelowMs = inlineBelowMs;
    this.splittable = model.inputs.every((input) => input.shape[0] === null) && rowsIndependent(model);
    this.workers = workers.map(
      (w, i) => new PoolThread(w, i + 1, (thread) => this.workers.splice(this.workers.indexOf(thread), 1)),
    );
  }

  /** @internal */
  waitUntilReady(): Promise<void[]> {
    return Promise.all(this.workers.map((w) => w.ready()));
  }

  /**
   * Threads predict() can use now: the calling thread and the live workers. A worker that
   * crashed is not replaced.
   */
  get threads(): number {
    return this.closed ? 0 : this.workers.length + 1;
  }

  /**
   * How many predict() calls ran on the calling thread alone, how many were split, and how many
   * of those were computed again whole on the calling thread because a shard failed (to report
   * the error as model.predict() would).
   */
  get stats(): { readonly inlineCalls: number; readonly splitCalls: number; readonly retriedCalls: number } {
    return { inlineCalls: this.counts.inline, splitCalls: this.counts.split, retriedCalls: this.counts.retried };
  }

  /**
   * model.predict() over the pool's threads: takes the same inputs and returns the same tensors
   * (bit for bit). Small or cheap batches and models with a fixed batch size (stateful ones) run
   * on the calling thread, exactly as model.predict() does.
   */
  async predict(inputs: PredictInput): Promise<Tensor[]> {
    if (this.closed) throw poolError("the model pool is closed");
    if (!this.splittable) {
      // Never split: the inputs go to model.predict as given (an ONNX graph's inputs need not share a batch axis).
      this.counts.inline++;
      return this.model.predict(inputs);
    }
    const tensors = normalizeInputs(inputs, this.model.inputs);
    const rows = tensors[0].shape[0];
    const shards = this.shardCount(tensors, rows);
    if (shards < 2) {
      this.counts.inline++;
      return this.inline(tensors);
    }
    this.counts.split++;
    // Contiguous rows, the larger shards first; the calling thread computes the last one.
    const bounds: [number, number][] = [];
    for (let k = 0, start = 0; k < shards; k++) {
      const size = Math.floor(rows / shards) + (k < rows % shards ? 1 : 0);
      bounds.push([start, start + size]);
      start += size;
    }
    const sent = bounds.slice(0, -1).map(([start, end], k) => {
      const job: ShardJob = { id: this.nextJob++, inputs: tensors.map((t) => rowsOf(t, start, end, true)) };
      const result = this.workers[k].run(job);
      result.catch(() => undefined); // Awaited below; a shard that fails after another one did is not "unhandled".
      return result;
    });
    const [ownStart, ownEnd] = bounds[shards - 1];
    let own: Tensor[];
    try {
      const ownInputs = tensors.map((t) => rowsOf(t, ownStart, ownEnd, false));
      own = this.timed(valueCount(ownInputs), () => this.model.predict(ownInputs));
    } catch {
      // A value problem in this shard (say, a token outside the vocabulary): model.predict() on
      // the whole batch reports it as the plain model would, with indices into the whole batch.
      this.counts.retried++;
      return this.inline(tensors);
    }
    let received: ShardTensor[][];
    try {
      received = await Promise.all(sent);
    } catch (e) {
      if (!(e instanceof ShardFailure)) throw e;
      this.counts.retried++;
      return this.inline(tensors);
    }
    return concatRows([...received, own], rows);
  }

  /**
   * Terminates the worker threads; predict() fails with E_POOL from now on, and so do calls
   * whose shards were still running.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.workers) w.closing = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private shardCount(tensors: Tensor[], rows: number): number {
    const threads = Math.min(this.workers.length + 1, rows);
    if (threads < 2) return 1;
    if (this.msPerValue !== undefined && this.msPerValue * valueCount(tensors) < this.inlineBelowMs) return 1;
    return threads;
  }

  private inline(tensors: Tensor[]): Tensor[] {
    return this.timed(valueCount(tensors), () => this.model.predict(tensors));
  }

  /** Runs `predict` and updates the cost estimate with its time per input value. */
  private timed(values: number, predict: () => Tensor[]): Tensor[] {
    const start = performance.now();
    const outputs = predict();
    const perValue = (performance.now() - start) / Math.max(1, values);
    this.msPerValue = this.msPerValue === undefined ? perValue : 0.7 * this.msPerValue + 0.3 * perValue;
    return outputs;
  }
}

function valueCount(tensors: readonly Tensor[]): number {
  let n = 0;
  for (const t of tensors) n += t.size;
  return n;
}

/** Rows [start, end) of `t`: a copy (its buffer is then transferred) or a view. */
function rowsOf(t: Tensor, start: number, end: number, copy: boolean): Tensor {
  const rowSize = sizeOf(t.shape.slice(1));
  const data = copy ? t.data.slice(start * rowSize, end * rowSize) : t.data.subarray(start * rowSize, end * rowSize);
  return new Tensor([end - start, ...t.shape.slice(1)], data);
}

/** Every output's shards, in row order, as one tensor. */
function concatRows(shards: (readonly ShardTensor[])[], rows: number): Tensor[] {
  return shards[0].map((first, j) => {
    const rest = first.shape.slice(1);
    const rowSize = sizeOf(rest);
    const data: TensorData =
      first.data instanceof Int32Array ? new Int32Array(rows * rowSize) : new Float32Array(rows * rowSize);
    let row = 0;
    for (const shard of shards) {
      const part = shard[j];
      if (part.shape.length !== first.shape.length || part.shape.some((d, i) => i > 0 && d !== first.shape[i])) {
        throw new Error(
          `kerasless bug: output ${j} has shape [${part.shape}] in one shard and [${first.shape}] in another`,
        );
      }
      data.set(part.data, row * rowSize);
      row += part.shape[0];
    }
    if (row !== rows) throw new Error(`kerasless bug: output ${j} has ${row} rows for a batch of ${rows}`);
    return new Tensor([rows, ...rest], data);
  });
}

/**
 * Loads `source` (a path, URL or bytes, as loadModel takes) on the calling thread and in
 * `threads - 1` worker threads, each holding its own copy of the weights.
 */
export async function loadModelPool(source: ModelSource, options: PoolOptions = {}): Promise<ModelPool> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1)
    throw new KeraslessError("E_INPUT", `loadModelPool: threads must be a positive integer, got ${String(threads)}`);
  const inlineBelowMs = options.inlineBelowMs ?? DEFAULT_INLINE_BELOW_MS;
  if (typeof inlineBelowMs !== "number" || !(inlineBelowMs >= 0))
    throw new KeraslessError(
      "E_INPUT",
      `loadModelPool: inlineBelowMs must be a non-negative number, got ${String(inlineBelowMs)}`,
    );
  const modelBytes = await readSource(source, readPathOrUrl, options.name);
  const weightBytes = options.weights === undefined ? undefined : await readSource(options.weights, readPathOrUrl);
  const externalData = await onnxExternalData(source, modelBytes, options, onnxExternalFiles);
  // The threads start while the calling thread loads the model; they get the bytes only once
  // the calling thread has read them without error (a hostile file is refused once, not N times).
  const workers = Array.from({ length: threads - 1 }, () => {
    const worker = new Worker(WORKER.file, { execArgv: WORKER.execArgv() });
    // Until the pool listens (after the calling thread's load), a failure to start is reported by ready().
    worker.on("error", () => undefined);
    return worker;
  });
  let pool: ModelPool;
  try {
    pool = new ModelPool(
      loadModelFromBytes(modelBytes, weightBytes, { maxDecompressedBytes: options.maxDecompressedBytes, externalData }),
      workers,
      inlineBelowMs,
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  const setup: WorkerSetup = {
    model: modelBytes,
    weights: weightBytes,
    maxDecompressedBytes: options.maxDecompressedBytes,
    externalData,
    kernelPath: kernelPath(),
  };
  for (const worker of workers) worker.postMessage(setup);
  try {
    await pool.waitUntilReady();
  } catch (e) {
    await pool.close();
    throw e instanceof KeraslessError && e.code === "E_POOL"
      ? e
      : poolError(`a worker thread could not load the model: ${(e as Error).message}`, e);
  }
  return pool;
}
