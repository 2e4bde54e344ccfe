/**
 * Reshaping layers (src/layers/reshaping.ts): the fixture cases against Keras, and config checks of
 * ZeroPadding1D / Cropping1D / UpSampling1D.
 */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras(["padding_cropping_upsampling", "reshape_layers"]);

test("cropping away the whole sequence is refused at load time, as Keras refuses it", () => {
  rejects(
    () =>
      loadEdited(
        "padding_cropping_upsampling",
        (layers) => void (layerNamed(layers, "cropping_1_2").config.cropping = [2, 3]),
      ),
    "E_INPUT_SHAPE",
    /layer "cropping_1_2" \(Cropping1D\): cropping \[2, 3\] leaves nothing of 5 steps/,
  );
});

test("negative or malformed paddings are config errors", () => {
  rejects(
    () =>
      loadEdited(
        "padding_cropping_upsampling",
        (layers) => void (layerNamed(layers, "zero_padding_2").config.padding = [1, -1]),
      ),
    "E_CONFIG",
    /"padding" should be two non-negative integers/,
  );
  rejects(
    () =>
      loadEdited("padding_cropping_upsampling", (layers) => void (layerNamed(layers, "upsampling_3").config.size = 0)),
    "E_CONFIG",
    /"size" should be a positive integer/,
  );
});
