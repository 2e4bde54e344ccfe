/** Bad files and bad inputs end in a KeraslessError with a code, naming the file and the layer. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { KeraslessError, allocationError } from "../src/errors.js";
import { loadModelFromBytes } from "../src/load.js";
import { FIXTURES, rejects } from "./helpers.js";

const seedDir = `${FIXTURES}seed/`;
const bytes = (path: string) => new Uint8Array(readFileSync(path));
const seedJson = () => JSON.parse(readFileSync(`${seedDir}model.json`, "utf8"));
const seedWeights = { name: "model.weights.h5", bytes: bytes(`${seedDir}model.weights.h5`) };
const fromJson = (json: unknown) =>
  loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) }, seedWeights);

test("every unsupported part is listed in one error, before anything runs", () => {
  const json = seedJson();
  const layers = json.config.layers;
  layers[1].config.time_major = true;
  layers.splice(
    2,
    0,
    {
      module: "keras.layers",
      class_name: "Lambda",
      config: { name: "my_lambda", function: { class_name: "__lambda__", config: { code: "ZXZpbA==" } } },
    },
    {
      module: "my_package.layers",
      class_name: "Attention2",
      registered_name: "Custom>Attention2",
      config: { name: "custom_attention" },
    },
  );
  const error = rejects(() => fromJson(json), "E_UNSUPPORTED", /3 unsupported features/);
  assert.match(error.message, /layer "lstm" \(LSTM\): time_major=True/);
  assert.match(error.message, /layer "my_lambda" \(Lambda\): Lambda layers hold Python code/);
  assert.match(error.message, /layer "custom_attention" \(Attention2\): custom layer class "Custom>Attention2"/);
  assert.match(error.message, /^model\.json: /);
});

test("a custom activation function is reported, never looked up", () => {
  const json = seedJson();
  json.config.layers[2].config.activation = {
    module: "builtins",
    class_name: "function",
    config: "my_activation",
    registered_name: "function",
  };
  rejects(
    () => fromJson(json),
    "E_UNSUPPORTED",
    /layer "dense" \(Dense\): activation .*my_activation.* is not a built-in Keras 3 activation/,
  );
});

test("a weight whose shape disagrees with the config names the layer", () => {
  const json = seedJson();
  json.config.layers[2].config.units = 2;
  rejects(
    () => fromJson(json),
    "E_WEIGHTS_SHAPE",
    new RegExp(
      String.raw`model\.weights\.h5: layer "dense" \(Dense\): weight "kernel" has shape \[3, 1\] in the file, ` +
        String.raw`but the config implies \[3, 2\]`,
    ),
  );
});

test("files that are not models say so and name the file", () => {
  rejects(
    () => loadModelFromBytes({ name: "empty.keras", bytes: new Uint8Array(0) }),
    "E_FORMAT",
    /^empty\.keras: the file is empty/,
  );
  rejects(
    () => loadModelFromBytes({ name: "noise.bin", bytes: new Uint8Array(256).map((_, i) => (i * 37) % 251) }),
    "E_FORMAT",
    /^noise\.bin: not a Keras model file/,
  );
  rejects(
    () => loadModelFromBytes({ name: "model.json", bytes: bytes(`${seedDir}model.json`) }),
    "E_FORMAT",
    /pass its weights file too/,
  );
  rejects(
    () => loadModelFromBytes({ name: "w.h5", bytes: bytes(`${seedDir}model.weights.h5`) }),
    "E_FORMAT",
    /holds weights only/,
  );
});

test("truncated files end in a KeraslessError that names the file", () => {
  for (const name of ["model.keras", "model.h5", "model.weights.h5"]) {
    const data = bytes(`${seedDir}${name}`);
    for (const fraction of [0.1, 0.5, 0.9, 0.999]) {
      const cut = { name, bytes: data.subarray(0, Math.floor(data.length * fraction)) };
      try {
        if (name === "model.weights.h5")
          loadModelFromBytes({ name: "model.json", bytes: bytes(`${seedDir}model.json`) }, cut);
        else loadModelFromBytes(cut);
        assert.fail(`${name} cut to ${fraction} loaded`);
      } catch (e) {
        assert.ok(e instanceof KeraslessError, `${name} cut to ${fraction}: ${String(e)}`);
        assert.ok(e.message.startsWith(name), e.message);
      }
    }
  }
  const h5 = bytes(`${seedDir}model.h5`);
  rejects(
    () => loadModelFromBytes({ name: "model.h5", bytes: h5.subarray(0, h5.length - 1) }),
    "E_HDF5",
    new RegExp(`^model\\.h5: the file is truncated: its header says ${h5.length} bytes, it has ${h5.length - 1}`),
  );
});

test("predict reports wrong shapes and dtypes with the input's name and both shapes", () => {
  const model = loadModelFromBytes({ name: "model.keras", bytes: bytes(`${seedDir}model.keras`) });
  rejects(
    () => model.predict({ shape: [2, 4, 5], data: new Float32Array(40) }),
    "E_INPUT_SHAPE",
    /input "input_layer" expects shape \[None, 4, 3\], got \[2, 4, 5\]/,
  );
  rejects(() => model.predict([[1, 2, 3]]), "E_INPUT_SHAPE", /expects shape \[None, 4, 3\], got \[1, 3\]/);
  rejects(
    () =>
      model.predict([
        [
          [1, 2, 3],
          [1, 2],
        ],
      ]),
    "E_INPUT_SHAPE",
    /ragged/,
  );
  rejects(
    () => model.predict({ shape: [1, 4, 3], data: new Float32Array(5) }),
    "E_INPUT_SHAPE",
    /needs 12 values, data has 5/,
  );
});

test("token ids outside the Embedding's vocabulary are an error; int inputs must be integers", () => {
  const dir = `${FIXTURES}real-world/keras3.9-legacy-h5-embedding-simplernn/`;
  const model = loadModelFromBytes({ name: "model.h5", bytes: bytes(`${dir}model.h5`) });
  const ids = new Float32Array(500).fill(1);
  ids[7] = 10000;
  rejects(
    () => model.predict({ shape: [1, 500], data: ids }),
    "E_INPUT_VALUE",
    /layer "embedding" \(Embedding\): token id 10000 at flat index 7 is outside the vocabulary \[0, 10000\)/,
  );
});

test("a graph whose layers feed each other in a circle is a config error, not a hang", () => {
  const tensor = (layer: string) => ({
    class_name: "__keras_tensor__",
    config: { shape: [null, 3], dtype: "float32", keras_history: [layer, 0, 0] },
  });
  const dense = (name: string, from: string) => ({
    module: "keras.layers",
    class_name: "Dense",
    name,
    config: { name, units: 3 },
    inbound_nodes: [{ args: [tensor(from)], kwargs: {} }],
  });
  const json = {
    module: "keras",
    class_name: "Functional",
    config: {
      name: "loop",
      layers: [
        {
          module: "keras.layers",
          class_name: "InputLayer",
          name: "x",
          config: { name: "x", batch_shape: [null, 3] },
          inbound_nodes: [],
        },
        dense("a", "b"),
        dense("b", "a"),
      ],
      input_layers: [["x", 0, 0]],
      output_layers: [["b", 0, 0]],
    },
  };
  rejects(() => fromJson(json), "E_CONFIG", /the graph has a cycle through layer "(a|b)"/);
});

test("the engine's allocation failures become E_LIMIT; other errors pass through unchanged", () => {
  for (const message of [
    "Array buffer allocation failed",
    "Invalid typed array length: 8589934592",
    "Invalid array length",
  ]) {
    const converted = allocationError(new RangeError(message), "predict() on inputs this large needs");
    assert.ok(converted instanceof KeraslessError);
    assert.equal(converted.code, "E_LIMIT");
    assert.match(
      converted.message,
      /^predict\(\) on inputs this large needs: more memory than the JavaScript engine can allocate/,
    );
  }
  const overflow = new RangeError("Maximum call stack size exceeded");
  assert.equal(allocationError(overflow, "x"), overflow);
  const typeError = new TypeError("Invalid array length");
  assert.equal(allocationError(typeError, "x"), typeError);
});

test("many unsupported layers are summarised by class, so that every missing class fits in the message", () => {
  const json = seedJson();
  const layers = json.config.layers;
  const dense = layers[2];
  // 58 layers of one class kerasless lacks (as a MobileNet's), then one of another class.
  const fake = (className: string, name: string) => ({ ...dense, class_name: className, config: { name } });
  layers.splice(2, 0, ...Array.from({ length: 58 }, (_, i) => fake("SpectralConv2D", `spectral_conv_${i}`)));
  layers.splice(60, 0, fake("HolographicPooling2D", "holographic_pool"));
  const error = rejects(() => fromJson(json), "E_UNSUPPORTED", /the model uses 59 unsupported features/);
  assert.match(
    error.message,
    new RegExp(
      '58 layers \\(SpectralConv2D\\) "spectral_conv_0", "spectral_conv_1", "spectral_conv_2", and 55 more: ' +
        'layer class "SpectralConv2D" is not supported',
    ),
  );
  assert.match(error.message, /layer "holographic_pool" \(HolographicPooling2D\): layer class "HolographicPooling2D"/);
  assert.ok(error.message.length < 600, `${error.message.length} characters`);
});
