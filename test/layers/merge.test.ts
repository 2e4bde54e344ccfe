/** Merge layers (src/layers/merge.ts): the fixture cases, against Keras, and what is refused. */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

matchesKeras(["masking_merge", "merge_broadcast", "merge_layers"]);

test("a merge layer called with a constant (a Keras 3 op saved to .h5 without its module) is refused", () => {
  // Keras 3 writes `x + 3.0` to a legacy .h5 as {"class_name": "Add"} with args [x, 3.0]; Keras
  // cannot reload it, and the merge layer on x alone would give other numbers.
  rejects(
    () =>
      loadEdited("merge_broadcast", (layers) => {
        const add = layerNamed(layers, "add") as unknown as { inbound_nodes: { args: unknown[] }[] };
        add.inbound_nodes[0].args.push(3);
      }),
    "E_UNSUPPORTED",
    /layer "add" \(Add\): is called with the constant 3 among its inputs: a Keras 3 operation saved to \.h5/,
  );
});
