/**
 * Bidirectional and TimeDistributed: the fixture cases against Keras, then bad configs, streaming,
 * stateful resets. Every expected number comes from a
 * Keras fixture.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import type { Model } from "../../src/model.js";
import { Tensor } from "../../src/tensor.js";
import {
  FIXTURES,
  assertClose,
  listFixtures,
  matchesKeras,
  type Fixture,
  type FixtureTensor,
  rejects,
} from "../helpers.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras([
  "bidir_autoencoder",
  "bidir_backward_layer",
  "bidir_backward_units",
  "bidir_forward_go_backwards",
  "bidir_initial_state",
  "bidir_lstm",
  "bidir_merge_modes",
  "bidir_return_state",
  "bidir_stacked",
  "masking_bidir",
  "masking_bidir_initial_state",
  "masking_td_recurrent",
  "masking_td_then_lstm",
  "seq2seq_bidir",
  "seq2seq_gru_bidir_decoder",
  "stateful_bidir",
  "td_cnn_lstm",
  "td_cnn_lstm_pool",
  "td_dense",
  "td_nested_model",
  "td_recurrent",
]);

const fixture = (id: string): Fixture => {
  const [suite, name] = id.split("/");
  const found = listFixtures(suite).find((f) => f.id === id);
  assert.ok(found, `fixture ${id} (${name})`);
  return found;
};

const read = (dir: string, name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) });

function load(f: Fixture, format = 0): Model {
  const { model, weights } = f.formats[format];
  return loadModelFromBytes(read(f.dir, model), weights ? read(f.dir, weights) : undefined);
}

/** The Keras 3 model.json of a fixture, changed by `edit`, loaded with the fixture's weights. */
function loadEdited(
  id: string,
  edit: (layers: { class_name: string; config: Record<string, unknown> }[]) => void,
): Model {
  const f = fixture(id);
  const json = JSON.parse(readFileSync(join(f.dir, "model.json"), "utf8"));
  edit(json.config.layers);
  return loadModelFromBytes(
    { name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) },
    read(f.dir, "model.weights.h5"),
  );
}

/** Time step t of a [batch, time, ...] fixture tensor, as [batch, ...]. */
function stepOf(t: FixtureTensor, step: number): FixtureTensor {
  const [batch, time, ...rest] = t.shape;
  const width = rest.reduce((a, b) => a * b, 1);
  const data: number[] = [];
  for (let b = 0; b < batch; b++) data.push(...t.data.slice((b * time + step) * width, (b * time + step + 1) * width));
  return { shape: [batch, ...rest], dtype: t.dtype, data };
}

test("Bidirectional around a layer that is not recurrent is reported with the other problems", () => {
  rejects(
    () =>
      loadEdited("keras3/bidir_lstm", (layers) => {
        const bi = layers.find((l) => l.class_name === "Bidirectional")!;
        (bi.config.layer as { class_name: string }).class_name = "Dense";
        (bi.config.backward_layer as { class_name: string }).class_name = "Dropout";
      }),
    "E_UNSUPPORTED",
    /layer is a Dense; only LSTM, GRU, SimpleRNN, ConvLSTM1D\/2D\/3D .*backward_layer is a Dropout/,
  );
});

test("Bidirectional halves that read the same way, or disagree on return_sequences, are config errors", () => {
  const edit = (key: string, value: unknown) => (layers: { class_name: string; config: Record<string, unknown> }[]) => {
    const bi = layers.find((l) => l.class_name === "Bidirectional")!;
    (bi.config.backward_layer as { config: Record<string, unknown> }).config[key] = value;
  };
  rejects(
    () => loadEdited("keras3/bidir_lstm", edit("go_backwards", false)),
    "E_CONFIG",
    /go_backwards=False and False; Keras requires different values/,
  );
  rejects(
    () => loadEdited("keras3/bidir_lstm", edit("return_sequences", true)),
    "E_CONFIG",
    /return_sequences=False and True; Keras requires equal values/,
  );
});

test("an unknown merge_mode is a config error", () => {
  rejects(
    () =>
      loadEdited("keras3/bidir_lstm", (layers) => {
        layers.find((l) => l.class_name === "Bidirectional")!.config.merge_mode = "max";
      }),
    "E_CONFIG",
    /merge_mode "max" is not one of concat, sum, mul, ave, None/,
  );
});

test("TimeDistributed around an unsupported layer is reported, never run", () => {
  rejects(
    () =>
      loadEdited("keras3/td_dense", (layers) => {
        const td = layers.find((l) => l.class_name === "TimeDistributed")!;
        td.config.layer = {
          module: "keras.layers",
          class_name: "Lambda",
          config: { name: "my_lambda", function: { class_name: "__lambda__", config: { code: "ZXZpbA==" } } },
        };
      }),
    "E_UNSUPPORTED",
    /layer "my_lambda" \(Lambda\): Lambda layers hold Python code/,
  );
});

test("stream() refuses Bidirectional, naming it", () => {
  rejects(
    () => load(fixture("keras3/bidir_lstm")).stream(),
    "E_UNSUPPORTED",
    /layer "bidirectional" \(Bidirectional\) reads the whole sequence backwards too/,
  );
});

for (const id of [
  "keras3/td_dense",
  "keras2/td_dense",
  "keras3/td_cnn_lstm",
  "keras2/td_cnn_lstm",
  "keras3/embedding_td",
]) {
  test(`streaming through TimeDistributed gives Keras' predictions step by step: ${id}`, () => {
    const f = fixture(id);
    const model = load(f);
    const [x] = f.inputs;
    const time = x.shape[1];
    const stream = model.stream();
    const perStep = f.outputs[0].shape.length === x.shape.length || f.outputs[0].shape.length === 3;
    for (let t = 0; t < time; t++) {
      const step = stepOf(x, t);
      const data = x.dtype === "int32" ? Int32Array.from(step.data) : Float32Array.from(step.data);
      const [y] = stream.step({ shape: step.shape, data });
      if (perStep) assertClose(y, stepOf(f.outputs[0], t), `${id} step ${t}`);
      else if (t === time - 1) assertClose(y, f.outputs[0], `${id} last step`);
    }
  });
}

for (const id of ["keras3/stateful_bidir", "keras2/stateful_bidir"]) {
  test(`resetStates() clears the states of stateful Bidirectional halves: ${id}`, () => {
    const f = fixture(id);
    const model = load(f);
    const chunks = f.io.chunks as { inputs: FixtureTensor[]; outputs: FixtureTensor[] }[];
    const run = (c: number) =>
      model.predict(chunks[c].inputs.map((t) => new Tensor(t.shape, Float32Array.from(t.data))));
    run(0);
    run(1);
    model.resetStates();
    // After a reset the first chunk gives what Keras gave for it from zero states.
    run(0).forEach((y, i) => assertClose(y, chunks[0].outputs[i], `${id} chunk 0 after reset, output ${i}`));
    run(1).forEach((y, i) => assertClose(y, chunks[1].outputs[i], `${id} chunk 1 after reset, output ${i}`));
  });
}

test("fixture root exists", () => assert.ok(FIXTURES.length > 0));
