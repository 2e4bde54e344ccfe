/**
 * Run with --expose-gc (test/stream-alloc.test.ts does): streams STEPS steps through a model
 * after a warm-up and prints how much the heap grew and how many scavenges ran meanwhile.
 * A step that allocates nothing leaves the heap as it was and never triggers a collection.
 */
import { readFileSync } from "node:fs";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { loadModelFromBytes } from "../../src/load.js";
import { Tensor } from "../../src/tensor.js";
import { kernelTeamInternals, setKernelThreads } from "../../src/node/kernel-threads.js";
import { setMinTeamWork } from "../../src/kernels/plan.js";
import "../../src/onnx/index.js";
import "./kernel-path.js";

const [path, stepsArg, threadsArg, splitAll] = process.argv.slice(2);
// With a thread count: the recurrent layers split their steps with kernel worker threads; with
// "split-all" too, every convolution and product call is split, however small.
if (threadsArg !== undefined) await setKernelThreads(Number(threadsArg));
if (splitAll === "split-all") setMinTeamWork(0);
const model = loadModelFromBytes({ name: path, bytes: new Uint8Array(readFileSync(path)) });
if (threadsArg !== undefined) await new Promise((resolve) => setTimeout(resolve, 50));
const stream = model.stream({ batch: 1 });
// One step's input: [batch, features] (an ONNX model's time axis may come first), or a
// convolutional recurrent layer's [batch, ...spatial, channels].
const inner = stream.inputs[0].shape.slice(1) as number[];
const features = inner.reduce((p, d) => p * d, 1);
const x = new Tensor(inner.length === 1 ? [1, features] : [1, ...inner], new Float32Array(features));
const step = (i: number): void => {
  for (let j = 0; j < features; j++) x.data[j] = Math.sin(i + j);
  stream.step(x);
};
/**
 * Steps in runs of 100 (counts are multiples of 100) through one function, for the warm-up and
 * the measured steps alike: V8 then optimizes that function in the warm-up. (A loop of every step
 * in this module's top level was compiled on the stack in the middle of the measured steps, which
 * allocated 170 KB there with LSTM(128) on threads.)
 */
const hundred = (from: number): void => {
  for (let i = from; i < from + 100; i++) step(i);
};
const run = (count: number): void => {
  for (let from = 0; from < count; from += 100) hundred(from);
};
run(Math.min(50000, Number(stepsArg))); // warm-up: first-call allocations and JIT
const gc = (globalThis as { gc?: () => void }).gc!;
gc();
// Only scavenges count: they run when new objects fill the young generation, while V8 may start
// a full collection on its own (its memory reducer does on a busy machine).
let collections = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) collections++;
});
observer.observe({ entryTypes: ["gc"] });
const jobsBefore = kernelTeamInternals()?.jobs ?? 0;
const before = process.memoryUsage().heapUsed;
const steps = Number(stepsArg);
run(steps);
const after = process.memoryUsage().heapUsed;
// Let the observer deliver entries recorded during the loop before reporting.
setTimeout(() => {
  observer.disconnect();
  // Jobs the calling thread handed to the kernel workers meanwhile (0 without a team).
  const jobs = (kernelTeamInternals()?.jobs ?? 0) - jobsBefore;
  console.log(JSON.stringify({ steps, heapGrowthBytes: after - before, collections, jobs }));
  process.exit(0);
}, 50);
