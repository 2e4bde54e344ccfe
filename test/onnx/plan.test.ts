/**
 * The plan made at load around the recurrent nodes (src/onnx/fuse.ts: the exporters' Transpose
 * absorbed; Y computed only when read) and predict()'s plans bound per input shapes
 * (src/onnx/bound.ts): the same numbers, calls that do not share their outputs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import { kernelPath, setKernelPath } from "../../src/kernels/wasm.js";
import { Tensor } from "../../src/tensor.js";
import { FIXTURES, assertSameBits } from "../helpers.js";
import { bytes, int, intAttribute, model, node, str, tensor, valueInfo, type Bytes } from "./write.js";

const ROOT = join(FIXTURES, "onnx");
const load = (name: string) =>
  loadModelFromBytes({ name: `${name}/model.onnx`, bytes: readFileSync(join(ROOT, name, "model.onnx")) });

/** An int64 initializer. */
const int64 = (name: string, values: number[]): Bytes => [
  ...int(1, values.length),
  ...int(2, 7),
  ...str(8, name),
  ...bytes(9, [...new Uint8Array(BigInt64Array.from(values, BigInt).buffer)]),
];

/** [batch, 6, 5] values that differ per call (`seed`). */
function sequence(batch: number, seed: number): Tensor {
  return new Tensor(
    [batch, 6, 5],
    Float32Array.from({ length: batch * 30 }, (_, k) => Math.sin(0.37 * k + seed)),
  );
}

test("a torch export's Transpose before the LSTM does not run, and kernelPlans() says so", () => {
  const before = kernelPath();
  setKernelPath("wasm");
  try {
    const m = load("lstm_last_ts");
    const lstm = m.kernelPlans().find((p) => p.className === "LSTM")!;
    assert.match(lstm.why.join("\n"), /X read as \[batch, time, features\]/);
    assert.match(lstm.why.join("\n"), /absorbs node "\/rnn\/Transpose" \(Transpose\), which does not run/);
    assert.ok(!m.summary().includes("/rnn/Transpose "), "the absorbed Transpose is not a node that runs");
  } finally {
    setKernelPath(before);
  }
});

test("a time-major LSTM input that no Transpose feeds is copied per call, and kernelPlans() says so", () => {
  const lstm = load("lstm_bidir2_every_ts")
    .kernelPlans()
    .find((p) => p.className === "LSTM")!;
  assert.match(lstm.why.join("\n"), /layout 0: X \[time, batch, features\] is copied/);
});

test("predict() outputs are the caller's: the next call with the same shapes does not overwrite them", () => {
  const m = load("lstm_last_ts");
  const first = m.predict(sequence(3, 1));
  const copy = first.map((t) => new Tensor(t.shape, t.data.slice()));
  const second = m.predict(sequence(3, 2));
  assertSameBits(first, copy, "first call's outputs after the second call");
  assert.notDeepEqual(Array.from(second[0].data), Array.from(first[0].data));
});

test("calls of many batch sizes (more than the plans kept) give each row what it gets alone", () => {
  const m = load("lstm_last_ts");
  const whole = m.predict(sequence(7, 3))[0];
  const out = whole.shape[1];
  for (const batch of [1, 2, 3, 4, 5, 6, 7, 2, 7]) {
    const got = m.predict(new Tensor([batch, 6, 5], sequence(7, 3).data.slice(0, batch * 30)))[0];
    assertSameBits(
      [got],
      [new Tensor([batch, out], whole.data.slice(0, batch * out))],
      `batch ${batch}: its rows as in the batch of 7`,
    );
  }
});

/** x [batch, 4, 2] -> LSTM(3) with outputs Y, Y_h; graph outputs Y_h (and Y when `withY`). */
function lstmModel(withY: boolean): Uint8Array {
  const weights = (n: number, seed: number) => Array.from({ length: n }, (_, k) => 0.3 * Math.sin(1.3 * k + seed));
  return model({
    nodes: [
      node("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h"], [intAttribute("hidden_size", 3), intAttribute("layout", 1)]),
    ],
    initializers: [
      tensor("W", [1, 12, 2], weights(24, 1)),
      tensor("R", [1, 12, 3], weights(36, 2)),
      tensor("B", [1, 24], weights(24, 3)),
    ],
    inputs: [valueInfo("x", ["batch", 4, 2])],
    outputs: [valueInfo("Y_h", ["batch", 1, 3]), ...(withY ? [valueInfo("Y", ["batch", 4, 1, 3])] : [])],
  });
}

test("an LSTM output Y that nothing reads is not computed; Y_h has the same bits as when Y is", () => {
  const lean = loadModelFromBytes({ name: "lean.onnx", bytes: lstmModel(false) });
  const full = loadModelFromBytes({ name: "full.onnx", bytes: lstmModel(true) });
  assert.match(lean.kernelPlans()[0].why.join("\n"), /Y \("Y"\) is not computed: no node reads it/);
  assert.doesNotMatch(full.kernelPlans()[0].why.join("\n"), /not computed/);
  const x = new Tensor(
    [2, 4, 2],
    Float32Array.from({ length: 16 }, (_, k) => Math.cos(k)),
  );
  assertSameBits(lean.predict(x), full.predict(x).slice(0, 1), "Y_h");
});

test("a graph whose integer input sets a Slice's start binds each call again: other values, other outputs", () => {
  // x [2, 5] -> Slice(starts = input `start`, ends [5], axes [1]) -> y [2, 5 - start]
  const bytes = model({
    nodes: [node("Slice", ["x", "start", "end", "axis"], ["y"])],
    initializers: [int64("end", [5]), int64("axis", [1])],
    inputs: [valueInfo("x", ["batch", 5]), valueInfo("start", [1], 7)],
    outputs: [valueInfo("y", ["batch", "n"])],
  });
  const m = loadModelFromBytes({ name: "slice.onnx", bytes });
  const x = new Tensor([2, 5], Float32Array.from([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]));
  for (const [start, want] of [
    [1, [1, 2, 3, 4, 11, 12, 13, 14]],
    [3, [3, 4, 13, 14]],
    [1, [1, 2, 3, 4, 11, 12, 13, 14]],
  ] as const) {
    const [y] = m.predict([x, new Tensor([1], Int32Array.from([start]))]);
    assert.deepEqual([...y.shape, ...y.data], [2, want.length / 2, ...want], `start ${start}`);
  }
});
