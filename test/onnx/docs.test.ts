/** The supported ONNX ops page is generated from the ops registry and must be current. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { onnxOpsPage } from "../../scripts/gen-onnx-docs.js";
import { onnxOps } from "../../src/onnx/ops/registry.js";

const root = new URL("../../", import.meta.url).pathname;

test("docs/supported-onnx-ops.md is generated from the registry (run npm run docs:onnx)", () => {
  assert.equal(readFileSync(`${root}docs/supported-onnx-ops.md`, "utf8"), onnxOpsPage());
});

test("the registry covers the issue's list of ops", () => {
  const wanted =
    "LSTM GRU RNN Transpose Squeeze Unsqueeze Reshape Flatten Concat Split Slice Gather Shape Size ConstantOfShape " +
    "Expand Constant Identity Cast Range Where Equal Less Greater Not MatMul Gemm Add Sub Mul Div Pow Sqrt Neg Abs " +
    "Exp Log Sigmoid Tanh Relu LeakyRelu Elu Gelu Softmax LogSoftmax ReduceMean ReduceSum ReduceMax " +
    "LayerNormalization BatchNormalization Conv MaxPool AveragePool GlobalAveragePool Dropout Clip";
  const have = new Set(onnxOps.map((o) => o.opType));
  assert.deepEqual(
    wanted.split(" ").filter((op) => !have.has(op)),
    [],
  );
  assert.equal(have.size, onnxOps.length, "one definition per op");
});
