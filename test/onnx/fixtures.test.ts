/**
 * Every ONNX fixture (PyTorch TorchScript and dynamo exports, tf2onnx conversions, single ops)
 * against the framework's own outputs, on both kernel paths.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import { kernelPath, setKernelPath, type KernelPath } from "../../src/kernels/wasm.js";
import { assertClose, FIXTURES, type FixtureTensor } from "../helpers.js";

const ROOT = join(FIXTURES, "onnx");

interface OnnxFixture {
  case: string;
  exporter: string;
  ops: string[];
  inputs: (FixtureTensor & { name: string })[];
  outputs: (FixtureTensor & { name: string })[];
}

const fixtures: OnnxFixture[] = readdirSync(ROOT)
  .sort()
  .map((dir) => JSON.parse(readFileSync(join(ROOT, dir, "io.json"), "utf8")) as OnnxFixture);

function loadFixture(name: string) {
  const dir = join(ROOT, name);
  // Fixtures with external data keep it in weights.bin next to model.onnx.
  const externalData = existsSync(join(dir, "weights.bin"))
    ? { "weights.bin": new Uint8Array(readFileSync(join(dir, "weights.bin"))) }
    : undefined;
  return loadModelFromBytes({ name: `${name}/model.onnx`, bytes: readFileSync(join(dir, "model.onnx")) }, undefined, {
    externalData,
  });
}

function fixtureInputs(f: OnnxFixture) {
  return f.inputs.map((i) => ({ shape: i.shape, data: Float32Array.from(i.data) }));
}

test("the fixtures cover both torch exporters, tf2onnx and single ops", () => {
  const exporters = new Set(fixtures.map((f) => f.exporter));
  assert.deepEqual([...exporters].sort(), ["onnx.helper", "tf2onnx", "torch-dynamo", "torch-ts"]);
  assert.ok(fixtures.length >= 30, `${fixtures.length} fixtures`);
});

for (const f of fixtures) {
  for (const path of ["js", "wasm"] as KernelPath[]) {
    test(`${f.case} (${f.exporter}, ${path} kernels) matches the framework`, () => {
      const before = kernelPath();
      setKernelPath(path);
      try {
        const model = loadFixture(f.case);
        assert.equal(model.format, "onnx");
        assert.deepEqual(
          model.inputs.map((i) => i.name),
          f.inputs.map((i) => i.name),
        );
        assert.deepEqual(
          model.outputs.map((o) => o.name),
          f.outputs.map((o) => o.name),
        );
        const got = model.predict(fixtureInputs(f));
        assert.equal(got.length, f.outputs.length);
        f.outputs.forEach((want, k) => assertClose(got[k], want, `${f.case} output ${want.name}`));
      } finally {
        setKernelPath(before);
      }
    });
  }
}
