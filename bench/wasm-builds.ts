/**
 * Two builds of the core WebAssembly kernels side by side in one process (the machine's load then
 * hits both alike), on the predict workloads, one thread, alternating calls. Either relaxed SIMD
 * (fused multiply-add; Node 22+) against SIMD128, or, with --base REV, this tree's kernels against
 * those git revision REV committed (SIMD128; with --relaxed, both relaxed SIMD), for a change to
 * wasm/ (bench/ab.ts, a process per run, measures too coarsely on a shared machine). Each call is
 * timed in this process' CPU time, which other processes on a loaded machine delay but do not
 * lengthen. Prints each workload's median time per build and the median of the paired ratios
 * (first/second: below 1, the first is faster) with their quartiles.
 *
 *   node --import tsx bench/wasm-builds.ts [--rounds N] [--workloads W2,W3]   (under Node 22+)
 *   node --import tsx bench/wasm-builds.ts --base main [--relaxed] [--rounds N] [--workloads W3,W4]
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { WASM_KERNELS_BASE64 } from "../src/kernels/wasm-binary.js";
import { WASM_RELAXED_KERNELS_BASE64 } from "../src/kernels/wasm-relaxed-binary.js";
import { kernelBytes, setWasmFeatures, useKernelModule, wasmFeatures } from "../src/kernels/wasm.js";
import { loadModel, type Model } from "../src/node.js";
import { benchPath, compareWithKeras, loadWorkloads } from "./lib/spec.js";

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
};
const rounds = Number(option("--rounds") ?? 21);
const only = option("--workloads")?.split(",");
const base = option("--base");
const relaxed = base === undefined || argv.includes("--relaxed");

if (relaxed && wasmFeatures() !== "relaxed-simd") {
  console.error(`this runtime (Node ${process.version}) has no relaxed SIMD: nothing to compare`);
  process.exit(1);
}

/** The core kernels this tree has, or revision rev committed (the base64 constant of its binary file). */
function kernels(rev: string | null): WebAssembly.Module {
  if (rev === null)
    return new WebAssembly.Module(kernelBytes(relaxed ? WASM_RELAXED_KERNELS_BASE64 : WASM_KERNELS_BASE64));
  const file = relaxed ? "src/kernels/wasm-relaxed-binary.ts" : "src/kernels/wasm-binary.ts";
  const base64 = /"([a-z0-9+/=]+)"/i.exec(execFileSync("git", ["show", `${rev}:${file}`], { encoding: "utf8" }))?.[1];
  if (base64 === undefined) throw new Error(`no kernels in ${rev}:${file}`);
  return new WebAssembly.Module(kernelBytes(base64));
}

/** The two builds: loads a model on each. */
type Builds = Record<string, (bytes: Uint8Array) => Promise<Model>>;
const features = relaxed ? "relaxed-simd" : "simd128";
const onModule = (module: WebAssembly.Module) => (bytes: Uint8Array) => {
  useKernelModule(module, features);
  return loadModel(bytes);
};
const onFeatures = (which: "auto" | "simd128") => async (bytes: Uint8Array) => {
  setWasmFeatures(which);
  const model = await loadModel(bytes);
  setWasmFeatures("auto");
  return model;
};
const builds: Builds =
  base === undefined
    ? { relaxed: onFeatures("auto"), simd128: onFeatures("simd128") }
    : { "this tree": onModule(kernels(null)), [base]: onModule(kernels(base)) };
const [first, second] = Object.keys(builds);

const workloads = loadWorkloads().filter((w) => w.kind === "predict" && (only === undefined || only.includes(w.id)));
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const quantile = (v: number[], q: number): number => [...v].sort((a, b) => a - b)[Math.round((v.length - 1) * q)];

console.log(`Node ${process.version}, ${rounds} rounds, ${first} vs ${second} (${features}), one thread, CPU time`);
for (const w of workloads) {
  const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
  const models = [await builds[first](bytes), await builds[second](bytes)];
  const input = { shape: w.tensorShape, data: w.input };
  for (const model of models) {
    const check = compareWithKeras(model.predict(input)[0].data as Float32Array, w.expected);
    if (!check.ok) throw new Error(`${w.id}: ${check.problem ?? "differs from Keras"}`);
  }
  // Calls per sample: about 20 ms of work each.
  const time = (model: Model, reps: number): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < reps; i++) model.predict(input);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / reps;
  };
  const reps = Math.max(1, Math.round(20 / Math.max(0.001, time(models[1], 1))));
  for (let i = 0; i < 3; i++) for (const model of models) time(model, reps);
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    // Alternating which goes first, so neither always follows the other.
    for (const side of r % 2 === 0 ? [0, 1] : [1, 0]) times[side].push(time(models[side], reps));
  }
  const ratios = times[0].map((t, i) => t / times[1][i]);
  console.log(
    `${w.id} ${w.title}: ${first} ${median(times[0]).toFixed(3)} ms, ${second} ${median(times[1]).toFixed(3)} ms; ` +
      `${first}/${second} median ${median(ratios).toFixed(3)} (quartiles ${quantile(ratios, 0.25).toFixed(3)}` +
      `..${quantile(ratios, 0.75).toFixed(3)})`,
  );
}
process.exit(0);
