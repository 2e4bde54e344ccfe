/**
 * Dynamic batching, as TensorFlow Serving's batching does: requests for one model that arrive
 * while a batch computes, within a short window, are concatenated along the batch axis into one
 * predict, and each request gets its own rows of the outputs back. Unlike TF Serving, a request
 * that finds the model idle leaves at once, so batching costs no latency at low load.
 */
import { Tensor, sizeOf } from "../tensor.js";
import type { WireTensor } from "./executor-protocol.js";
import { HttpError } from "./http-error.js";

export interface BatchingOptions {
  /** How long the first request of a batch waits for others, in milliseconds (0: no wait). */
  windowMs: number;
  /** Most rows in one batch; 1 turns batching off (every request is its own predict). */
  maxRows: number;
  /** Most requests waiting for a batch; more are refused with 503 + Retry-After. */
  maxQueue: number;
  /** Wait the window even when the model is idle (TF Serving's way: larger batches, more latency). */
  waitWhenIdle: boolean;
}

interface Entry {
  inputs: readonly Tensor[];
  rows: number;
  /** Requests whose inputs can share a batch: the same sizes after the batch axis. */
  key: string;
  resolve(outputs: Tensor[]): void;
  reject(error: Error): void;
  signal: AbortSignal | undefined;
  arrived: number;
}

/** Batches sent to the model's thread at once: one computes while the next one forms. */
const BATCHES_IN_FLIGHT = 2;

export class Batcher {
  private readonly queue: Entry[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly predict: (inputs: WireTensor[]) => Promise<WireTensor[]>,
    private readonly options: BatchingOptions,
    /** False for models with a fixed batch size (stateful ones): every request runs alone. */
    private readonly batchable: boolean,
    private readonly onBatch: (rows: number, requests: number) => void,
  ) {}

  /** Requests waiting for a batch. */
  get queued(): number {
    return this.queue.length;
  }

  /** Predicts `inputs` (validated tensors, in model input order) as part of a batch. */
  submit(inputs: readonly Tensor[], signal?: AbortSignal): Promise<Tensor[]> {
    if (this.queue.length >= this.options.maxQueue)
      return Promise.reject(
        new HttpError(503, `the model's queue is full (${this.options.maxQueue} requests); retry later`, {
          "Retry-After": "1",
        }),
      );
    return new Promise<Tensor[]>((resolve, reject) => {
      const key = inputs.map((t) => t.shape.slice(1).join("x")).join(",");
      this.queue.push({ inputs, rows: inputs[0].shape[0], key, resolve, reject, signal, arrived: performance.now() });
      this.pump();
    });
  }

  private get batching(): boolean {
    return this.batchable && this.options.maxRows > 1;
  }

  private pump(): void {
    while (this.inFlight < BATCHES_IN_FLIGHT && this.queue.length > 0) {
      // An idle model takes what is queued at once (no wait at low load). While a batch computes,
      // the next one leaves when it is full or when its oldest request has waited the whole window.
      const waited = performance.now() - this.queue[0].arrived;
      if (
        this.batching &&
        (this.inFlight > 0 || this.options.waitWhenIdle) &&
        waited < this.options.windowMs &&
        this.queuedRows() < this.options.maxRows
      ) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, this.options.windowMs - waited);
        return;
      }
      const batch = this.take();
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      if (batch.length > 0) this.run(batch);
    }
  }

  private queuedRows(): number {
    let rows = 0;
    for (const e of this.queue) rows += e.rows;
    return rows;
  }

  /** The oldest live request and those after it that fit with it, up to maxRows. */
  private take(): Entry[] {
    while (this.queue.length > 0 && this.queue[0].signal?.aborted === true) this.queue.shift();
    const head = this.queue.shift();
    if (head === undefined) return [];
    const batch = [head];
    if (!this.batching) return batch;
    let rows = head.rows;
    for (let i = 0; i < this.queue.length && rows < this.options.maxRows;) {
      const e = this.queue[i];
      if (e.signal?.aborted === true) this.queue.splice(i, 1);
      else if (e.key === head.key && rows + e.rows <= this.options.maxRows) {
        batch.push(e);
        rows += e.rows;
        this.queue.splice(i, 1);
      } else i++;
    }
    return batch;
  }

  private run(batch: Entry[]): void {
    this.inFlight++;
    const rows = batch.reduce((n, e) => n + e.rows, 0);
    this.onBatch(rows, batch.length);
    const inputs = batch[0].inputs.map((_, i) =>
      concatRows(
        batch.map((e) => e.inputs[i]),
        rows,
      ),
    );
    this.predict(inputs)
      .then(
        (outputs) => {
          let start = 0;
          for (const e of batch) {
            e.resolve(outputs.map((o) => rowsOf(o, start, start + e.rows)));
            start += e.rows;
          }
        },
        (error: Error) => {
          for (const e of batch) e.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }
}

/** The tensors' rows, in order, as one new tensor (a fresh buffer: it is transferred to the thread). */
function concatRows(parts: readonly Tensor[], rows: number): WireTensor {
  const rest = parts[0].shape.slice(1);
  const size = rows * sizeOf(rest);
  const data = parts[0].data instanceof Int32Array ? new Int32Array(size) : new Float32Array(size);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { shape: [rows, ...rest], data };
}

function rowsOf(t: WireTensor, start: number, end: number): Tensor {
  const rowSize = sizeOf(t.shape.slice(1));
  return new Tensor([end - start, ...t.shape.slice(1)], t.data.subarray(start * rowSize, end * rowSize));
}
