/**
 * The core WebAssembly kernels (wasm/kernels.ts) of git revision --base against this tree's, side by
 * side in one process (the machine's load then hits both alike): each predict workload's model is
 * loaded once on each module, on one thread, and the two are called in alternation, round by round.
 * Prints each workload's median CPU time per call per module and the median of the paired ratios (after /
 * base; below 1: after is faster) with their quartiles. For changes to wasm/ that bench/ab.ts,
 * a process per run, measures too coarsely on a shared machine.
 *
 *   node --import tsx bench/wasm-ab.ts [--base main] [--after REV] [--rounds 21] [--workloads W2,W3,W4] [--relaxed]
 *   (--after: revision REV's module instead of this tree's; --relaxed: the relaxed-SIMD builds, under Node 22+)
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { WASM_RELAXED_KERNELS_BASE64 } from "../src/kernels/wasm-relaxed-binary.js";
import { WASM_KERNELS_BASE64 } from "../src/kernels/wasm-binary.js";
import { kernelBytes, useKernelModule } from "../src/kernels/wasm.js";
import { loadModel, type Model } from "../src/node.js";
import { benchPath, compareWithKeras, loadWorkloads } from "./lib/spec.js";

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
};
const base = option("--base") ?? "main";
const after = option("--after");
const rounds = Number(option("--rounds") ?? 21);
const only = option("--workloads")?.split(",");
const relaxed = argv.includes("--relaxed");
const features = relaxed ? "relaxed-simd" : "simd128";

/** Revision rev's module (the base64 constant of its committed binary file), or this tree's (null). */
function moduleOf(rev: string | undefined): WebAssembly.Module {
  if (rev === undefined)
    return new WebAssembly.Module(kernelBytes(relaxed ? WASM_RELAXED_KERNELS_BASE64 : WASM_KERNELS_BASE64));
  const file = relaxed ? "src/kernels/wasm-relaxed-binary.ts" : "src/kernels/wasm-binary.ts";
  const text = execFileSync("git", ["show", `${rev}:${file}`], { encoding: "utf8", maxBuffer: 1 << 26 });
  const base64 = /"([a-z0-9+/=]+)"/i.exec(text)?.[1];
  if (base64 === undefined) throw new Error(`no base64 constant in ${rev}:${file}`);
  return new WebAssembly.Module(kernelBytes(base64));
}
const modules = { base: moduleOf(base), tree: moduleOf(after) };
const afterName = after ?? "this tree";

const workloads = loadWorkloads().filter((w) => w.kind === "predict" && (only === undefined || only.includes(w.id)));
const sorted = (v: number[]): number[] => [...v].sort((a, b) => a - b);
const quantile = (v: number[], q: number): number => sorted(v)[Math.round((v.length - 1) * q)];

console.log(`Node ${process.version}, ${rounds} rounds, ${features}: ${afterName} against ${base}, one thread`);
for (const w of workloads) {
  const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
  const load = async (module: WebAssembly.Module): Promise<Model> => {
    useKernelModule(module, features);
    return loadModel(bytes);
  };
  const models = { base: await load(modules.base), tree: await load(modules.tree) };
  const input = { shape: w.tensorShape, data: w.input };
  for (const model of Object.values(models)) {
    const check = compareWithKeras(model.predict(input)[0].data as Float32Array, w.expected);
    if (!check.ok) throw new Error(`${w.id}: ${check.problem ?? "differs from Keras"}`);
  }
  // Calls per sample: about 20 ms of work each, timed in this process' CPU time (one thread: the
  // work itself), which other processes on a loaded machine delay but do not lengthen.
  const time = (model: Model, reps: number): number => {
    const start = process.cpuUsage();
    for (let i = 0; i < reps; i++) model.predict(input);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / reps;
  };
  const reps = Math.max(1, Math.round(20 / Math.max(0.001, time(models.base, 1))));
  for (let i = 0; i < 3; i++) for (const model of Object.values(models)) time(model, reps);
  const times = { base: [] as number[], tree: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    // Alternating which goes first, so neither always follows the other.
    const order = r % 2 === 0 ? (["base", "tree"] as const) : (["tree", "base"] as const);
    for (const side of order) times[side].push(time(models[side], reps));
  }
  const ratios = times.tree.map((t, i) => t / times.base[i]);
  console.log(
    `${w.id} ${w.title}: ${base} ${quantile(times.base, 0.5).toFixed(3)} ms CPU, ${afterName} ` +
      `${quantile(times.tree, 0.5).toFixed(3)} ms; after/base median ${quantile(ratios, 0.5).toFixed(3)} ` +
      `(quartiles ${quantile(ratios, 0.25).toFixed(3)}..${quantile(ratios, 0.75).toFixed(3)})`,
  );
}
process.exit(0);
