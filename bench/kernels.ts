/**
 * Micro-benchmark of the layer kernels, old and new side by side in one process: Dense, Conv1D,
 * Conv1DTranspose and the attention projections, before src/kernels/gemm and src/kernels/conv
 * (bench/lib/kernels-before.ts) and after, on every backend. Variants are interleaved round by
 * round (the machine is shared and noisy); each round times a batch of calls lasting ~20 ms.
 * Every variant's output is checked against the first one's before timing.
 *
 *   node --import tsx bench/kernels.ts [--rounds 9] [--only gemm|dense|conv|transpose|attention|depthwise]
 */
import { getActivation, type Activation } from "../src/kernels/activations.js";
import { gemm } from "../src/kernels/gemm/typescript.js";
import { chooseGemmBackend, planProduct, type GemmBackend } from "../src/kernels/gemm/index.js";
import { convBackends, convOutputSize, depthwiseBackends, kerasPads } from "../src/kernels/conv/index.js";
import {
  planConvolution,
  planTransposedConvolution,
  type ConvCall,
  type ConvShape,
} from "../src/kernels/conv/index.js";
import { kernelModule, kernelPath } from "../src/kernels/wasm.js";
import { MemoryPlacer } from "../src/kernels/wasm-memory.js";
import { conv1dBefore, conv1dTransposeBefore } from "./lib/kernels-before.js";

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ROUNDS = Number(argument("--rounds") ?? 9);
const ONLY = argument("--only");

const random = (n: number, seed: number): Float32Array => {
  let state = seed;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1103515245) + 12345) | 0;
    return ((state >>> 8) / 2 ** 24) * 2 - 1;
  });
};

interface Variant {
  name: string;
  run: () => void;
  output: Float32Array;
}

/** Calls per timed batch so that one batch lasts about `ms`. */
function calibrate(run: () => void, ms = 20): number {
  let reps = 1;
  for (;;) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) run();
    const took = performance.now() - start;
    if (took >= ms / 4) return Math.max(1, Math.round((reps * ms) / took));
    reps *= 4;
  }
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function compare(title: string, variants: Variant[]): void {
  const reference = variants[0];
  for (const v of variants) {
    reference.run();
    v.run();
    for (let i = 0; i < reference.output.length; i++) {
      const [got, want] = [v.output[i], reference.output[i]];
      if (!(Math.abs(got - want) <= 1e-4 + 1e-4 * Math.abs(want)))
        throw new Error(`${title}: ${v.name} differs at ${i}: ${got} vs ${want}`);
    }
  }
  const reps = variants.map((v) => calibrate(v.run));
  const times: number[][] = variants.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    variants.forEach((v, i) => {
      const start = performance.now();
      for (let r = 0; r < reps[i]; r++) v.run();
      times[i].push(((performance.now() - start) * 1000) / reps[i]);
    });
  }
  const base = median(times[0]);
  console.log(`\n${title}`);
  variants.forEach((v, i) => {
    const m = median(times[i]);
    const [lo, hi] = [Math.min(...times[i]), Math.max(...times[i])];
    const ratio = i === 0 ? "" : `  x${(base / m).toFixed(2)} vs ${variants[0].name}`;
    console.log(
      `  ${v.name.padEnd(22)} ${m.toFixed(2).padStart(10)} µs  [${lo.toFixed(2)} .. ${hi.toFixed(2)}]${ratio}`,
    );
  });
}

/**
 * The matrix product's own kernels, called directly (no copies, no epilogue): the TypeScript one
 * and wasm/gemm.ts' on operands already in its instance's memory. rows 1 is what batch-1 heads and
 * streaming steps run, an odd count reaches the row tails, many rows the tiles.
 */
function gemmKernels(rows: number, inner: number, cols: number): void {
  const a = random(rows * inner, 16);
  const b = random(inner * cols, 17);
  const bias = random(cols, 18);
  const out = new Float32Array(rows * cols);
  const variants: Variant[] = [
    {
      name: "typescript",
      output: out,
      run: () => gemm(a, 0, inner, b, 0, cols, out, 0, cols, rows, inner, cols, bias, false),
    },
  ];
  const module = kernelModule();
  if (module !== null) {
    type Exports = { memory: WebAssembly.Memory; gemm(...args: number[]): void };
    const wasm = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    const placer = new MemoryPlacer(wasm.memory, 64);
    const [ap, bp, biasPtr] = [placer.place(a), placer.place(b), placer.place(bias)];
    const cp = placer.place(new Float32Array(rows * cols));
    const output = new Float32Array(wasm.memory.buffer, cp, rows * cols);
    variants.push({
      name: "wasm",
      output,
      run: () => wasm.gemm(ap, inner, bp, cols, cp, cols, rows, inner, cols, biasPtr, 0),
    });
  }
  compare(`GEMM ${rows}x${inner} · ${inner}x${cols}`, variants);
}

