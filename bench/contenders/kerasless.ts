/**
 * kerasless, once per configuration: each entry of KERASLESS_CONTENDERS becomes its own contender
 * (its own column in the report), with the setKernelPath() value that selects its kernels and
 * the threads it uses: batches split over a pool (loadModelPool), and/or sequences split by units
 * (setKernelThreads). A new kernel path is one more entry.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import {
  kernelPath,
  kernelThreads,
  loadModel,
  loadModelPool,
  setKernelPath,
  setKernelThreads,
  type Model,
} from "../../src/node.js";
import { setWasmFeatures, wasmFeatures } from "../../src/kernels/wasm.js";
import { benchPath, type Workload } from "../lib/spec.js";
import { stepSlice, type Contender, type Runner } from "./contender.js";

interface KeraslessConfig {
  /** The contender id; "kerasless" is the library's best configuration (ratios are taken against it). */
  id: string;
  select: Parameters<typeof setKernelPath>[0];
  /** Batches of more than one row go through loadModelPool with threads = cores. */
  pool: boolean;
  /**
   * One-row predictions and streams run with setKernelThreads(cores). (Not with the pool, whose
   * threads already take the cores, nor for the cold load, whose first prediction starts before
   * the workers have the new model.)
   */
  kernelThreads: boolean;
  /** Which file of the workload's model it loads (default: the .keras file). */
  source?: "keras" | "onnx";
  /** The WebAssembly build: "auto" (relaxed SIMD where it runs) or "simd128" (never relaxed). */
  wasm?: "auto" | "simd128";
  /** Run only when named in --contenders (not part of the default run). */
  onRequest?: true;
}

export const KERASLESS_CONTENDERS: readonly KeraslessConfig[] = [
  // What users get at best: WebAssembly SIMD where the runtime has it, and in Node the pool of
  // threads for large batches.
  { id: "kerasless", select: "auto", pool: true, kernelThreads: true },
  // The same kernels on one thread (model.predict).
  { id: "kerasless-1t", select: "auto", pool: false, kernelThreads: false },
  // The plain TypeScript kernels (the fallback for runtimes without WebAssembly SIMD), one thread.
  { id: "kerasless-js", select: "js", pool: false, kernelThreads: false },
  // The same kernels on one thread, from the .onnx file of the same weights (the ONNX front end).
  { id: "kerasless-onnx", select: "auto", pool: false, kernelThreads: false, source: "onnx", onRequest: true },
  // kerasless-onnx with batches split over the pool's threads (loadModelPool on the .onnx file: W3).
  { id: "kerasless-onnx-pool", select: "auto", pool: true, kernelThreads: false, source: "onnx", onRequest: true },
  // kerasless-1t without relaxed SIMD's fused multiply-add: on Node 22+ the difference between
  // the two builds (docs/decisions.md); on Node 20 the same as kerasless-1t.
  { id: "kerasless-simd128", select: "auto", pool: false, kernelThreads: false, wasm: "simd128", onRequest: true },
];

const KERNEL_NAMES: Record<ReturnType<typeof kernelPath>, string> = {
  wasm: "WebAssembly SIMD (wasm/kernels.ts) for the recurrent cells, products and convolutions",
  js: "plain TypeScript (Float32Array loops)",
};

const firstOutput = (outputs: { data: Float32Array | Int32Array }[]): Float32Array => outputs[0].data as Float32Array;

/** Workloads the pooled configuration splits: one predict() of more than one row. */
const pooled = (w: Workload): boolean => w.kind === "predict" && w.batch > 1;

