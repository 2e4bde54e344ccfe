/**
 * Normalization layers (src/layers/normalization*.ts): the fixture cases against Keras 3 and Keras 2,
 * config checks and streaming.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import { listFixtures, matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras([
  "batch_normalization_variants",
  "group_unit_normalization",
  "layer_normalization_variants",
  "normalization_preprocessing",
  "normalized_lstm",
  "rms_normalization",
]);

// Keras 3.15.1 on these fixtures: sum of sizes of model.trainable_weights / model.non_trainable_weights.
const KERAS_SPLIT = {
  batch_normalization_variants: { trainable: 158, nonTrainable: 86 },
  normalization_preprocessing: { trainable: 68, nonTrainable: 38 },
};

test("moving statistics and adapted statistics are non-trainable parameters, as Keras splits them", () => {
  for (const [fixture, want] of Object.entries(KERAS_SPLIT)) {
    const summary = loadEdited(fixture, () => {}).summaryData();
    assert.deepEqual({ trainable: summary.trainableParams, nonTrainable: summary.nonTrainableParams }, want, fixture);
  }
});

test("options that change inference and are not run are reported, all at once", () => {
  rejects(
    () =>
      loadEdited("batch_normalization_variants", (layers) => {
        layerNamed(layers, "bn_default").config.virtual_batch_size = 2;
        layers.push({ class_name: "SpectralNormalization", config: { name: "spectral" } });
      }),
    "E_UNSUPPORTED",
    /bn_default" \(BatchNormalization\): virtual_batch_size is not supported[\s\S]*spectral" \(SpectralNormalization\)/,
  );
});

test("an RMSNormalization scale that Keras could not multiply into the input's last axes is refused at load", () => {
  rejects(
    () => loadEdited("rms_normalization", (layers) => void (layerNamed(layers, "rms_default").config.axis = 1)),
    "E_CONFIG",
    new RegExp(
      String.raw`layer "rms_default" \(RMSNormalization\): the scale \[5\] does not broadcast against ` +
        String.raw`the last axes of the input \[None, 5, 6\]`,
    ),
  );
});

test("a Normalization mean that does not broadcast to the normalized axes is a config error", () => {
  rejects(
    () =>
      loadEdited(
        "normalization_preprocessing",
        (layers) => void (layerNamed(layers, "norm_given").config.mean = [1, 2]),
      ),
    "E_CONFIG",
    new RegExp(
      String.raw`layer "norm_given" \(Normalization\): ` +
        String.raw`the mean of shape \[2\] does not broadcast to the normalized axes' shape \[3\]`,
    ),
  );
  rejects(
    () =>
      loadEdited(
        "normalization_preprocessing",
        (layers) => void (layerNamed(layers, "norm_given").config.variance = [[1, 2], [3]]),
      ),
    "E_CONFIG",
    /config "variance" should be a number or a rectangular array of numbers/,
  );
  rejects(
    () =>
      loadEdited(
        "normalization_preprocessing",
        (layers) => void (layerNamed(layers, "rescale_lists").config.scale = [1, 2]),
      ),
    "E_CONFIG",
    new RegExp(
      String.raw`layer "rescale_lists" \(Rescaling\): ` +
        String.raw`scale/offset of shape \[2\] do not broadcast to the input shape \[None, 5, 3\]`,
    ),
  );
});

test("GroupNormalization needs a channel count divisible by its groups", () => {
  rejects(
    () => loadEdited("group_unit_normalization", (layers) => void (layerNamed(layers, "gn_2").config.groups = 4)),
    "E_CONFIG",
    /layer "gn_2" \(GroupNormalization\): 6 channels cannot be split into 4 groups/,
  );
});

test("per-step normalization layers stream: step by step equals predict", () => {
  for (const fixture of [...listFixtures("keras3"), ...listFixtures("keras2")].filter((f) =>
    f.id.endsWith("/normalized_lstm"),
  )) {
    for (const format of fixture.formats) {
      const read = (name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(fixture.dir, name))) });
      const model = loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
      const [x] = fixture.inputs;
      const [batch, steps, features] = x.shape;
      const full = model.predict([{ shape: x.shape, data: x.data }]);
      const stream = model.stream();
      for (let t = 0; t < steps; t++) {
        const step = new Float32Array(batch * features);
        for (let b = 0; b < batch; b++)
          for (let f = 0; f < features; f++) step[b * features + f] = x.data[(b * steps + t) * features + f];
        const [seq, last] = stream.step({ shape: [batch, features], data: step });
        const units = seq.shape[1];
        for (let b = 0; b < batch; b++) {
          for (let u = 0; u < units; u++) {
            const want = full[0].data[(b * steps + t) * units + u];
            assert.ok(
              Math.abs(seq.data[b * units + u] - want) <= 1e-6 * (1 + Math.abs(want)),
              `${fixture.id} ${format.model} step ${t}`,
            );
          }
        }
        if (t === steps - 1)
          last.data.forEach((v, i) =>
            assert.ok(
              Math.abs(v - full[1].data[i]) <= 1e-6 * (1 + Math.abs(full[1].data[i])),
              `${fixture.id} last state`,
            ),
          );
      }
    }
  }
});

test("normalizations over the time axis refuse to stream, naming the layer", () => {
  rejects(
    () => loadEdited("layer_normalization_variants", () => {}).stream(),
    "E_UNSUPPORTED",
    /layer "ln_time_and_features" \(LayerNormalization\) normalizes over the time axis/,
  );
  rejects(
    () => loadEdited("group_unit_normalization", () => {}).stream(),
    "E_UNSUPPORTED",
    /layer "gn_2" \(GroupNormalization\) normalizes over the time axis/,
  );
});
