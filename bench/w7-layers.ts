/**
 * Where W7's time goes: MobileNetV2 (bench/models/mobilenetv2.h5, made by
 * bench/python/make_mobilenet.py) predicted on one thread, each layer call timed. The output is
 * checked against Keras' reference first. Prints the median of --rounds predictions per line (with
 * the spread): the whole predict, each layer class summed, then the slowest layers, in
 * bench/kernels.ts' format, so bench/ab.ts can put two revisions side by side:
 *
 *   node --import tsx bench/w7-layers.ts [--rounds 15] [--kernels auto|js] [--models DIR] [--top 12] [--sort min]
 *   node --import tsx bench/ab.ts --base main --runs 5 -- bench/w7-layers.ts --models $PWD/bench/models
 *
 * (--models: bench/ab.ts runs the base revision in a copy without the generated, uncommitted models.)
 * Timing a layer adds two clock reads per call; the "predict" line is timed in separate, untimed
 * rounds.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Graph } from "../src/graph/graph.js";
import type { Layer } from "../src/layers/layer.js";
import { loadModel, setKernelPath, type Model } from "../src/node.js";
import { kernelPath, wasmFeatures } from "../src/kernels/wasm.js";
import { benchPath, compareWithKeras, prngFloats } from "./lib/spec.js";

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ROUNDS = Number(argument("--rounds") ?? 15);
const TOP = Number(argument("--top") ?? 12);
const MODELS = argument("--models") ?? benchPath("models");
setKernelPath((argument("--kernels") ?? "auto") as "auto" | "js");

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** The order of the slowest layers: by median (default) or by fastest round (steadier under load). */
const BY: (values: number[]) => number = argument("--sort") === "min" ? (v) => Math.min(...v) : (v) => median(v);
const line = (name: string, values: number[]): string =>
  `  ${name.padEnd(34)} ${median(values).toFixed(1).padStart(10)} µs  ` +
  `[${Math.min(...values).toFixed(1)} .. ${Math.max(...values).toFixed(1)}]`;

const workloads = JSON.parse(readFileSync(benchPath("workloads.json"), "utf8")) as {
  workloads: { id: string; seed: number }[];
};
const seed = workloads.workloads.find((w) => w.id === "W7")!.seed;
const input = { shape: [1, 224, 224, 3], data: prngFloats(seed, 224 * 224 * 3) };
const reference = JSON.parse(readFileSync(join(MODELS, "mobilenetv2.reference.json"), "utf8")) as {
  outputs: Record<string, { data: number[] }>;
};
const model: Model = await loadModel(new Uint8Array(readFileSync(join(MODELS, "mobilenetv2.h5"))));
const check = compareWithKeras(
  model.predict(input)[0].data as Float32Array,
  Float32Array.from(reference.outputs.W7.data),
);
if (!check.ok) throw new Error(`W7 differs from Keras: ${check.problem}`);

// Per layer, the time of its calls in the current round (in place or not).
const graph = (model as unknown as { graph: Graph }).graph;
const spent = new Map<Layer, number>();
const timed = (layer: Layer): void => {
  for (const method of ["call", "callInto"] as const) {
    const original = layer[method].bind(layer) as (...args: unknown[]) => unknown;
    (layer as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const start = performance.now();
      try {
        return original(...args);
      } finally {
        spent.set(layer, (spent.get(layer) ?? 0) + performance.now() - start);
      }
    };
  }
};

for (let i = 0; i < 3; i++) model.predict(input);
const whole: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const start = performance.now();
  model.predict(input);
  whole.push((performance.now() - start) * 1000);
}
const layers = [...new Set(graph.calls.map((c) => c.layer))];
layers.forEach(timed);
const perLayer = new Map<Layer, number[]>(layers.map((l) => [l, []]));
for (let r = 0; r < ROUNDS; r++) {
  spent.clear();
  model.predict(input);
  for (const layer of layers) perLayer.get(layer)!.push((spent.get(layer) ?? 0) * 1000);
}

const kernels = kernelPath() === "wasm" ? `wasm ${wasmFeatures()}` : "js";
console.log(`W7 MobileNetV2, batch 1, one thread, kernels ${kernels}, ${ROUNDS} rounds; Node ${process.version}`);
console.log(`max |diff| against Keras ${check.maxAbsDiff.toExponential(2)}; median µs [min .. max]`);
console.log("\nwhole predict");
console.log(line("predict", whole));
// Under load single rounds stall at random: the sum of each layer's fastest round is steadier.
const fastest = [...perLayer.values()].reduce((sum, values) => sum + Math.min(...values), 0);
console.log(line("sum of each layer's minimum", [fastest]));
console.log("\nper layer class (summed over its layers)");
const byClass = new Map<string, number[]>();
for (const [layer, values] of perLayer) {
  const sums = byClass.get(layer.className) ?? new Array<number>(ROUNDS).fill(0);
  values.forEach((v, r) => (sums[r] += v));
  byClass.set(layer.className, sums);
}
[...byClass].sort((a, b) => median(b[1]) - median(a[1])).forEach(([name, values]) => console.log(line(name, values)));
console.log(`\nslowest ${TOP} layers`);
[...perLayer]
  .sort((a, b) => BY(b[1]) - BY(a[1]))
  .slice(0, TOP)
  .forEach(([layer, values]) => console.log(line(`${layer.name} (${layer.className})`, values)));
