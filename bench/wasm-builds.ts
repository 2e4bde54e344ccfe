/**
 * The two WebAssembly builds side by side in one process (the machine's load then hits both
 * alike): relaxed SIMD (fused multiply-add; Node 22+) against SIMD128, on the predict workloads,
 * one thread, alternating calls. Prints each workload's median time per build and the median of
 * the paired ratios with its quartiles.
 *
 *   node --import tsx bench/wasm-builds.ts [--rounds N] [--workloads W2,W3]   (under Node 22+)
 */
import { readFileSync } from "node:fs";
import { setWasmFeatures, wasmFeatures } from "../src/kernels/wasm.js";
import { loadModel, type Model } from "../src/node.js";
import { benchPath, compareWithKeras, loadWorkloads } from "./lib/spec.js";

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
};
const rounds = Number(option("--rounds") ?? 21);
const only = option("--workloads")?.split(",");

if (wasmFeatures() !== "relaxed-simd") {
  console.error(`this runtime (Node ${process.version}) has no relaxed SIMD: nothing to compare`);
  process.exit(1);
}
const workloads = loadWorkloads().filter((w) => w.kind === "predict" && (only === undefined || only.includes(w.id)));
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const quantile = (v: number[], q: number): number => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];

console.log(`Node ${process.version}, ${rounds} rounds, relaxed SIMD vs SIMD128, one thread`);
for (const w of workloads) {
  const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
  const load = async (features: "auto" | "simd128"): Promise<Model> => {
    setWasmFeatures(features);
    const model = await loadModel(bytes);
    setWasmFeatures("auto");
    return model;
  };
  const models = { relaxed: await load("auto"), simd128: await load("simd128") };
  const input = { shape: w.tensorShape, data: w.input };
  for (const model of Object.values(models)) {
    const check = compareWithKeras(model.predict(input)[0].data as Float32Array, w.expected);
    if (!check.ok) throw new Error(`${w.id}: ${check.problem ?? "differs from Keras"}`);
  }
  // Calls per sample: about 20 ms of work each.
  const time = (model: Model, reps: number): number => {
    const start = performance.now();
    for (let i = 0; i < reps; i++) model.predict(input);
    return (performance.now() - start) / reps;
  };
  const reps = Math.max(1, Math.round(20 / Math.max(0.001, time(models.simd128, 1))));
  for (let i = 0; i < 3; i++) for (const model of Object.values(models)) time(model, reps);
  const relaxed: number[] = [];
  const simd128: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternating which goes first, so neither always follows the other.
    if (r % 2 === 0) {
      relaxed.push(time(models.relaxed, reps));
      simd128.push(time(models.simd128, reps));
    } else {
      simd128.push(time(models.simd128, reps));
      relaxed.push(time(models.relaxed, reps));
    }
  }
  const ratios = relaxed.map((t, i) => t / simd128[i]);
  console.log(
    `${w.id} ${w.title}: relaxed ${median(relaxed).toFixed(3)} ms, SIMD128 ${median(simd128).toFixed(3)} ms; ` +
      `relaxed/SIMD128 median ${median(ratios).toFixed(3)} (quartiles ${quantile(ratios, 0.25).toFixed(3)}` +
      `..${quantile(ratios, 0.75).toFixed(3)})`,
  );
}
process.exit(0);
