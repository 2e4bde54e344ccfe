/**
 * Run with --expose-gc (test/stream-alloc.test.ts does): streams STEPS steps through a model
 * after a warm-up and prints how much the heap grew and how many scavenges ran meanwhile.
 * A step that allocates nothing leaves the heap as it was and never triggers a collection.
 */
import { readFileSync } from "node:fs";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { loadModelFromBytes } from "../../src/load.js";
import { Tensor } from "../../src/tensor.js";
import { setKernelThreads } from "../../src/node/kernel-threads.js";
import "../../src/onnx/index.js";
import "./kernel-path.js";

const [path, stepsArg, threadsArg] = process.argv.slice(2);
// With a thread count: the recurrent layers split their steps with kernel worker threads.
if (threadsArg !== undefined) await setKernelThreads(Number(threadsArg));
const model = loadModelFromBytes({ name: path, bytes: new Uint8Array(readFileSync(path)) });
if (threadsArg !== undefined) await new Promise((resolve) => setTimeout(resolve, 50));
const stream = model.stream({ batch: 1 });
// One step's input: [batch, features] (an ONNX model's time axis may come first).
const features = stream.inputs[0].shape[1] as number;
const x = new Tensor([1, features], new Float32Array(features));
const step = (i: number): void => {
  for (let j = 0; j < features; j++) x.data[j] = Math.sin(i + j);
  stream.step(x);
};
for (let i = 0; i < Math.min(50000, Number(stepsArg)); i++) step(i); // warm-up: first-call allocations and JIT
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
const before = process.memoryUsage().heapUsed;
const steps = Number(stepsArg);
for (let i = 0; i < steps; i++) step(i);
const after = process.memoryUsage().heapUsed;
// Let the observer deliver entries recorded during the loop before reporting.
setTimeout(() => {
  observer.disconnect();
  console.log(JSON.stringify({ steps, heapGrowthBytes: after - before, collections }));
  process.exit(0);
}, 50);
