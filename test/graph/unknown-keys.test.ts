/**
 * Strict where Keras is strict (issue 14 section 3): a config key a layer does not know is refused
 * at load, in the one E_UNSUPPORTED error, while the keys Keras itself accepts and drops for the
 * file's Keras version load as before. Every committed fixture and the real-world corpus loading
 * (test/load.test.ts, test/layers/) is the other half of this test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadModelFromBytes } from "../../src/load.js";
import { FIXTURES, assertClose, listFixtures, rejects } from "../helpers.js";

const bytes = (path: string) => new Uint8Array(readFileSync(path));
type LayerJson = { class_name: string; config: Record<string, unknown> };

/** Loads a fixture's model.json (+ its weights) after `edit` changed its layers. */
function loadEdited(suite: "keras3" | "keras2", fixture: string, edit: (layers: LayerJson[]) => void) {
  const dir = `${FIXTURES}${suite}/${fixture}/`;
  const json = JSON.parse(readFileSync(`${dir}model.json`, "utf8"));
  edit(json.config.layers);
  const weightsFile = suite === "keras3" ? "model.weights.h5" : "weights.h5";
  return loadModelFromBytes(
    { name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) },
    { name: weightsFile, bytes: bytes(`${dir}${weightsFile}`) },
  );
}

const feed = (inputs: { shape: number[]; data: number[] }[]) => inputs.map((t) => ({ shape: t.shape, data: t.data }));

const named = (layers: LayerJson[], name: string): LayerJson => {
  const layer = layers.find((l) => l.config.name === name);
  assert.ok(layer, `no layer ${name}`);
  return layer;
};

test("the author's own ReLU with an alpha (a tf_keras .h5 file) is refused, not run as the built-in", () => {
  const [fixture] = listFixtures("refused/custom_relu_alpha");
  assert.ok(fixture, "test/fixtures/refused/custom_relu_alpha is missing");
  assert.deepEqual(Object.keys(fixture.io.relu_config as object).sort(), ["alpha", "dtype", "name", "trainable"]);
  rejects(
    () => loadModelFromBytes({ name: "model.h5", bytes: bytes(`${fixture.dir}/model.h5`) }),
    "E_UNSUPPORTED",
    /^model\.h5: the model uses 1 unsupported feature: layer "re_lu" \(ReLU\): config key "alpha" is not an option/,
  );
});

test("every unknown key of every layer is listed in the one load error", () => {
  const error = rejects(
    () =>
      loadEdited("keras3", "lstm_default", (layers) => {
        Object.assign(named(layers, "lstm").config, { peephole: true, forget_bias: 1 });
        Object.assign(named(layers, "dense").config, { kernel_size: 3 });
      }),
    "E_UNSUPPORTED",
    /2 unsupported features/,
  );
  assert.match(
    error.message,
    /layer "lstm" \(LSTM\): config keys "peephole", "forget_bias" are not options of Keras 3's LSTM/,
  );
  assert.match(error.message, /layer "dense" \(Dense\): config key "kernel_size" is not an option/);
});

test("a wrapped layer's unknown key is reported with the wrapped layer", () => {
  rejects(
    () =>
      loadEdited("keras3", "bidir_lstm", (layers) => {
        const wrapper = layers.find((l) => l.class_name === "Bidirectional")!;
        const inner = wrapper.config.layer as LayerJson;
        inner.config.peephole = true;
      }),
    "E_UNSUPPORTED",
    /\(LSTM\): config key "peephole" is not an option of Keras 3's LSTM/,
  );
});

test("the keys Keras 2 accepts and drops load with a Keras 2 file", () => {
  const model = loadEdited("keras2", "lstm_default", (layers) => {
    // tf_keras' base Layer allowed_kwargs, Keras 2.0-2.2's, and training-only options.
    Object.assign(named(layers, "lstm").config, {
      implementation: 2,
      unroll: true,
      dropout: 0.5,
      recurrent_dropout: 0.5,
      weights: null,
      input_dim: 3,
      input_dtype: "float32",
      batch_size: null,
      autocast: true,
      kernel_initializer: { class_name: "Zeros", config: {} },
      recurrent_constraint: null,
    });
  });
  const [fixture] = listFixtures("keras2/lstm_default");
  assertClose(model.predict(feed(fixture.inputs))[0], fixture.outputs[0], "lstm_default with dropped keys");
});

test("a key only Keras 2 accepts is unknown in a Keras 3 file", () => {
  rejects(
    () => loadEdited("keras3", "lstm_default", (layers) => void (named(layers, "dense").config.implementation = 1)),
    "E_UNSUPPORTED",
    /layer "dense" \(Dense\): config key "implementation" is not an option of Keras 3's Dense/,
  );
});

test("layers that are the identity at inference take any option", () => {
  const [fixture] = listFixtures("keras3/dropout_family");
  const model = loadEdited("keras3", "dropout_family", (layers) => {
    for (const layer of layers) if (layer.class_name.includes("Dropout")) layer.config.schedule = "linear";
  });
  model.predict(feed(fixture.inputs)).forEach((out, i) => assertClose(out, fixture.outputs[i], `output #${i}`));
});
