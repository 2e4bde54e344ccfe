/**
 * Preprocessing layers (src/layers/preprocessing.ts): Resizing, CenterCrop, RandomCrop and the
 * Random* augmentation layers against Keras at inference, and config checks.
 */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras(["random_augmentation", "random_augmentation_no_h5", "resizing_antialias", "resizing_center_crop"]);

test("resize methods TensorFlow's kernels lack here (area) are named at load", () => {
  rejects(
    () =>
      loadEdited(
        "resizing_center_crop",
        (layers) => void (layerNamed(layers, "bilinear_up").config.interpolation = "area"),
      ),
    "E_UNSUPPORTED",
    /bilinear_up.*interpolation="area" is not supported/,
  );
});
