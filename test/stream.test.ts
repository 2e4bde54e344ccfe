/**
 * model.stream(): feeding every fixture one time step at a time gives Keras' outputs (each
 * step's slice of sequence outputs, and the final value of the others), stateful fixtures
 * continue across their chunks, and layers that need the whole sequence are named when refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeraslessError } from "../src/errors.js";
import { loadModelFromBytes } from "../src/load.js";
import type { Model } from "../src/model.js";
import { Tensor } from "../src/tensor.js";
import { assertClose, listFixtures, type Fixture, type FixtureTensor } from "./helpers.js";

function load(fixture: Fixture): Model {
  const format = fixture.formats[0];
  const read = (name: string) => ({
    name: join(fixture.dir, name),
    bytes: new Uint8Array(readFileSync(join(fixture.dir, name))),
  });
  return loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
}

/** Step t of x [batch, time, ...] as [batch, ...]. */
function stepOf(x: FixtureTensor, t: number): Tensor {
  const [batch, time, ...rest] = x.shape;
  const inner = rest.reduce((a, b) => a * b, 1);
  const data = x.dtype === "int32" ? new Int32Array(batch * inner) : new Float32Array(batch * inner);
  for (let b = 0; b < batch; b++)
    for (let j = 0; j < inner; j++) data[b * inner + j] = x.data[(b * time + t) * inner + j];
  return new Tensor([batch, ...rest], data);
}

/** Step t of a Keras sequence output [batch, time, ...] as a fixture tensor [batch, ...]. */
function expectedStep(y: FixtureTensor, t: number): FixtureTensor {
  const s = stepOf(y, t);
  return { shape: [...s.shape], dtype: "float32", data: Array.from(s.data) };
}

// Fixtures whose models cannot stream, and the layer each error must name.
const refused: Record<string, RegExp> = {
  "keras3/lstm_go_backwards": /layer "lstm" \(LSTM\) reads the sequence from its end/,
  "keras3/reshape_layers": /layer "permute" \(Permute\) needs the whole sequence/,
  "keras3/lstm_initial_state": /input "h0" of shape \[None, 4\] has no time axis/,
  "keras3/seq2seq_lstm": /layer "decoder" \(LSTM\) takes initial_state from other tensors/,
};

const streamed: string[] = [];
for (const suite of ["seed", "real-world", "keras3", "keras2"]) {
  for (const fixture of listFixtures(suite)) {
    test(`stream equals predict step by step: ${fixture.id}`, () => {
      const model = load(fixture);
      let stream;
      try {
        stream = model.stream();
      } catch (e) {
        assert.ok(e instanceof KeraslessError && e.code === "E_UNSUPPORTED", String(e));
        if (refused[fixture.id]) assert.match(e.message, refused[fixture.id]);
        return;
      }
      assert.equal(refused[fixture.id], undefined, `${fixture.id} was expected to be refused`);
      streamed.push(fixture.id);
      // Stateful fixtures: the stream runs on through every chunk, as Keras' states did.
      fixture.chunks.forEach((chunk, c) => {
        const time = chunk.inputs[0].shape[1];
        for (let t = 0; t < time; t++) {
          const outputs = stream.step(chunk.inputs.map((x) => stepOf(x, t)));
          chunk.outputs.forEach((expected, k) => {
            // A sequence output streams one step: Keras' output without its time axis.
            if (outputs[k].rank === expected.shape.length - 1)
              assertClose(outputs[k], expectedStep(expected, t), `chunk ${c} step ${t} output ${k}`);
            else if (t === time - 1) assertClose(outputs[k], expected, `chunk ${c} output ${k}`);
          });
        }
      });
    });
  }
}

test("the streamable fixtures include the recurrent families and masks", () => {
  for (const id of [
    "seed/seed_lstm_sample",
    "keras3/lstm_return_sequences",
    "keras3/gru_reset_after",
    "keras2/simplernn_default",
    "keras3/masking_lstm",
    "keras2/embedding_mask_zero",
    "keras3/stateful_lstm",
    "keras3/convlstm_masking",
    "keras2/convlstm_stateful",
    "real-world/tfkeras2.4-conv1d-causal-stacked-lstm",
  ]) {
    assert.ok(
      streamed.includes(id) || !listFixtures(id.split("/")[0]).some((f) => f.id === id),
      `${id} did not stream`,
    );
  }
});

const seed = listFixtures("seed")[0];

test("reset() starts a new sequence; getState()/setState() checkpoint and fork a stream", () => {
  const model = load(seed);
  const x = seed.inputs[0];
  const time = x.shape[1];
  const stream = model.stream();
  const run = (from: number): number[] => {
    let last: number[] = [];
    for (let t = from; t < time; t++) last = Array.from(stream.step(stepOf(x, t))[0].data);
    return last;
  };
  const full = run(0);
  stream.reset();
  assert.deepEqual(run(0), full);
  stream.reset();
  stream.step(stepOf(x, 0));
  const checkpoint = stream.getState();
  const rest = run(1);
  assert.deepEqual(rest, full);
  stream.setState(checkpoint);
  assert.deepEqual(run(1), full);
  const other = model.stream();
  other.step(stepOf(x, 0));
  assert.throws(
    () => other.setState({ batch: 99, buffers: [] }),
    (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT",
  );
});

test("a step of the wrong shape is an E_INPUT_SHAPE naming the input", () => {
  const model = load(seed);
  const stream = model.stream({ batch: 2 });
  assert.throws(
    () => stream.step({ shape: [3, 3], data: new Float32Array(9) }),
    (e: unknown) =>
      e instanceof KeraslessError &&
      e.code === "E_INPUT_SHAPE" &&
      /stream input "\w+" expects one step of shape \[2, 3\]/.test(e.message),
  );
  assert.throws(
    () => stream.getState() && model.stream().getState(),
    (e: unknown) => e instanceof KeraslessError && /before the first step/.test(e.message),
  );
});

test("a stateful model keeps its states across predict() calls until resetStates()", () => {
  const fixture = listFixtures("keras3").find((f) => f.id === "keras3/stateful_sequential")!;
  const model = load(fixture);
  const first = fixture.chunks[0];
  const predict = () => model.predict(first.inputs.map((t) => ({ shape: t.shape, data: t.data })))[0];
  assertClose(predict(), first.outputs[0], "first chunk");
  assert.throws(() => assertClose(predict(), first.outputs[0], "second call, same chunk"));
  model.resetStates();
  assertClose(predict(), first.outputs[0], "after resetStates");
});