function dense(batch: number, inner: number, units: number, activation: string): void {
  const act = getActivation(activation, 3)!;
  const x = random(batch * inner, 1);
  const w = random(inner * units, 2);
  const bias = random(units, 3);
  const variants: Variant[] = [];
  // Before: the product, then the activation over the whole output (core.ts at 88d88a3).
  const before = new Float32Array(batch * units);
  variants.push({
    name: "before (ts, then act)",
    output: before,
    run: () => {
      gemm(x, 0, inner, w, 0, units, before, 0, units, batch, inner, units, bias, false);
      act.apply(before, 0, before, 0, batch, units);
    },
  });
  for (const backend of ["typescript", "wasm"] as GemmBackend[]) {
    if (backend === "wasm" && kernelPath() !== "wasm") continue;
    const out = new Float32Array(batch * units);
    const plan = planProduct(w, bias, act, inner, units, { backend, reason: "bench" });
    variants.push({ name: `after ${backend}`, output: out, run: () => plan.run(x, 0, batch, out, 0) });
  }
  const chosen = chooseGemmBackend(inner, units).backend;
  compare(`Dense ${inner}->${units} ${activation}, batch ${batch} (chosen: ${chosen})`, variants);
}

interface Conv1DCase {
  batch: number;
  length: number;
  cin: number;
  f: number;
  k: number;
  s: number;
  d: number;
  groups: number;
  padding: "valid" | "same" | "causal";
}

function conv1d(o: Conv1DCase): void {
  const kernel = random(o.k * (o.cin / o.groups) * o.f, 4);
  const bias = random(o.f, 5);
  const x = random(o.batch * o.length * o.cin, 6);
  const pads = kerasPads(o.padding, o.length, o.k, o.s, o.d);
  const outLength = convOutputSize(o.length, o.k, o.s, o.d, pads.begin, pads.end);
  const shape: ConvShape = {
    kernel: [o.k],
    strides: [o.s],
    dilations: [o.d],
    groups: o.groups,
    inChannels: o.cin,
    outChannels: o.f,
  };
  const call: ConvCall = { batch: o.batch, input: [o.length], output: [outLength], padsBegin: [pads.begin] };
  const size = o.batch * outLength * o.f;
  const before = new Float32Array(size);
  const variants: Variant[] = [
    { name: "before", output: before, run: () => conv1dBefore(x, kernel, bias, o, outLength, pads.begin, before) },
  ];
  for (const backend of convBackends()) {
    const out = new Float32Array(size);
    const plan = planConvolution(shape, kernel, bias, null, { backend, reason: "bench" });
    variants.push({ name: `after ${backend}`, output: out, run: () => plan.run(x, call, out) });
  }
  const chosen = planConvolution(shape, kernel, bias, null).backend;
  const what = `k${o.k} s${o.s} d${o.d} g${o.groups} ${o.padding}`;
  compare(`Conv1D ${o.cin}->${o.f} ${what}, batch ${o.batch} x ${o.length} (chosen: ${chosen})`, variants);
}

function conv1dTranspose(o: { batch: number; length: number; cin: number; f: number; k: number; s: number }): void {
  const kernel = random(o.k * o.f * o.cin, 7);
  const bias = random(o.f, 8);
  const x = random(o.batch * o.length * o.cin, 9);
  const outLength = o.length * o.s; // "same", output_padding None
  const padLeft = Math.floor(Math.max((o.length - 1) * o.s + o.k - outLength, 0) / 2);
  const shape: ConvShape = {
    kernel: [o.k],
    strides: [o.s],
    dilations: [1],
    groups: 1,
    inChannels: o.cin,
    outChannels: o.f,
  };
  const call: ConvCall = { batch: o.batch, input: [o.length], output: [outLength], padsBegin: [padLeft] };
  const before = new Float32Array(o.batch * outLength * o.f);
  const after = new Float32Array(o.batch * outLength * o.f);
  const plan = planTransposedConvolution(shape, kernel, bias, null);
  compare(`Conv1DTranspose ${o.cin}->${o.f} k${o.k} s${o.s} same, batch ${o.batch} x ${o.length}`, [
    {
      name: "before",
      output: before,
      run: () => conv1dTransposeBefore(x, kernel, bias, o, outLength, padLeft, before),
    },
    { name: "after shifted", output: after, run: () => plan.run(x, call, after) },
  ]);
}

/**
 * A 3x3 depthwise convolution of MobileNetV2 ("same", stride s, batch 1): the grouped ways
 * (one group per channel) against the depthwise ones.
 */
