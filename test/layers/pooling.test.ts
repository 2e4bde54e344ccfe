/** Pooling layers (src/layers/pooling.ts): the fixture cases against Keras, and config checks. */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras(["masked_pooling_normalization", "pooling_1d", "pooling_2d_3d"]);

test("a valid-padded pool longer than the sequence is refused at load time", () => {
  rejects(
    () => loadEdited("pooling_1d", (layers) => void (layerNamed(layers, "avg_pool_2").config.pool_size = [8])),
    "E_INPUT_SHAPE",
    /layer "avg_pool_2" \(AveragePooling1D\): a pool of 8 does not fit in 7 steps/,
  );
});

test("pool sizes must be positive integers", () => {
  rejects(
    () => loadEdited("pooling_1d", (layers) => void (layerNamed(layers, "max_default").config.strides = [0])),
    "E_CONFIG",
    /config "strides" should be one integer >= 1, got \[0\]/,
  );
  rejects(
    () => loadEdited("pooling_1d", (layers) => void (layerNamed(layers, "global_avg").config.data_format = "nchw")),
    "E_CONFIG",
    /data_format "nchw" is neither/,
  );
});

test("2D and 3D pools are checked per spatial axis at load time", () => {
  rejects(
    () =>
      loadEdited("pooling_2d_3d", (layers) => void (layerNamed(layers, "avg3d_valid_s1").config.pool_size = [2, 6, 3])),
    "E_INPUT_SHAPE",
    /layer "avg3d_valid_s1" \(AveragePooling3D\): a pool of 6 does not fit in size 5 of spatial axis 2/,
  );
  rejects(
    () =>
      loadEdited("pooling_2d_3d", (layers) => void (layerNamed(layers, "max2d_default").config.strides = [1, 2, 3])),
    "E_CONFIG",
    /config "strides" should be an integer or 2 integers >= 1, got \[1,2,3\]/,
  );
});
