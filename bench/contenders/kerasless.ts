/**
 * kerasless, once per configuration: each entry of KERASLESS_CONTENDERS becomes its own contender
 * (its own column in the report), with the setKernelPath() value that selects its kernels and
 * whether it splits batches over threads (loadModelPool). A new kernel path is one more entry.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { kernelPath, loadModel, loadModelPool, setKernelPath, type Model } from "../../src/node.js";
import { benchPath, type Workload } from "../lib/spec.js";
import { stepSlice, type Contender, type Runner } from "./contender.js";

interface KeraslessConfig {
  /** The contender id; "kerasless" is the library's best configuration (ratios are taken against it). */
  id: string;
  select: Parameters<typeof setKernelPath>[0];
  /** Batches of more than one row go through loadModelPool with threads = cores. */
  pool: boolean;
}

export const KERASLESS_CONTENDERS: readonly KeraslessConfig[] = [
  // What users get at best: WebAssembly SIMD where the runtime has it, and in Node the pool of
  // threads for large batches.
  { id: "kerasless", select: "auto", pool: true },
  // The same kernels on one thread (model.predict).
  { id: "kerasless-1t", select: "auto", pool: false },
  // The plain TypeScript kernels (the fallback for runtimes without WebAssembly SIMD), one thread.
  { id: "kerasless-js", select: "js", pool: false },
];

const KERNEL_NAMES: Record<ReturnType<typeof kernelPath>, string> = {
  wasm: "WebAssembly SIMD (wasm/kernels.ts) for the recurrent cells",
  js: "plain TypeScript (Float32Array loops)",
};

const firstOutput = (outputs: { data: Float32Array | Int32Array }[]): Float32Array => outputs[0].data as Float32Array;

/** Workloads the pooled configuration splits: one predict() of more than one row. */
const pooled = (w: Workload): boolean => w.kind === "predict" && w.batch > 1;

export function kerasless(configId: string): Contender {
  const config = KERASLESS_CONTENDERS.find((p) => p.id === configId);
  if (config === undefined) throw new Error(`no kerasless configuration "${configId}"`);
  // Applies to the models loaded from now on; this process runs only this contender.
  setKernelPath(config.select);
  const threads = availableParallelism();
  const load = (bytes: Uint8Array) => loadModel(bytes);
  const models = new Map<string, Model>();
  const modelFor = async (w: Workload): Promise<Model> => {
    let model = models.get(w.model.name);
    if (model === undefined) {
      model = await load(new Uint8Array(readFileSync(benchPath(w.model.keras))));
      models.set(w.model.name, model);
    }
    return model;
  };

  return {
    describe: () => ({
      kernels: `${KERNEL_NAMES[kernelPath()]} (setKernelPath("${config.select}"))`,
      threads: config.pool ? `${threads} (os.availableParallelism()) for W3, W4 through loadModelPool: the calling thread and ${threads - 1} worker thread(s); 1 for W1, W2, W5, W6` : 1,
      api: config.pool
        ? "W3, W4: loadModelPool(bytes, {threads}), await pool.predict({shape, data}); others: loadModel(bytes), model.predict({shape, data}); W5: model.stream({batch}).step({shape, data})"
        : "loadModel(bytes), model.predict({shape, data}); W5: model.stream({batch}).step({shape, data})",
    }),

    async prepare(w): Promise<Runner> {
      const input = { shape: [...w.inputShape], data: w.input };
      if (w.kind === "coldload") {
        const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
        const coldPredict = async () => firstOutput((await load(bytes)).predict(input));
        return { check: coldPredict, run: coldPredict };
      }
      if (config.pool && pooled(w)) {
        const pool = await loadModelPool(new Uint8Array(readFileSync(benchPath(w.model.keras))), { threads });
        // Asynchronous: the harness awaits each call (bench/lib/timing.ts).
        const predict = async () => firstOutput(await pool.predict(input));
        return { check: predict, run: predict, dispose: () => pool.close() };
      }
      const model = await modelFor(w);
      if (w.kind === "stream") {
        const steps = Array.from({ length: w.inputShape[1] }, (_, t) => ({ shape: [w.batch, w.inputShape[2]], data: stepSlice(w, t) }));
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