export function kerasless(configId: string): Contender {
  const config = KERASLESS_CONTENDERS.find((p) => p.id === configId);
  if (config === undefined) throw new Error(`no kerasless configuration "${configId}"`);
  // Applies to the models loaded from now on; this process runs only this contender.
  setWasmFeatures(config.wasm ?? "auto");
  setKernelPath(config.select);
  const threads = availableParallelism();
  const load = (bytes: Uint8Array) => loadModel(bytes);
  // Kernel threads apply to models loaded after they start: models are cached per team.
  let team = 0;
  const useKernelThreads = async (on: boolean): Promise<void> => {
    if (kernelThreads() > 1 === on) return;
    await setKernelThreads(on ? threads : 1);
    team++;
  };
  const models = new Map<string, Model>();
  const modelFor = async (w: Workload): Promise<Model> => {
    const key = `${w.model.name}@${team}`;
    let model = models.get(key);
    if (model === undefined) {
      model = await load(
        new Uint8Array(readFileSync(benchPath(config.source === "onnx" ? w.model.onnx : w.model.keras))),
      );
      models.set(key, model);
      // The workers attach the model's memories asynchronously.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return model;
  };
  const threadsUsed =
    config.pool || config.kernelThreads
      ? [
          config.pool
            ? `W3, W4, W8: ${threads} (os.availableParallelism()) through loadModelPool, ` +
              `the calling thread and ${threads - 1} worker(s)`
            : null,
          config.kernelThreads
            ? `W1, W2, W5: ${threads} through setKernelThreads(${threads}), the LSTM split by units ` +
              "(the seed's LSTM(3) is too small to split and runs on one)"
            : null,
          "W6: 1",
          "W7: 1 (the convolutions run on the calling thread)",
        ]
          .filter((x) => x !== null)
          .join("; ")
      : 1;

  return {
    describe: () => ({
      kernels:
        `${KERNEL_NAMES[kernelPath()]} (setKernelPath("${config.select}"))` +
        (kernelPath() === "wasm" ? `, ${wasmFeatures()} build` : ""),
      threads: threadsUsed,
      api: config.pool
        ? "W3, W4, W8: loadModelPool(bytes, {threads}), await pool.predict({shape, data}); " +
          "others: loadModel(bytes), model.predict({shape, data}); W5: model.stream({batch}).step({shape, data})"
        : "loadModel(bytes), model.predict({shape, data}); W5: model.stream({batch}).step({shape, data})",
    }),

    async prepare(w): Promise<Runner> {
      const input = { shape: w.tensorShape, data: w.input };
      await useKernelThreads(config.kernelThreads && !pooled(w) && w.kind !== "coldload");
      if (w.kind === "coldload") {
        const bytes = new Uint8Array(readFileSync(benchPath(config.source === "onnx" ? w.model.onnx : w.model.keras)));
        const coldPredict = async () => firstOutput((await load(bytes)).predict(input));
        return { check: coldPredict, run: coldPredict };
      }
      if (config.pool && pooled(w)) {
        const pool = await loadModelPool(
          new Uint8Array(readFileSync(benchPath(config.source === "onnx" ? w.model.onnx : w.model.keras))),
          { threads },
        );
        // Asynchronous: the harness awaits each call (bench/lib/timing.ts).
        const predict = async () => firstOutput(await pool.predict(input));
        return { check: predict, run: predict, dispose: () => pool.close() };
      }
      const model = await modelFor(w);
      if (w.kind === "stream") {
        const steps = Array.from({ length: w.inputShape[1] }, (_, t) => ({
          shape: [w.batch, w.inputShape[2]],
          data: stepSlice(w, t),
        }));
        const live = model.stream({ batch: w.batch });
        let t = 0;
        return {
          mode: "stream",
          check: async () => {
            const fresh = model.stream({ batch: w.batch });
            let outputs = fresh.step(steps[0]);
            for (let i = 1; i < steps.length; i++) outputs = fresh.step(steps[i]);
            // The stream reuses its output tensors: copy.
            return Float32Array.from(firstOutput(outputs));
          },
          run: () => {
            live.step(steps[t]);
            t = t + 1 === steps.length ? 0 : t + 1;
          },
        };
      }
      const predict = () => firstOutput(model.predict(input));
      return { check: async () => predict(), run: predict };
    },
  };
}
