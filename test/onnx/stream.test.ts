/** stream() on ONNX graphs: step by step equals predict() on the sequence so far; non-causal graphs name the node. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import { Tensor } from "../../src/tensor.js";
import { FIXTURES, assertClose, rejects } from "../helpers.js";

const ROOT = join(FIXTURES, "onnx");
const load = (name: string) =>
  loadModelFromBytes({ name: `${name}/model.onnx`, bytes: readFileSync(join(ROOT, name, "model.onnx")) });
const inputOf = (name: string): { shape: number[]; data: number[] } =>
  JSON.parse(readFileSync(join(ROOT, name, "io.json"), "utf8")).inputs[0];

/** x[:, from:to] of a [batch, time, features] tensor. */
function steps(x: { shape: number[]; data: number[] }, from: number, to: number): Tensor {
  const [batch, time, features] = x.shape;
  const out = new Float32Array(batch * (to - from) * features);
  for (let b = 0; b < batch; b++)
    out.set(x.data.slice((b * time + from) * features, (b * time + to) * features), b * (to - from) * features);
  return new Tensor([batch, to - from, features], out);
}

const causal = ["lstm_last_ts", "rnn_tanh2_last_ts", "keras_gru_reset_after", "keras_lstm_last", "keras_stacked"];

for (const name of causal) {
  test(`${name}: each stream step equals predict() on the sequence so far`, () => {
    const model = load(name);
    const x = inputOf(name);
    const [batch, time, features] = x.shape;
    const stream = model.stream();
    assert.deepEqual(stream.inputs[0].shape, [null, features]);
    for (let round = 0; round < 2; round++) {
      for (let t = 1; t <= time; t++) {
        const got = stream.step(new Tensor([batch, features], steps(x, t - 1, t).data));
        const want = model.predict(steps(x, 0, t));
        want.forEach((w, k) => {
          // Sequence outputs: the stream gives this step's slice.
          const expected =
            w.shape.length === 3
              ? {
                  shape: [batch, w.shape[2]],
                  data: Array.from(steps({ shape: w.shape as number[], data: Array.from(w.data) }, t - 1, t).data),
                }
              : { shape: [...w.shape], data: Array.from(w.data) };
          assertClose(got[k], { ...expected, dtype: "float32" }, `${name} step ${t} output ${k}`);
        });
      }
      stream.reset(); // the second round starts from the initial states again
    }
  });
}

test("getState/setState fork a stream", () => {
  const model = load("lstm_last_ts");
  const x = inputOf("lstm_last_ts");
  const [batch, , features] = x.shape;
  const a = model.stream();
  const step = (t: number) => new Tensor([batch, features], steps(x, t, t + 1).data);
  a.step(step(0));
  a.step(step(1));
  const saved = a.getState();
  const next = Array.from(a.step(step(2))[0].data);
  const b = model.stream();
  b.step(step(0));
  b.setState(saved);
  assert.deepEqual(Array.from(b.step(step(2))[0].data), next);
  rejects(() => model.stream().getState(), "E_INPUT", /before the first step/);
});

test("graphs that are not causal are refused naming the node", () => {
  rejects(
    () => load("gru_bidir3_norm_ts").stream(),
    "E_UNSUPPORTED",
    /node "\/rnn\/GRU" \(GRU\) reads the sequence from its end/,
  );
  rejects(() => load("keras_bidir_lstm").stream(), "E_UNSUPPORTED", /\(LSTM\) reads the sequence from its end/);
  rejects(
    () => load("conv_lstm_norm_ts").stream(),
    "E_UNSUPPORTED",
    /node "\/conv\/Conv" \(Conv\) acts across time steps/,
  );
  rejects(() => load("lstm3_states_ts").stream(), "E_UNSUPPORTED", /initial states from the graph's inputs/);
  rejects(() => load("lstm_last_dynamo").stream(), "E_UNSUPPORTED", /cannot stream/);
  // tf2onnx's time-step Loop (Keras SimpleRNN) is not stepped: the error names it.
  rejects(() => load("keras_simple_rnn").stream(), "E_UNSUPPORTED", /\(Loop\)/);
});
