/**
 * useKernelModule(): the kernels from a module the runtime compiled, for runtimes that refuse to
 * compile WebAssembly from bytes (workerd: "Wasm code generation disallowed by embedder"). Here
 * Node plays such a runtime: WebAssembly.Module and WebAssembly.compile refuse bytes, as workerd's
 * do. examples/cloudflare/test/worker.e2e.ts runs the real thing in workerd.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { WASM_KERNELS_BASE64 } from "../../src/kernels/wasm-binary.js";
import { WASM_CONV_KERNELS_BASE64 } from "../../src/kernels/wasm-conv-binary.js";
import { planConvolution, type ConvShape } from "../../src/kernels/conv/index.js";
import { kernelBytes, kernelPath, useKernelModule, wasmFeatures } from "../../src/kernels/wasm.js";
import { Tensor } from "../../src/tensor.js";
import { FIXTURES, assertClose, type FixtureTensor } from "../helpers.js";

// Compiled before the runtime starts refusing, as workerd compiles a Worker's .wasm modules when it loads it.
const kernels = new WebAssembly.Module(kernelBytes(WASM_KERNELS_BASE64));
const convKernels = new WebAssembly.Module(kernelBytes(WASM_CONV_KERNELS_BASE64));
const empty = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
const refused = () => new Error("WebAssembly.Module(): Wasm code generation disallowed by embedder");
const realModule = WebAssembly.Module;
const realCompile = WebAssembly.compile;
Object.assign(WebAssembly, {
  Module: new Proxy(realModule, {
    construct: () => {
      throw refused();
    },
  }),
  compile: () => Promise.reject(refused()),
});
test.after(() => Object.assign(WebAssembly, { Module: realModule, compile: realCompile }));

test("where WebAssembly cannot be compiled from bytes, the kernels fall back to TypeScript", () => {
  assert.equal(kernelPath(), "js");
  assert.equal(wasmFeatures(), null);
});

test("useKernelModule refuses what is not kerasless' kernel module", () => {
  for (const wrong of [empty, new Uint8Array(8), null])
    assert.throws(
      () => useKernelModule(wrong as WebAssembly.Module),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_UNSUPPORTED" && /kernels-\*\.wasm/.test(e.message),
    );
  assert.throws(() => useKernelModule(kernels, "sse" as never), /unknown WebAssembly features "sse"/);
  assert.equal(kernelPath(), "js");
});

test("with the module given, models run on the WebAssembly kernels and give Keras' numbers", () => {
  useKernelModule(kernels);
  assert.equal(kernelPath(), "wasm");
  assert.equal(wasmFeatures(), "simd128");
  const dir = join(FIXTURES, "seed");
  const model = loadModelFromBytes({
    name: "model.keras",
    bytes: new Uint8Array(readFileSync(join(dir, "model.keras"))),
  });
  assert.equal(model.kernelPlans().find((p) => p.layer === "lstm")?.backend, "wasm-simd fused");
  const io = JSON.parse(readFileSync(join(dir, "io.json"), "utf8")) as {
    inputs: FixtureTensor[];
    outputs: FixtureTensor[];
  };
  const [x] = io.inputs;
  const [y] = model.predict(new Tensor(x.shape, Float32Array.from(x.data)));
  assertClose(y, io.outputs[0], "seed");
});

test("each kernel family runs from its own given module; one not given runs in TypeScript", () => {
  // A 3x3 depthwise convolution over 4 channels: the convolution family's kernel.
  const shape: ConvShape = {
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [1, 1],
    groups: 4,
    inChannels: 4,
    outChannels: 4,
  };
  const plan = () => planConvolution(shape, new Float32Array(36).fill(0.5), null, null);
  assert.equal(kernelPath(), "wasm", "the core module was given above");
  assert.deepEqual([plan().backend, plan().reason], ["typescript-depthwise", "WebAssembly not ready"]);
  useKernelModule(convKernels);
  assert.equal(plan().backend, "wasm-depthwise");
  const x = Float32Array.from({ length: 5 * 5 * 4 }, (_, i) => (i % 7) - 3);
  const call = { batch: 1, input: [5, 5], output: [3, 3], padsBegin: [0, 0] };
  const [wasm, typescript] = [new Float32Array(36), new Float32Array(36)];
  plan().run(x, call, wasm);
  useKernelModule(kernels); // the core family again: the convolution family stays given
  assert.equal(plan().backend, "wasm-depthwise");
  planConvolution(shape, new Float32Array(36).fill(0.5), null, null, {
    backend: "typescript-depthwise",
    reason: "reference",
  }).run(x, call, typescript);
  assert.deepEqual(wasm, typescript);
});
