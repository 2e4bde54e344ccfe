/**
 * kerasless, once per kernel path. Each entry of KERNEL_PATHS becomes its own contender (its own
 * column in the report): a new kernel path is one more entry, with the setKernelPath() value
 * that selects it.
 */
import { readFileSync } from "node:fs";
import { kernelPath, loadModel, setKernelPath, type Model } from "../../src/index.js";
import { benchPath, type Workload } from "../lib/spec.js";
import { stepSlice, type Contender, type Runner } from "./contender.js";

interface KernelPathEntry {
  /** The contender id; "kerasless" is the library's default (ratios are taken against it). */
  id: string;
  select: Parameters<typeof setKernelPath>[0];
}

export const KERNEL_PATHS: readonly KernelPathEntry[] = [
  // What users get: WebAssembly SIMD where the runtime has it, else plain TypeScript.
  { id: "kerasless", select: "auto" },
  // The plain TypeScript kernels (the fallback for runtimes without WebAssembly SIMD).
  { id: "kerasless-js", select: "js" },
];

const KERNEL_NAMES: Record<ReturnType<typeof kernelPath>, string> = {
  wasm: "WebAssembly SIMD (wasm/kernels.ts) for the recurrent cells",
  js: "plain TypeScript (Float32Array loops)",
};

const firstOutput = (outputs: { data: Float32Array | Int32Array }[]): Float32Array => outputs[0].data as Float32Array;

export function kerasless(pathId: string): Contender {
  const path = KERNEL_PATHS.find((p) => p.id === pathId);
  if (path === undefined) throw new Error(`no kerasless kernel path "${pathId}"`);
  // Applies to the models loaded from now on; this process runs only this contender.
  setKernelPath(path.select);
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
    describe: () => ({ kernels: `${KERNEL_NAMES[kernelPath()]} (setKernelPath("${path.select}"))`, threads: 1, api: "loadModel(bytes), model.predict({shape, data}); W5: model.stream({batch}).step({shape, data})" }),

    async prepare(w): Promise<Runner> {
      const input = { shape: [...w.inputShape], data: w.input };
      if (w.kind === "coldload") {
        const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
        const coldPredict = async () => firstOutput((await load(bytes)).predict(input));
        return { check: coldPredict, run: coldPredict };
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
