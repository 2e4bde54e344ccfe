/** model.kernelPlans() and `kerasless inspect --kernels` on ONNX models: each planned node's backend and why. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import { kernelPath, setKernelPath } from "../../src/kernels/wasm.js";
import { FIXTURES } from "../helpers.js";
import { cli } from "../cli/helpers.js";

const ROOT = join(FIXTURES, "onnx");
const load = (name: string) =>
  loadModelFromBytes({ name: `${name}/model.onnx`, bytes: readFileSync(join(ROOT, name, "model.onnx")) });

function withPath<T>(path: "js" | "wasm", f: () => T): T {
  const before = kernelPath();
  setKernelPath(path);
  try {
    return f();
  } finally {
    setKernelPath(before);
  }
}

test("a Conv -> LSTM -> MatMul graph lists its Conv, LSTM and MatMul nodes", () => {
  const plans = withPath("js", () => load("conv_lstm_norm_ts").kernelPlans());
  assert.deepEqual(
    plans.map((p) => p.className),
    ["Conv", "LSTM", "MatMul"],
  );
  const [conv, lstm, matmul] = plans;
  assert.match(conv.backend, /^typescript-(im2col|shifted)$/);
  assert.match(conv.why.join(), /input channels per group/);
  assert.equal(lstm.layer, "/rnn/LSTM");
  assert.equal(lstm.backend, "typescript");
  assert.match(lstm.why.join(), /kernel path js/);
  assert.equal(matmul.backend, "typescript");
  assert.match(matmul.why.join(), /no WebAssembly SIMD/);
});

test("on the WebAssembly path the LSTM's step is fused; a torch Linear (Gemm) has its product planned", () => {
  const plans = withPath("wasm", () => load("lstm_last_ts").kernelPlans());
  const lstm = plans.find((p) => p.className === "LSTM")!;
  assert.match(lstm.backend, /^wasm-(relaxed-)?simd fused/);
  const gemm = plans.find((p) => p.className === "Gemm")!;
  assert.match(gemm.why.join(), /weights/);
});

test("ONNX-only features say which cell runs them", () => {
  const peep = withPath("wasm", () => load("op_lstm_clip_forget_peep").kernelPlans());
  assert.equal(peep.length, 1);
  assert.equal(peep[0].backend, "typescript");
  assert.match(peep[0].why.join(), /ONNX LSTM cell/);
  // A clipped GRU runs on the Keras GRU cell, its activations clipped: off the fused step.
  const gru = withPath("wasm", () => load("op_gru_clip").kernelPlans());
  assert.match(gru[0].backend, /projection, typescript step/);
  assert.match(gru[0].why.join(), /clipped to 0\.5/);
});

test("kerasless inspect --kernels lists them", async () => {
  const run = await cli("inspect", join(ROOT, "lstm_last_ts", "model.onnx"), "--kernels");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Kernels:\n {2}\/rnn\/LSTM \(LSTM\): /);
  assert.match(run.stdout, /\(Gemm\): /);
});
