import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MULTI_IO, cli, readJson, seed } from "./helpers.js";

describe("kerasless inspect", () => {
  test("prints the summary table, the Keras version, the format, the inputs and outputs", async () => {
    const run = await cli("inspect", seed("model.keras"));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const summary = readJson<{ summary: string }>(seed("meta.json")).summary;
    // Keras also prints the optimizer's parameters, which kerasless does not load.
    const table = summary
      .split("\n")
      .filter((l) => !l.includes("Optimizer params") && !l.includes("Total params") && l !== "");
    for (const line of table) assert.ok(run.stdout.includes(line), `missing summary line: ${line}`);
    assert.match(run.stdout, /Keras version: 3\.16\.0/);
    assert.match(run.stdout, /File format: +\.keras/);
    assert.match(run.stdout, /Inputs:\n {2}input_layer {2}\[None, 4, 3\] {2}float32\n/);
    assert.match(run.stdout, /Outputs:\n {2}dense {2}\[None, 1\] {2}float32\n/);
  });

  test("legacy .h5 and model.json + weights name their format", async () => {
    const h5 = await cli("inspect", seed("model.h5"));
    assert.equal(h5.code, 0, h5.stderr);
    assert.match(h5.stdout, /File format: +\.h5/);
    const json = await cli("inspect", seed("model.json"), "--weights", seed("model.weights.h5"));
    assert.equal(json.code, 0, json.stderr);
    assert.match(json.stdout, /File format: +model\.json/);
  });

  test("--kernels lists the kernels each recurrent, dense and convolutional layer runs on, and why", async () => {
    const run = await cli("inspect", seed("model.keras"), "--kernels");
    assert.equal(run.code, 0, run.stderr);
    // The seed's LSTM(3): tanh and sigmoid, so the whole step runs in WebAssembly where it can.
    const expected =
      process.env.KERASLESS_KERNELS === "js"
        ? /Kernels:\n {2}lstm \(LSTM\): typescript\n {6}kernel path js/
        : /Kernels:\n {2}lstm \(LSTM\): wasm-(relaxed-)?simd fused\n {6}the whole step in WebAssembly SIMD/;
    assert.match(run.stdout, expected);
    const json = await cli("inspect", seed("model.keras"), "--json", "--kernels");
    const info = JSON.parse(json.stdout) as { kernels: { layer: string; backend: string; why: string[] }[] };
    // The Dense(1) head too: 3x1 weights, too small for the SIMD product.
    assert.deepEqual(
      info.kernels.map((k) => [k.layer, k.backend]),
      [
        ["lstm", info.kernels[0].backend],
        ["dense", "typescript"],
      ],
    );
  });

  test("--json prints the same information as JSON", async () => {
    const run = await cli("inspect", seed("model.keras"), "--json");
    assert.equal(run.code, 0, run.stderr);
    const info = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(info.kerasVersion, "3.16.0");
    assert.equal(info.kerasMajor, 3);
    assert.equal(info.format, "keras");
    assert.equal(info.name, "sequential");
    assert.deepEqual(info.inputs, [{ name: "input_layer", shape: [null, 4, 3], dtype: "float32" }]);
    assert.deepEqual(info.outputs, [{ name: "dense", shape: [null, 1], dtype: "float32" }]);
    assert.deepEqual(info.params, { total: 88, trainable: 88, nonTrainable: 0 });
    assert.deepEqual(
      (info.layers as { name: string; className: string; params: number }[]).map((l) => [
        l.name,
        l.className,
        l.params,
      ]),
      [
        ["lstm", "LSTM", 84],
        ["dense", "Dense", 4],
      ],
    );
    assert.match(info.summary as string, /lstm \(LSTM\)/);
  });

  test("several inputs and outputs", async () => {
    const info = JSON.parse((await cli("inspect", `${MULTI_IO}/model.keras`, "--json")).stdout) as {
      inputs: { name: string }[];
      outputs: { name: string }[];
    };
    assert.deepEqual(
      info.inputs.map((i) => i.name),
      ["seq", "vec"],
    );
    assert.deepEqual(
      info.outputs.map((o) => o.name),
      ["head_a", "head_b"],
    );
  });
});
