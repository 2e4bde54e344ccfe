/**
 * Dynamic batching, as TensorFlow Serving's batching does: concurrent requests for one model are
 * concatenated along the batch axis into one predict, and each request gets its own rows of the
 * outputs back. When a batch leaves (measured: docs/decisions.md, "kerasless serve: batching"):
 * - the model is idle: at the end of the current event-loop turn, with every request that turn
 *   parsed (no timer, so batching costs no latency at low load);
 * - a batch is computing: when it ends (the next batch would wait behind it anyway, and meanwhile
 *   it grows), or at once when it is full (up to two batches in flight, so the thread never
 *   waits for the next full one);
 * - with `waitWhenIdle` (TF Serving's way), an idle model waits up to the window for more.
 * A batch that is cheap to compute may run on the event loop itself (see BatchRunner.inline).
 */
import { Tensor, sizeOf } from "../tensor.js";
import type { WireTensor } from "./executor-protocol.js";
import { HttpError } from "./http-error.js";

export interface BatchingOptions {
  /** With waitWhenIdle: how long an idle model waits for more requests, in milliseconds. */
  windowMs: number;
  /** Most rows in one batch; 1 turns batching off (every request is its own predict). */
  maxRows: number;
  /** Most requests waiting for a batch; more are refused with 503 + Retry-After. */
  maxQueue: number;
  /** Wait the window even when the model is idle (TF Serving's way: larger batches, more latency). */
  waitWhenIdle: boolean;
}

/** Whether a request's client has gone (an AbortSignal is one; the server uses a plain object, cheaper). */
export interface Departure {
  readonly aborted: boolean;
}

/** Where a batch is computed. */
export interface BatchRunner {
  /**
   * Computes the batch on the calling thread, when the model is cheap enough for that, and
   * returns its outputs; undefined sends the batch to the model's thread instead.
   */
  inline(inputs: readonly WireTensor[], rows: number): WireTensor[] | undefined;
  /** Computes the batch in the model's thread (the inputs' buffers are transferred). */
  thread(inputs: WireTensor[]): Promise<WireTensor[]>;
}

interface Entry {
  inputs: readonly Tensor[];
  rows: number;
  /** Requests whose inputs can share a batch: the same sizes after the batch axis. */
  key: string;
  resolve(outputs: Tensor[]): void;
  reject(error: Error): void;
  signal: Departure | undefined;
  arrived: number;
}

/** Most batches sent to the model's thread at once: a full one may leave while another computes. */
const BATCHES_IN_FLIGHT = 2;

export class Batcher {
  private queue: Entry[] = [];
  private rowsQueued = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private turnEnd: NodeJS.Immediate | undefined;

