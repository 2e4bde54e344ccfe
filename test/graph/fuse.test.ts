/**
 * Load-time fusion (src/graph/fuse.ts) on the MobileNetV2 fixture (Keras 3) and the Teachable
 * Machine file (tf.keras, a MobileNetV2 nested in a Sequential): BatchNormalization and ReLU(6.)
 * layers after convolutions are computed in the convolutions' stores, ZeroPadding2D before them
 * is read as padding, the weights read back are the file's, and the outputs are the unfused
 * model's within float32 rounding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readArtifact } from "../../src/format/artifact.js";
import { loadWeights } from "../../src/format/weights.js";
import { graphFromConfig } from "../../src/graph/create.js";
import { fullRegistry } from "../../src/layers/registry.js";
import { loadModelFromBytes } from "../../src/load.js";
import { Model } from "../../src/model.js";
import { FIXTURES, assertClose, listFixtures } from "../helpers.js";

const CASES = [
  { suite: "keras3", name: "apps_mobilenet_v2", file: "model.keras" },
  { suite: "keras2", name: "teachable_machine", file: "keras_model.h5" },
];

for (const { suite, name, file } of CASES) {
  test(`${name}: BatchNormalization, ReLU(6.), ZeroPadding2D fused into convolutions, weights and numbers kept`, () => {
    const dir = join(FIXTURES, suite, name);
    const bytes = { name: join(dir, file), bytes: new Uint8Array(readFileSync(join(dir, file))) };
    const fused = loadModelFromBytes(bytes);
    // The same file loaded without the fusion step.
    const artifact = readArtifact(bytes);
    const graph = graphFromConfig(artifact.modelConfig, artifact.kerasMajor, fullRegistry);
    loadWeights(graph, artifact.weights);
    const plain = new Model(graph, artifact);

    const plans = fused.kernelPlans().filter((p) => p.backend === "fused");
    const classes = new Set(plans.map((p) => p.className));
    const all = ["BatchNormalization", "ReLU", "ZeroPadding2D"];
    assert.ok(
      all.every((c) => classes.has(c)),
      `fused: ${[...classes].join(", ")}`,
    );
    assert.ok(plans.length >= 20, `only ${plans.length} layers fused`);
    assert.equal(plain.kernelPlans().filter((p) => p.backend === "fused").length, 0);

    const [got, want] = [fused.getWeights(), plain.getWeights()];
    assert.equal(got.length, want.length);
    got.forEach((w, i) => assert.deepEqual(w.data, want[i].data, `weight #${i}`));

    const [fixture] = listFixtures(`${suite}/${name}`);
    for (const chunk of fixture.chunks) {
      const inputs = chunk.inputs.map((t) => ({ shape: t.shape, data: t.data }));
      const expected = plain.predict(inputs);
      fused.predict(inputs).forEach((output, i) => {
        const data = Array.from(expected[i].data as Float32Array);
        assertClose(output, { shape: [...expected[i].shape], dtype: "float32", data }, `${name} output #${i}`);
      });
    }
  });
}
