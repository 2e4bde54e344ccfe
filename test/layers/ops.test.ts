/** Op layers (src/layers/ops/): tf.keras TFOpLambda / SlicingOpLambda and Keras 3 op nodes against Keras. */
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadModelFromBytes } from "../../src/load.js";
import type { Model } from "../../src/model.js";
import { FIXTURES, matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects, type LayerJson } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras([
  "op_activations_cast",
  "op_elementwise_math",
  "op_linalg_split",
  "op_lstm_head",
  "op_one_hot_normalize",
  "op_pad_gather_resize",
  "op_reductions_shapes",
  "op_slicing_arithmetic",
  "op_take_across_batch",
  "op_tensor_index",
  "op_tensorflow_op_layer",
]);

/** keras2/<fixture>'s model.json + weights.h5, after `edit` changed its layer list. */
function loadEditedKeras2(fixture: string, edit: (layers: LayerJson[]) => void): Model {
  const dir = `${FIXTURES}keras2/${fixture}/`;
  const json = JSON.parse(readFileSync(`${dir}model.json`, "utf8"));
  edit(json.config.layers);
  const weights = { name: "weights.h5", bytes: new Uint8Array(readFileSync(`${dir}weights.h5`)) };
  return loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) }, weights);
}

test("ops kerasless lacks are refused by name, with the model's other unsupported parts, in one error", () => {
  rejects(
    () =>
      loadEditedKeras2("op_lstm_head", (layers) => {
        layerNamed(layers, "tf.math.reduce_mean").config.function = "signal.stft";
        layerNamed(layers, "head").class_name = "Dense3000";
      }),
    "E_UNSUPPORTED",
    /2 unsupported features: .*\(TFOpLambda\): TFOpLambda tf\.signal\.stft is not supported.*"Dense3000"/,
  );
  rejects(
    () => loadEdited("op_lstm_head", (layers) => void (layerNamed(layers, "mean").class_name = "Fft")),
    "E_UNSUPPORTED",
    /layer "mean" \(Fft\): Keras op Fft is not supported/,
  );
});

test("op arguments kerasless does not run are refused at load, naming the op and the argument", () => {
  rejects(
    () =>
      loadEditedKeras2("op_lstm_head", (layers) => {
        const mean = layers.find((l) => l.config.name === "tf.math.reduce_mean") as unknown as {
          inbound_nodes: unknown;
        };
        mean.inbound_nodes = [["lstm", 0, 0, { axis: 1, keepdims: false, out_type: "int32" }]];
      }),
    "E_UNSUPPORTED",
    /TFOpLambda tf\.math\.reduce_mean in layer "tf\.math\.reduce_mean": argument out_type="int32" is not supported/,
  );
  rejects(
    () => loadEdited("op_lstm_head", (layers) => void (layerNamed(layers, "mean").config.axis = 5)),
    "E_UNSUPPORTED",
    /Keras op Mean in layer "mean": axis 5 is out of range for rank 3/,
  );
});

test("a constant first argument (tf.keras _CONSTANT_VALUE) is read, not taken for a malformed node", () => {
  // 2.0 - x is saved as subtract("_CONSTANT_VALUE" 2.0, y=x); the fixture's "2.0 - h / ..." covers the numbers.
  const json = readFileSync(`${FIXTURES}keras2/op_slicing_arithmetic/model.json`, "utf8");
  if (!json.includes('"_CONSTANT_VALUE"')) throw new Error("the fixture no longer has a constant first argument");
});

test("TensorFlowOpLayer (tf.keras 2.2–2.3): NodeDef ops kerasless lacks and binary NodeDefs are refused", () => {
  rejects(
    () =>
      loadEditedKeras2("op_tensorflow_op_layer", (layers) => {
        (layerNamed(layers, "Softmax").config.node_def as { op: string }).op = "Fft";
        layerNamed(layers, "Relu").config.node_def = "\n\u0004Relu\u0012\u0001h";
      }),
    "E_UNSUPPORTED",
    /TensorFlowOpLayer Fft is not supported.*TensorFlowOpLayer with a binary NodeDef \(TF 2\.0–2\.1\) is not supported/,
  );
});

