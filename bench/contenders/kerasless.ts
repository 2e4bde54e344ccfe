/**
 * kerasless, once per kernel path. Each entry of KERNEL_PATHS becomes its own contender (its own
 * column in the report): when a new kernel path exists (e.g. WebAssembly SIMD), add one entry
 * whose `load` selects it.
 */
import { readFileSync } from "node:fs";
import { loadModel, type Model } from "../../src/index.js";
import { benchPath, type Workload } from "../lib/spec.js";
import { stepSlice, type Contender, type Runner } from "./contender.js";

interface KernelPath {
  /** The contender id; "kerasless" is the library's default path (ratios are taken against it). */
  id: string;
  kernels: string;
  load(bytes: Uint8Array): Promise<Model>;
}

export const KERNEL_PATHS: readonly KernelPath[] = [
  { id: "kerasless", kernels: "plain TypeScript (Float32Array loops; the only kernel path so far)", load: (bytes) => loadModel(bytes) },
];

/** model.stream() as the lead specified it: stream.step(x_t) with x_t of shape [batch, features]. */
interface Stream {
  step(input: { shape: number[]; data: Float32Array }): unknown;
}
type Streamable = Model & { stream?: () => Stream };

/** The first output's values, whether a call returns one tensor or a list of them. */
function firstOutput(result: unknown): Float32Array {
  const tensor = Array.isArray(result) ? result[0] : result;
  return (tensor as { data: Float32Array }).data;
}

export function kerasless(pathId: string): Contender {
  const path = KERNEL_PATHS.find((p) => p.id === pathId);
  if (path === undefined) throw new Error(`no kerasless kernel path "${pathId}"`);
  const models = new Map<string, Model>();
  const modelFor = async (w: Workload): Promise<Model> => {
    let model = models.get(w.model.name);
    if (model === undefined) {
      model = await path.load(new Uint8Array(readFileSync(benchPath(w.model.keras))));
      models.set(w.model.name, model);
    }
    return model;
  };

  return {
    describe: () => ({ kernels: path.kernels, threads: 1, api: "loadModel(bytes), model.predict({shape, data}); W5: model.stream().step() when the model has it" }),

    async prepare(w): Promise<Runner> {
      const input = { shape: [...w.inputShape], data: w.input };
      if (w.kind === "coldload") {
        const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
        const coldPredict = async () => firstOutput((await path.load(bytes)).predict(input));
        return { check: coldPredict, run: coldPredict };
      }
      const model = (await modelFor(w)) as Streamable;
      if (w.kind === "stream" && typeof model.stream === "function") {
        const steps = Array.from({ length: w.inputShape[1] }, (_, t) => ({ shape: [w.batch, w.inputShape[2]], data: stepSlice(w, t) }));
        const live = model.stream();
        let t = 0;
        return {
          mode: "stream",
          check: async () => {
            const fresh = model.stream!();
            let out: unknown;
            for (const x of steps) out = fresh.step(x);
            return Float32Array.from(firstOutput(out));
          },
          run: () => {
            live.step(steps[t]);
            t = t + 1 === steps.length ? 0 : t + 1;
          },
        };
      }
      const predict = () => firstOutput(model.predict(input));
      return {
        ...(w.kind === "stream" ? { mode: "window" as const, note: "model.stream() is not in this kerasless yet: re-runs the 50-step window" } : {}),
        check: async () => predict(),
        run: predict,
      };
    },
  };
}
