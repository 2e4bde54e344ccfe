/**
 * The kernel families (scripts/build-wasm.ts): the core module (wasm/kernels.ts) holds what Dense,
 * the recurrent layers and ConvLSTM run on, and nothing else, so that kernels only convolutions use
 * (wasm/conv-kernels.ts) never grow the recurrent-only bundle. A kernel added to the core fails here
 * on purpose: put it in wasm/conv-kernels.ts, or list it below if every family needs it (and measure
 * the recurrent bundle, test/browser/bundle.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM_CONV_KERNELS_BASE64 } from "../../src/kernels/wasm-conv-binary.js";
import { WASM_CONV_RELAXED_KERNELS_BASE64 } from "../../src/kernels/wasm-conv-relaxed-binary.js";
import { WASM_KERNELS_BASE64 } from "../../src/kernels/wasm-binary.js";
import { WASM_RELAXED_KERNELS_BASE64 } from "../../src/kernels/wasm-relaxed-binary.js";
import { WASM_THREADS_KERNELS_BASE64 } from "../../src/kernels/wasm-threads-binary.js";
import { WASM_THREADS_RELAXED_KERNELS_BASE64 } from "../../src/kernels/wasm-threads-relaxed-binary.js";
import { kernelBytes, kernelModule } from "../../src/kernels/wasm.js";
import { CONV_KERNELS, convKernelModule } from "../../src/kernels/conv/kernels.js";

/**
 * The functions a module exports (globals such as Job.* and PANEL are the functions' constants),
 * read from its export section: Node 20 cannot compile the relaxed-SIMD builds.
 */
function functions(text: string): string[] {
  const bytes = kernelBytes(text);
  let at = 8; // after the magic number and version
  const leb = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 7) {
      const names: string[] = [];
      for (let count = leb(); count > 0; count--) {
        const length = leb();
        const name = new TextDecoder().decode(bytes.subarray(at, at + length));
        at += length;
        const kind = bytes[at++];
        leb();
        if (kind === 0) names.push(name);
      }
      return names.sort();
    }
    at = end;
  }
  return [];
}

const CORE = ["gemm", "lstmGates", "runJob", "stepJob"];
const CONV = ["depthwise"];

test("the core kernels are the matrix product and the recurrent sequences, in every build", () => {
  for (const text of [
    WASM_KERNELS_BASE64,
    WASM_RELAXED_KERNELS_BASE64,
    WASM_THREADS_KERNELS_BASE64,
    WASM_THREADS_RELAXED_KERNELS_BASE64,
  ])
    assert.deepEqual(functions(text), CORE, "a kernel only convolutions use belongs in wasm/conv-kernels.ts");
});

test("the convolution family has the kernels only convolutions use, in both builds", () => {
  for (const text of [WASM_CONV_KERNELS_BASE64, WASM_CONV_RELAXED_KERNELS_BASE64]) {
    const names = functions(text);
    for (const name of CONV) assert.ok(names.includes(name), `${name} in the convolution kernels`);
    for (const name of CORE) assert.ok(!names.includes(name), `${name} is the core's, not the convolutions'`);
  }
});

test("each family compiles to its own module", () => {
  const core = kernelModule();
  const conv = convKernelModule();
  assert.ok(core !== null && conv !== null);
  assert.notEqual(core, conv);
  assert.equal(kernelModule(CONV_KERNELS), conv, "compiled once");
  const names = (module: WebAssembly.Module) => WebAssembly.Module.exports(module).map((e) => e.name);
  assert.ok(names(core).includes("runJob") && !names(core).includes("depthwise"));
  assert.ok(names(conv).includes("depthwise") && !names(conv).includes("runJob"));
});