function depthwise2d(size: number, channels: number, stride: number): void {
  const shape: ConvShape = {
    kernel: [3, 3],
    strides: [stride, stride],
    dilations: [1, 1],
    groups: channels,
    inChannels: channels,
    outChannels: channels,
  };
  const pads = kerasPads("same", size, 3, stride, 1);
  const out = convOutputSize(size, 3, stride, 1, pads.begin, pads.end);
  const call: ConvCall = { batch: 1, input: [size, size], output: [out, out], padsBegin: [pads.begin, pads.begin] };
  const kernel = random(9 * channels, 13);
  const bias = random(channels, 14);
  const x = random(size * size * channels, 15);
  const variants: Variant[] = [...convBackends(), ...depthwiseBackends()].map((backend) => {
    const output = new Float32Array(out * out * channels);
    const plan = planConvolution(shape, kernel, bias, null, { backend, reason: "bench" });
    return { name: backend, output, run: () => plan.run(x, call, output) };
  });
  const chosen = planConvolution(shape, kernel, bias, null).backend;
  compare(`DepthwiseConv2D 3x3 s${stride} same, ${size}x${size}x${channels} (chosen: ${chosen})`, variants);
}

/** MultiHeadAttention's query/key/value projections: [rows, dim] · [dim, heads·keyDim]. */
function attentionProjection(batch: number, steps: number, dim: number, heads: number, keyDim: number): void {
  const identity: Activation | null = null;
  const rows = batch * steps;
  const width = heads * keyDim;
  const x = random(rows * dim, 10);
  const w = random(dim * width, 11);
  const bias = random(width, 12);
  const before = new Float32Array(rows * width);
  const variants: Variant[] = [
    {
      name: "before (ts gemm)",
      output: before,
      run: () => gemm(x, 0, dim, w, 0, width, before, 0, width, rows, dim, width, bias, false),
    },
  ];
  for (const backend of ["typescript", "wasm"] as GemmBackend[]) {
    if (backend === "wasm" && kernelPath() !== "wasm") continue;
    const out = new Float32Array(rows * width);
    const plan = planProduct(w, bias, identity, dim, width, { backend, reason: "bench" });
    variants.push({ name: `after ${backend}`, output: out, run: () => plan.run(x, 0, rows, out, 0) });
  }
  const chosen = chooseGemmBackend(dim, width).backend;
  compare(`MHA projection ${dim}->${heads}x${keyDim}, batch ${batch} x ${steps} (chosen: ${chosen})`, variants);
}

console.log(`kernel benchmark, ${ROUNDS} interleaved rounds; median µs per call [min .. max]; Node ${process.version}`);
if (!ONLY || ONLY === "gemm") {
  gemmKernels(1, 128, 512); // W2/W5's recurrent step (TypeScript path)
  gemmKernels(1, 128, 16); // one panel of that step (WebAssembly path: gemmPacked)
  gemmKernels(1, 64, 24);
  gemmKernels(3, 64, 64);
  gemmKernels(7, 128, 128);
  gemmKernels(64, 64, 256); // W4's input projection rows, and the like
  gemmKernels(256, 128, 64);
  gemmKernels(256, 16, 512); // a block of W3's input projection rows (16 features)
}
if (!ONLY || ONLY === "dense") {
  dense(1, 128, 1, "linear"); // W2/W5 head
  dense(256, 128, 1, "linear"); // W3 head
  dense(1, 16, 16, "relu");
  dense(1, 32, 32, "relu");
  dense(8, 128, 8, "linear");
  dense(1, 64, 32, "relu");
  dense(1, 256, 256, "relu");
  dense(32, 64, 64, "tanh");
  dense(64, 512, 256, "relu");
}
if (!ONLY || ONLY === "conv") {
  const c = { batch: 1, s: 1, d: 1, groups: 1, padding: "same" as const };
  conv1d({ ...c, length: 200, cin: 1, f: 16, k: 5 });
  conv1d({ ...c, batch: 8, length: 128, cin: 4, f: 32, k: 3, padding: "causal" });
  conv1d({ ...c, batch: 8, length: 128, cin: 8, f: 32, k: 3 });
  conv1d({ ...c, batch: 8, length: 128, cin: 16, f: 32, k: 3 });
  conv1d({ ...c, batch: 4, length: 256, cin: 32, f: 32, k: 5 });
  conv1d({ ...c, batch: 4, length: 256, cin: 64, f: 64, k: 3, d: 2, padding: "causal" });
  conv1d({ ...c, batch: 4, length: 256, cin: 32, f: 32, k: 5, groups: 4 });
  conv1d({ ...c, batch: 4, length: 256, cin: 128, f: 128, k: 3, s: 2, padding: "valid" });
}
if (!ONLY || ONLY === "transpose") {
  conv1dTranspose({ batch: 4, length: 64, cin: 32, f: 16, k: 3, s: 2 });
  conv1dTranspose({ batch: 1, length: 100, cin: 8, f: 8, k: 5, s: 1 });
}
if (!ONLY || ONLY === "depthwise") {
  depthwise2d(112, 32, 1); // MobileNetV2's first block
  depthwise2d(112, 96, 2);
  depthwise2d(28, 192, 1);
  depthwise2d(14, 576, 1);
  depthwise2d(7, 960, 1);
}
if (!ONLY || ONLY === "attention") {
  attentionProjection(1, 16, 32, 2, 16);
  attentionProjection(8, 32, 64, 4, 16);
  attentionProjection(16, 64, 128, 8, 32);
}
