/**
 * The calling-thread side of a served model's worker thread: sends jobs, matches replies, and
 * replaces the thread when it dies (the jobs it held are answered with an error, not lost).
 */
import { Worker } from "node:worker_threads";
import type { KernelPath } from "../kernels/wasm.js";
import { workerEntry } from "../node/worker-argv.js";
import type {
  ExecutorJob,
  ExecutorReply,
  ExecutorSetup,
  PredictCost,
  SentError,
  WireTensor,
  WireTensorInfo,
} from "./executor-protocol.js";
import { HttpError } from "./http-error.js";

const WORKER = workerEntry(import.meta.url, "executor-worker");

export interface ModelDescription {
  /** The model's own name (from its file), not the name it is served under. */
  modelName: string;
  inputs: WireTensorInfo[];
  outputs: WireTensorInfo[];
  streamable: boolean;
  /** The kernels the model runs on in its thread: "wasm" (WebAssembly SIMD) or "js". */
  kernelPath: KernelPath;
  /** What a predict cost in the thread, when that does not depend on the request. */
  cost: PredictCost | undefined;
}

type JobWithoutId = ExecutorJob extends infer J ? (J extends { id: number } ? Omit<J, "id"> : never) : never;

interface Pending {
  resolve(reply: ExecutorReply): void;
  reject(error: Error): void;
}

/** A request the model refused (its input), as opposed to a failure of the server. */
function jobError(error: SentError): HttpError {
  return error.code !== undefined && error.code.startsWith("E_INPUT")
    ? new HttpError(400, error.message)
    : new HttpError(500, error.message);
}

export class Executor {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing = false;
  private description: ModelDescription | undefined;
  /** Resolves when the current thread has loaded the model. */
  private loaded: Promise<ModelDescription> | undefined;
  /** How many times the thread was replaced after dying. */
  restarts = 0;

  constructor(
    private readonly setup: ExecutorSetup,
    /** Called after a thread died: the streams it held are gone. */
    private readonly onRestart: () => void,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {}

  /** Starts the thread and waits for the model; rejects with the load error. */
  start(): Promise<ModelDescription> {
    const worker = new Worker(WORKER.file, { execArgv: WORKER.execArgv() });
    this.worker = worker;
    let failure: Error | undefined;
    this.loaded = new Promise<ModelDescription>((resolve, reject) => {
      worker.on("message", (reply: ExecutorReply) => {
        if (reply.kind === "ready") {
          this.description = {
            modelName: reply.name,
            inputs: reply.inputs,
            outputs: reply.outputs,
            streamable: reply.streamable,
            kernelPath: reply.kernelPath,
            cost: reply.cost,
          };
          resolve(this.description);
        } else if (reply.kind === "load-failed") {
          reject(new Error(reply.error.message));
        } else this.receive(reply);
      });
      worker.on("error", (error) => (failure ??= error));
      worker.on("exit", (code) => {
        if (this.worker === worker) this.worker = undefined;
        reject(failure ?? new Error(`the model's worker thread exited with code ${code} while loading`));
        this.failAll(
          this.closing
            ? new HttpError(503, "the server is shutting down")
            : new HttpError(503, `the model's worker thread stopped (${failure?.message ?? `exit code ${code}`})`),
        );
        if (this.closing || this.description === undefined) return;
        this.restarts++;
        this.log("worker thread died; starting a new one", { code, error: failure?.message });
        this.onRestart();
        this.start().catch((e: unknown) => this.log("the new worker thread failed", { error: String(e) }));
      });
    });
    worker.postMessage(this.setup);
    return this.loaded;
  }

  /** The model is loaded in a live thread. */
  get ready(): boolean {
    return this.worker !== undefined && this.description !== undefined && !this.closing;
  }

  /** Sends a job; the reply, or an HttpError (400 for the model refusing the input, 503 when the thread died). */
  async request(job: JobWithoutId, transfer: ArrayBuffer[] = []): Promise<ExecutorReply> {
    if (this.closing) throw new HttpError(503, "the server is shutting down");
    if (this.worker === undefined) await this.loaded;
    const worker = this.worker;
    if (worker === undefined) throw new HttpError(503, "the model's worker thread is restarting; retry");
    const id = this.nextId++;
    return new Promise<ExecutorReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...job, id } as ExecutorJob, transfer);
    });
  }

  async predict(inputs: WireTensor[]): Promise<WireTensor[]> {
    const transfer = [...new Set(inputs.map((t) => t.data.buffer as ArrayBuffer))];
    const reply = await this.request({ kind: "predict", inputs }, transfer);
    if (reply.kind !== "done") throw new Error(`kerasless bug: a predict job got a ${reply.kind} reply`);
    return reply.outputs;
  }

  /** Tests only: the thread's memory in use (heap and array buffers) after a full garbage collection. */
  async memoryInUse(): Promise<number> {
    const reply = await this.request({ kind: "memory" });
    if (reply.kind !== "memory") throw new Error(`kerasless bug: a memory job got a ${reply.kind} reply`);
    return reply.bytes;
  }

  private receive(reply: ExecutorReply): void {
    if (!("id" in reply)) return;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if (reply.kind === "failed") pending.reject(jobError(reply.error));
    else pending.resolve(reply);
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** Jobs sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker?.terminate();
  }
}
