/**
 * Peak memory while loading and predicting a large model (W7's MobileNetV2 by default), each
 * kernel path in a fresh child process:
 *
 *   node --import tsx bench/memory.ts [MODEL_FILE]      (MobileNetV2: bench/python/make_mobilenet.py)
 *
 * A child reads the file, then loads the model and predicts one input twice, and reports:
 * - held: the WebAssembly memories the model's kernels made (summed from the instances: Node's
 *   `external` and `arrayBuffers` count WebAssembly memory in ways that do not add up), and what
 *   ArrayBuffers and the heap grew by, after loading (garbage collected), against the weights;
 * - peak: the process' resident-set high-water mark (getrusage's maxrss) after loading and after
 *   each predict, above the resident set before loading. It includes code, garbage not yet
 *   collected and the allocator's slack, so it is an upper bound of what the model needs.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchPath } from "./lib/spec.js";

const MB = 1024 * 1024;

interface ChildReport {
  path: string;
  fileBytes: number;
  weightBytes: number;
  heldHeap: number;
  /** ArrayBuffers (typed arrays). */
  heldArrays: number;
  /** The WebAssembly memories of the instances made while loading, after loading. */
  heldWasm: number;
  /** The same after the predictions (each kernel keeps its input and output buffers there). */
  wasmAfterPredict: number;
  peakLoad: number;
  peakPredict1: number;
  peakPredict2: number;
}

async function child(file: string, path: "wasm" | "js"): Promise<ChildReport> {
  // Every instance's memory, to sum them after loading.
  const memories: WebAssembly.Memory[] = [];
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    const instance = new Instance(module, imports);
    if (instance.exports.memory instanceof WebAssembly.Memory) memories.push(instance.exports.memory);
    return instance;
  } as unknown as typeof WebAssembly.Instance;
  const { loadModel, setKernelPath } = await import("../src/node.js");
  setKernelPath(path);
  const gc = (globalThis as { gc?: () => void }).gc!;
  const settle = async (): Promise<NodeJS.MemoryUsage> => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return process.memoryUsage();
  };
  const bytes = new Uint8Array(readFileSync(file));
  const before = await settle();
  const peakSince = () => process.resourceUsage().maxRSS * 1024 - before.rss;
  const model = await loadModel(bytes);
  const peakLoad = peakSince();
  const wasmBytes = () => memories.reduce((n, m) => n + m.buffer.byteLength, 0);
  const loaded = await settle();
  const heldWasm = wasmBytes();
  const input = model.inputs[0];
  const shape = input.shape.map((d) => d ?? 1);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
  model.predict({ shape, data });
  const peakPredict1 = peakSince();
  model.predict({ shape, data });
  const peakPredict2 = peakSince();
  const wasmAfterPredict = wasmBytes();
  const weightBytes = model.getWeights().reduce((n, w) => n + w.data.byteLength, 0);
  return {
    path,
    fileBytes: bytes.byteLength,
    weightBytes,
    heldHeap: loaded.heapUsed - before.heapUsed,
    heldArrays: loaded.arrayBuffers - before.arrayBuffers,
    heldWasm,
    wasmAfterPredict,
    peakLoad,
    peakPredict1,
    peakPredict2,
  };
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  process.stdout.write(JSON.stringify(await child(args[1], args[2] as "wasm" | "js")));
} else {
  const file = args[0] ?? benchPath("models/mobilenetv2.h5");
  const self = fileURLToPath(import.meta.url);
  const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;
  console.log(`peak memory of ${file} (Node ${process.version}); MB = 2^20 bytes\n`);
  // One header cell per row cell below (docs/benchmarks.md shows the table without file and weights).
  const header = [
    "kernels",
    "file",
    "weights",
    "held after load: ArrayBuffers + WebAssembly + heap",
    "WebAssembly after 2 predicts",
    "peak RSS above the start: load",
    "1st predict",
    "2nd predict",
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${" --- |".repeat(header.length)}`);
  for (const path of ["wasm", "js"] as const) {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", self, "--child", file, path], {
      encoding: "utf8",
      maxBuffer: 16 * MB,
    });
    const r = JSON.parse(out) as ChildReport;
    const row = [
      r.path,
      mb(r.fileBytes),
      mb(r.weightBytes),
      `${mb(r.heldArrays)} + ${mb(r.heldWasm)} + ${mb(r.heldHeap)}`,
      mb(r.wasmAfterPredict),
      mb(r.peakLoad),
      mb(r.peakPredict1),
      mb(r.peakPredict2),
    ];
    console.log(`| ${row.join(" | ")} |`);
  }
}