test("einsum and split arguments kerasless does not run are refused at load, naming the op", () => {
  rejects(
    () =>
      loadEdited(
        "op_linalg_split",
        (layers) => void (layerNamed(layers, "einsum").config.subscripts = "...ij,...kj->...ik"),
      ),
    "E_UNSUPPORTED",
    /Keras op Einsum in layer "einsum": equation "\.\.\.ij,\.\.\.kj->\.\.\.ik" is not supported/,
  );
  rejects(
    () => loadEdited("op_linalg_split", (layers) => void (layerNamed(layers, "split").config.indices_or_sections = 3)),
    "E_UNSUPPORTED",
    /Keras op Split in layer "split": axis of size 4 does not split into 3 equal parts/,
  );
  rejects(
    () =>
      loadEditedKeras2("op_linalg_split", (layers) => {
        const split = layers.find((l) => l.config.name === "tf.split") as unknown as { inbound_nodes: unknown[][] };
        split.inbound_nodes[0][3] = { num_or_size_splits: [1, 1], axis: 2 };
      }),
    "E_UNSUPPORTED",
    /TFOpLambda tf\.split in layer "tf\.split": sizes \[1, 1\] do not split an axis of size 4/,
  );
});

test("pad modes, resize methods and indexes kerasless does not run are refused at load, naming the op", () => {
  rejects(
    () => loadEdited("op_pad_gather_resize", (layers) => void (layerNamed(layers, "pad_1").config.mode = "edge")),
    "E_UNSUPPORTED",
    /Keras op Pad in layer "pad_1": mode EDGE is not supported/,
  );
  rejects(
    () =>
      loadEdited(
        "op_pad_gather_resize",
        (layers) =>
          void (layerNamed(layers, "pad").config.pad_width = [
            [1, 0],
            [1, 2],
            [0, 1],
            [0, 0],
          ]),
      ),
    "E_UNSUPPORTED",
    /Keras op Pad in layer "pad": padding the batch axis is not supported/,
  );
  rejects(
    () =>
      loadEdited(
        "op_pad_gather_resize",
        (layers) =>
          void (layerNamed(layers, "pad_1").config.pad_width = [
            [0, 0],
            [6, 0],
            [0, 0],
            [0, 0],
          ]),
      ),
    "E_UNSUPPORTED",
    /Keras op Pad in layer "pad_1": paddings 6, 0 do not fit axis 1 of size 6 in REFLECT mode/,
  );
  rejects(
    () =>
      loadEdited("op_pad_gather_resize", (layers) => void (layerNamed(layers, "resize").config.interpolation = "area")),
    "E_UNSUPPORTED",
    /Keras op Resize in layer "resize": method "area" is not supported/,
  );
});

test("indexes outside the axis fail at predict, as in TensorFlow (E_INPUT_VALUE)", () => {
  const io = JSON.parse(readFileSync(`${FIXTURES}keras2/op_pad_gather_resize/io.json`, "utf8"));
  const model = loadEditedKeras2("op_pad_gather_resize", () => undefined);
  const [x, ids] = io.inputs.map((t: { shape: number[]; data: number[] }) => ({ shape: t.shape, data: t.data }));
  rejects(
    () => model.predict([x, { shape: ids.shape, data: ids.data.map((v: number, i: number) => (i === 1 ? 3 : v)) }]),
    "E_INPUT_VALUE",
    /index 3 is out of range for an axis of size 3/,
  );
  rejects(
    () => model.predict([x, { shape: ids.shape, data: ids.data.map((v: number, i: number) => (i === 1 ? -1 : v)) }]),
    "E_INPUT_VALUE",
    /index -1 is out of range/,
  );
});

test("Keras tensors as indexes: read at predict and checked there, refused at load unless scalar", () => {
  // A TFOpLambda node is its first argument's entry: [layer, node, tensor, kwargs].
  type NodeLayer = { inbound_nodes: unknown[][] };
  const edit = (name: string, change: (node: unknown[]) => void) =>
    loadEditedKeras2("op_tensor_index", (layers) =>
      change((layerNamed(layers, name) as unknown as NodeLayer).inbound_nodes[0]),
    );
  const io = JSON.parse(readFileSync(`${FIXTURES}keras2/op_tensor_index/io.json`, "utf8"));
  const inputs = io.inputs.map((t: { shape: number[]; data: number[] }) => ({ shape: t.shape, data: t.data }));
  // seq[:, tf.shape(seq)[1] - 1] with -5 for 1: index 12 of 7.
  const far = edit("tf.math.subtract_1", (node) => void ((node[3] as { y: number }).y = -5));
  rejects(() => far.predict(inputs), "E_INPUT_VALUE", /index 12 is out of range for an axis of size 7/);
  rejects(
    () =>
      edit(
        "tf.__operators__.getitem_2",
        (node) => void ((node[3] as { slice_spec: unknown[] }).slice_spec[1] = ["tf.compat.v1.shape", 0, 0]),
      ),
    "E_UNSUPPORTED",
    /getitem_2.*only integers, slices, \.\.\., None and scalar Keras tensors can index/,
  );
});
