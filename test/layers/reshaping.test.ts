/**
 * Reshaping layers (src/layers/reshaping.ts, reshaping-nd.ts): the fixture cases against Keras, and
 * config checks of ZeroPadding / Cropping / UpSampling.
 */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras(["padding_cropping_2d_3d", "padding_cropping_upsampling", "reshape_layers"]);

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

test("2D/3D paddings and croppings take an int, one int per axis or one pair per axis", () => {
  rejects(
    () =>
      loadEdited(
        "padding_cropping_2d_3d",
        (layers) =>
          void (layerNamed(layers, "crop2d_pairs").config.cropping = [
            [3, 2],
            [0, 0],
          ]),
      ),
    "E_INPUT_SHAPE",
    /layer "crop2d_pairs" \(Cropping2D\): cropping \[3, 2\] leaves nothing of size 5 of spatial axis 1/,
  );
  rejects(
    () =>
      loadEdited(
        "padding_cropping_2d_3d",
        (layers) =>
          void (layerNamed(layers, "pad3d_pairs").config.padding = [
            [1, 0],
            [0, 2],
          ]),
      ),
    "E_CONFIG",
    /"padding" should be a non-negative integer, 3 of them, or 3 pairs of them/,
  );
});

test("UpSampling interpolations other than nearest, bilinear and bicubic are named at load", () => {
  rejects(
    () =>
      loadEdited(
        "padding_cropping_2d_3d",
        (layers) => void (layerNamed(layers, "up2d_bilinear").config.interpolation = "lanczos3"),
      ),
    "E_UNSUPPORTED",
    /up2d_bilinear.*interpolation="lanczos3" is not supported/,
  );
});
