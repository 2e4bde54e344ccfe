/** Pooling layers (src/layers/pooling.ts): the fixture cases against Keras, and config checks. */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras(["masked_pooling_normalization", "pooling_1d"]);

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
