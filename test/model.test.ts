/** Model metadata and summary against what Keras reported for every fixture. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../src/load.js";
import { kernelPath, setKernelPath } from "../src/kernels/wasm.js";
import { listFixtures, type Fixture } from "./helpers.js";

interface KerasSummary {
  total_params: number;
  layers: { name: string; class_name: string; params: number }[];
}

const load = (fixture: Fixture, index = 0) => {
  const format = fixture.formats[index];
  const read = (name: string) => ({ name, bytes: new Uint8Array(readFileSync(join(fixture.dir, name))) });
  return loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
};

for (const fixture of [...listFixtures("keras3"), ...listFixtures("keras2")]) {
  const summary = fixture.io.summary as KerasSummary | undefined;
  if (summary === undefined) continue;
  test(`parameter counts equal Keras': ${fixture.id}`, () => {
    for (let i = 0; i < fixture.formats.length; i++) {
      const data = load(fixture, i).summaryData();
      const rows = new Map(data.rows.map((r) => [r.name, r]));
      for (const layer of summary.layers) {
        if (layer.class_name === "InputLayer" && !rows.has(layer.name)) continue; // Sequential omits it, like Keras
        assert.equal(
          rows.get(layer.name)?.params,
          layer.params,
          `${fixture.formats[i].model}: params of ${layer.name}`,
        );
      }
      assert.equal(
        data.trainableParams + data.nonTrainableParams,
        summary.total_params,
        `${fixture.formats[i].model}: total`,
      );
    }
  });
  test(`input and output names equal Keras': ${fixture.id}`, () => {
    const model = load(fixture);
    if (fixture.inputs[0].name !== undefined)
      assert.deepEqual(
        model.inputs.map((i) => i.name),
        fixture.inputs.map((i) => i.name),
      );
    // A size Keras leaves unknown (None) is null: slices bounded by tensors, take by a tensor of indices.
    assert.deepEqual(
      model.outputs.map((o, k) => o.shape.slice(1).map((d, i) => d ?? fixture.outputs[k].shape[i + 1])),
      fixture.outputs.map((o) => o.shape.slice(1)),
    );
  });
}

test("summary() renders the Keras 3 table for the seed model", () => {
  const [seed] = listFixtures("seed");
  const text = load(seed).summary();
  assert.match(text, /^Model: "sequential"/);
  assert.match(text, /│ lstm \(LSTM\) +│ \(None, 3\) +│ +84 │/);
  assert.match(text, /│ dense \(Dense\) +│ \(None, 1\) +│ +4 │/);
  assert.match(text, / Total params: 88 \(352\.00 B\)/);
  assert.match(text, / Trainable params: 88 \(352\.00 B\)/);
  assert.match(text, / Non-trainable params: 0 \(0\.00 B\)/);
});

test("getWeights() returns W, U, b, Wout, bout like Keras' model.get_weights()", () => {
  const [seed] = listFixtures("seed");
  const shapes = load(seed)
    .getWeights()
    .map((w) => [...w.shape]);
  assert.deepEqual(shapes, [[3, 12], [3, 12], [12], [3, 1], [1]]);
});

// WebAssembly cells read their weights back from their memory.
test("getWeights() gives the file's weights on both kernel paths", () => {
  const selected = kernelPath();
  try {
    for (const fixture of [...listFixtures("keras3"), ...listFixtures("keras2"), ...listFixtures("real-world")]) {
      setKernelPath("js");
      const reference = load(fixture).getWeights();
      setKernelPath("wasm");
      const fromWasm = load(fixture).getWeights();
      assert.equal(fromWasm.length, reference.length, fixture.id);
      fromWasm.forEach((w, i) => {
        assert.deepEqual([...w.shape], [...reference[i].shape], `${fixture.id} weight ${i}: shape`);
        assert.deepEqual(w.data, reference[i].data, `${fixture.id} weight ${i}`);
      });
    }
  } finally {
    setKernelPath(selected);
  }
});
