/**
 * Node's kernel team: worker threads that run split recurrent sequences with the calling thread
 * (see KernelTeam in kernels/wasm.ts). The workers wait on a small shared control block that names
 * a job record in a shared WebAssembly memory (wasm/recurrent.ts Job); the threads meet at barriers
 * in WebAssembly.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { KeraslessError } from "../errors.js";
import { WASM_THREADS_KERNELS_BASE64 } from "../kernels/wasm-threads-binary.js";
import { WASM_THREADS_RELAXED_KERNELS_BASE64 } from "../kernels/wasm-threads-relaxed-binary.js";
import { WASM_RELAXED_KERNELS_BASE64 } from "../kernels/wasm-relaxed-binary.js";
import { WASM_CONV_RELAXED_KERNELS_BASE64 } from "../kernels/wasm-conv-relaxed-binary.js";
import {
  kernelBytes,
  kernelPath,
  provideRelaxedBuild,
  setKernelTeam,
  wasmFeatures,
  type KernelTeam,
} from "../kernels/wasm.js";
import { CONTROL, type WorkerData, type WorkerMessage } from "./kernel-threads-protocol.js";

// Node 22+ runs relaxed SIMD: the Node entry carries those builds (the browser bundles do not).
provideRelaxedBuild(WASM_RELAXED_KERNELS_BASE64, "core");
provideRelaxedBuild(WASM_CONV_RELAXED_KERNELS_BASE64, "conv");

class NodeKernelTeam implements KernelTeam {
  private readonly readyCounts = new Map<number, number>();
  private nextId = 1;
  private stopped = false;

  private constructor(
    readonly size: number,
    readonly module: WebAssembly.Module,
    private readonly control: Int32Array,
    private readonly workers: Worker[],
  ) {}

  get workerList(): readonly Worker[] {
    return this.workers;
  }

  static async start(size: number): Promise<NodeKernelTeam> {
    // The same instruction set as the calling thread's kernels (relaxed SIMD where it runs).
    const base64 =
      wasmFeatures() === "relaxed-simd" ? WASM_THREADS_RELAXED_KERNELS_BASE64 : WASM_THREADS_KERNELS_BASE64;
    const module = new WebAssembly.Module(kernelBytes(base64));
    const control = new Int32Array(new SharedArrayBuffer(CONTROL.SIZE * 4));
    const workers: Worker[] = [];
    const team = new NodeKernelTeam(size, module, control, workers);
    const started = [];
    for (let index = 1; index < size; index++) {
      const workerData: WorkerData = { module, control, index, layout: CONTROL };
      // Plain JavaScript that imports only node: modules: no loader options needed (and Node
      // refuses some of the caller's, e.g. --expose-gc or --input-type).
      const worker = new Worker(new URL("./kernel-threads-worker.js", import.meta.url), { workerData, execArgv: [] });
      workers.push(worker);
      started.push(
        new Promise<void>((resolve, reject) => {
          worker.on("message", (message: WorkerMessage) => {
            if (message.type === "started") resolve();
            else if (message.type === "attached")
              team.readyCounts.set(message.id, (team.readyCounts.get(message.id) ?? 0) + 1);
          });
          worker.once("error", (error) => {
            team.fail();
            reject(
              new KeraslessError("E_THREADS", `kernel thread ${index} failed: ${error.message}`, { cause: error }),
            );
          });
          worker.once("exit", () => team.fail());
        }),
      );
    }
    try {
      await Promise.all(started);
    } catch (error) {
      await team.stop();
      throw error;
    }
    // Workers never keep the process alive (the calling thread waits for them in predict() itself).
    for (const worker of workers) worker.unref();
    return team;
  }

  attach(memory: WebAssembly.Memory): number {
    const id = this.nextId++;
    if (this.stopped) return id;
    this.readyCounts.set(id, 0);
    for (const worker of this.workers) worker.postMessage({ type: "attach", id, memory });
    return id;
  }

  ready(id: number): number {
    return this.stopped ? 0 : (this.readyCounts.get(id) ?? 0);
  }

  /** Jobs dispatched so far (for tests and diagnostics). */
  jobs = 0;

  dispatch(id: number, job: number, threads: number, counter: number): void {
    this.jobs++;
    const control = this.control;
    control[CONTROL.MEMORY] = id;
    control[CONTROL.JOB] = job;
    control[CONTROL.THREADS] = threads;
    control[CONTROL.COUNTER] = counter;
    Atomics.add(control, CONTROL.SEQUENCE, 1);
    Atomics.notify(control, CONTROL.SEQUENCE);
  }

  detach(id: number): void {
    this.readyCounts.delete(id);
    if (this.stopped) return;
    for (const worker of this.workers) worker.postMessage({ type: "detach", id });
  }

  /** A worker is gone: sequences run on the calling thread alone from now on. */
  fail(): void {
    this.stopped = true;
    this.readyCounts.clear();
  }

  async stop(): Promise<void> {
    this.fail();
    Atomics.store(this.control, CONTROL.STOP, 1);
    Atomics.add(this.control, CONTROL.SEQUENCE, 1);
    Atomics.notify(this.control, CONTROL.SEQUENCE);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

let current: NodeKernelTeam | null = null;

/**
 * Runs the recurrent kernels of models loaded from now on on `threads` threads (default: the
 * machine's cores; 1 stops the extra threads). A sequence is split by units: every thread computes
 * its share of each step, and the threads meet after every step, so `predict()` stays synchronous
 * and the weights are held once, in memory the threads share. Used on the WebAssembly kernel path
 * for LSTM and GRU cells with enough work per step (about 16k multiply-adds); other cells and
 * small models run on the calling thread as before. Workers spin for a moment after each
 * sequence (the next one often follows at once), then sleep. Resolves to the thread count.
 */
export async function setKernelThreads(threads: number = availableParallelism()): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new KeraslessError("E_THREADS", `threads must be an integer from 1 to 256, got ${String(threads)}`);
  }
  const previous = current;
  current = null;
  setKernelTeam(null);
  await previous?.stop();
  if (threads === 1) return 1;
  if (kernelPath() !== "wasm")
    throw new KeraslessError("E_THREADS", "kernel threads need the WebAssembly kernel path (setKernelPath)");
  current = await NodeKernelTeam.start(threads);
  setKernelTeam(current);
  return threads;
}

/** @internal The running team's size, jobs dispatched and workers (tests). */
export function kernelTeamInternals(): { size: number; jobs: number; workers: readonly Worker[] } | null {
  return current === null ? null : { size: current.size, jobs: current.jobs, workers: current.workerList };
}
