/** Model config parsing: how a call's arguments become inputs and keyword arguments. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseModelConfig } from "../../src/graph/config.js";

const tensor = (layer: string, node = 0, index = 0) => ({
  class_name: "__keras_tensor__",
  config: { shape: [null, 3], dtype: "float32", keras_history: [layer, node, index] },
});
const input = (name: string) => ({
  class_name: "InputLayer",
  name,
  config: { name, batch_shape: [null, 3] },
  inbound_nodes: [],
});

function functional(layer: Record<string, unknown>) {
  return parseModelConfig({
    class_name: "Functional",
    config: {
      name: "m",
      layers: [input("a"), input("b"), input("c"), { class_name: "X", name: "x", config: {}, ...layer }],
      input_layers: [["a", 0, 0]],
      output_layers: [["x", 0, 0]],
    },
  }).layers[3].inboundNodes[0];
}

test("Keras 3: positional tensors, then initial_state; tensor keywords and constants apart", () => {
  const node = functional({
    inbound_nodes: [
      {
        args: [tensor("a"), tensor("b")],
        kwargs: {
          mask: [null, tensor("c")],
          initial_state: [tensor("b", 0, 0)],
          return_attention_scores: true,
          training: false,
          key: tensor("a"),
        },
      },
    ],
  });
  assert.deepEqual(
    node.inputs.map((r) => r.layer),
    ["a", "b", "b"],
  );
  assert.equal(node.keywords.positional, 2);
  assert.deepEqual(Object.keys(node.keywords.tensors), ["mask", "key"]);
  assert.deepEqual(
    node.keywords.tensors.mask.map((r) => r?.layer ?? null),
    [null, "c"],
  );
  assert.deepEqual(
    node.keywords.tensors.key.map((r) => [r?.layer, r?.style, r?.dtype]),
    [["a", "call", "float32"]],
  );
  assert.deepEqual(node.keywords.constants, { return_attention_scores: true, training: false });
});

test("Keras 2: kwargs are read once although every first-argument entry repeats them", () => {
  const kwargs = {
    mask: [
      ["b", 0, 0],
      ["c", 0, 0],
    ],
    value: ["b", 0, 0],
    use_causal_mask: true,
  };
  const node = functional({
    inbound_nodes: [
      [
        ["a", 0, 0, kwargs],
        ["b", 0, 0, kwargs],
      ],
    ],
  });
  assert.deepEqual(
    node.inputs.map((r) => r.layer),
    ["a", "b"],
  );
  assert.equal(node.keywords.positional, 2);
  assert.deepEqual(
    node.keywords.tensors.mask.map((r) => [r?.layer, r?.style]),
    [
      ["b", "list"],
      ["c", "list"],
    ],
  );
  assert.deepEqual(
    node.keywords.tensors.value.map((r) => r?.layer),
    ["b"],
  );
  assert.deepEqual(node.keywords.constants, { use_causal_mask: true });
});

test("Keras 2: initial_state tensors follow the first argument, as before", () => {
  const node = functional({
    inbound_nodes: [
      [
        [
          "a",
          0,
          0,
          {
            initial_state: [
              ["b", 0, 0],
              ["c", 0, 0],
            ],
          },
        ],
      ],
    ],
  });
  assert.deepEqual(
    node.inputs.map((r) => r.layer),
    ["a", "b", "c"],
  );
  assert.deepEqual(node.keywords.tensors, {});
});

test("a keyword argument mixing tensors and other values is a config error", () => {
  assert.throws(
    () => functional({ inbound_nodes: [{ args: [tensor("a")], kwargs: { mask: [tensor("b"), 3] } }] }),
    /call argument "mask" mixes tensors with 3/,
  );
});