  constructor(
    private readonly runner: BatchRunner,
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
  submit(inputs: readonly Tensor[], signal?: Departure): Promise<Tensor[]> {
    if (this.queue.length >= this.options.maxQueue)
      return Promise.reject(
        new HttpError(503, `the model's queue is full (${this.options.maxQueue} requests); retry later`, {
          "Retry-After": "1",
        }),
      );
    return new Promise<Tensor[]>((resolve, reject) => {
      const key = inputs.length === 1 ? shapeKey(inputs[0]) : inputs.map(shapeKey).join(",");
      const rows = inputs[0].shape[0];
      this.queue.push({ inputs, rows, key, resolve, reject, signal, arrived: performance.now() });
      this.rowsQueued += rows;
      // The batch closes at the end of this event-loop turn: requests parsed in the same turn join it.
      this.pumpAtTurnEnd();
    });
  }

  private pumpAtTurnEnd(): void {
    this.turnEnd ??= setImmediate(() => {
      this.turnEnd = undefined;
      this.pump();
    });
  }

  private get batching(): boolean {
    return this.batchable && this.options.maxRows > 1;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < BATCHES_IN_FLIGHT) {
      const full = !this.batching || this.rowsQueued >= this.options.maxRows;
      // A partial batch waits while one computes: it would wait behind it in the thread anyway.
      if (this.inFlight > 0 && !full) return;
      if (this.inFlight === 0 && !full && this.options.waitWhenIdle) {
        const waited = performance.now() - this.queue[0].arrived;
        if (waited < this.options.windowMs) {
          this.timer ??= setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, this.options.windowMs - waited);
          return;
        }
      }
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      const batch = this.take();
      if (batch.length > 0 && this.run(batch) && this.queue.length > 0) {
        // It ran on the event loop: the next one waits for the next turn, so that health checks and
        // new requests are read in between (and join it).
        this.pumpAtTurnEnd();
        return;
      }
    }
  }

  /** The oldest live request and those after it that fit with it, up to maxRows; aborted ones are dropped. */
  private take(): Entry[] {
    const batch: Entry[] = [];
    const kept: Entry[] = [];
    let rows = 0;
    for (const e of this.queue) {
      if (e.signal?.aborted === true) this.rowsQueued -= e.rows;
      else if (
        batch.length === 0 ||
        (this.batching && e.key === batch[0].key && rows + e.rows <= this.options.maxRows)
      ) {
        batch.push(e);
        rows += e.rows;
        this.rowsQueued -= e.rows;
      } else kept.push(e);
    }
    this.queue = kept;
    return batch;
  }

  /** Runs the batch; true when it ran on the event loop (it is answered already). */
  private run(batch: Entry[]): boolean {
    const rows = batch.reduce((n, e) => n + e.rows, 0);
    this.onBatch(rows, batch.length);
    const inputs = batch[0].inputs.map((_, i) =>
      batch.length === 1
        ? batch[0].inputs[i]
        : concatRows(
            batch.map((e) => e.inputs[i]),
            rows,
          ),
    );
    let outputs: WireTensor[] | undefined;
    try {
      outputs = this.runner.inline(inputs, rows);
    } catch (e) {
      this.failed(batch, e as Error);
      return true;
    }
    if (outputs !== undefined) {
      split(batch, outputs);
      return true;
    }
    this.inFlight++;
    // A request's own tensors may be views into a larger buffer: the thread gets a copy it can own.
    const sent = batch.length === 1 ? inputs.map(ownCopy) : inputs;
    this.runner
      .thread(sent)
      .then(
        (out) => split(batch, out),
        (error: Error) => this.failed(batch, error),
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
    return false;
  }

  /**
   * A batch that failed: a request the model refused (400) is computed again alone, so that one
   * bad request in a batch does not fail the others; any other error fails them all.
   */
  private failed(batch: Entry[], error: Error): void {
    if (batch.length === 1 || !(error instanceof HttpError) || error.status !== 400) {
      for (const e of batch) e.reject(error);
      return;
    }
    for (const e of batch) this.run([e]);
  }
}

function shapeKey(t: Tensor): string {
  let key = "";
  for (let i = 1; i < t.shape.length; i++) key += `${t.shape[i]}x`;
  return key;
}

/** Each request's own rows of the outputs. */
function split(batch: readonly Entry[], outputs: readonly WireTensor[]): void {
  let start = 0;
  for (const e of batch) {
    e.resolve(outputs.map((o) => rowsOf(o, start, start + e.rows)));
    start += e.rows;
  }
}

/** The tensors' rows, in order, as one new tensor (a fresh buffer: it can be transferred to the thread). */
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

/** `t` with a buffer of its own, unless it already spans all of its buffer. */
function ownCopy(t: WireTensor): WireTensor {
  const whole = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength;
  return whole && t.data.buffer instanceof ArrayBuffer ? t : { shape: t.shape, data: t.data.slice() };
}

function rowsOf(t: WireTensor, start: number, end: number): Tensor {
  if (start === 0 && end === t.shape[0]) return new Tensor(t.shape, t.data);
  const rowSize = sizeOf(t.shape.slice(1));
  return new Tensor([end - start, ...t.shape.slice(1)], t.data.subarray(start * rowSize, end * rowSize));
}
