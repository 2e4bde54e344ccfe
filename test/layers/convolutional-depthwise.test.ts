/** DepthwiseConv1D/2D, SeparableConv1D/2D: the fixture cases against Keras, and load-time checks. */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

test("causal padding is refused where Keras refuses it (depthwise convolutions, SeparableConv2D)", () => {
  rejects(
    () =>
      loadEdited("depthwise_separable_2d", (layers) => {
        layerNamed(layers, "dw_valid").config.padding = "causal";
        layerNamed(layers, "sep_valid").config.padding = "causal";
      }),
    "E_UNSUPPORTED",
    new RegExp(
      String.raw`layer "dw_valid" \(DepthwiseConv2D\): padding="causal" is not supported[\s\S]*` +
        String.raw`layer "sep_valid" \(SeparableConv2D\): padding="causal"`,
    ),
  );
});

test("depthwise weights whose shape the config does not imply are refused at load time", () => {
  rejects(
    () =>
      loadEdited(
        "depthwise_separable_2d",
        (layers) => void (layerNamed(layers, "dw_same_m2").config.depth_multiplier = 3),
      ),
    "E_WEIGHTS_SHAPE",
    /"dw_same_m2" \(DepthwiseConv2D\): weight "depthwise_kernel" has shape \[3, 2, 3, 2\][\s\S]*implies \[3, 2, 3, 3\]/,
  );
});

// The fixture cases of this family, against Keras.
matchesKeras(["depthwise_separable_1d", "depthwise_separable_2d"]);
