/** loadModel(path) on .onnx files with external data: the model's folder only. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../src/node.js";
import { FIXTURES, assertClose } from "../helpers.js";
import { KeraslessError } from "../../src/errors.js";
import { bytes, int, model, node, str, valueInfo } from "../onnx/write.js";

const fixture = join(FIXTURES, "onnx/op_gru_external");

test("a model with external data loads from its path, the data read from its folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kerasless-onnx-"));
  copyFileSync(join(fixture, "model.onnx"), join(dir, "model.onnx"));
  copyFileSync(join(fixture, "weights.bin"), join(dir, "weights.bin"));
  const io = JSON.parse(readFileSync(join(fixture, "io.json"), "utf8"));
  const m = await loadModel(join(dir, "model.onnx"));
  const got = m.predict(io.inputs.map((i: { shape: number[]; data: number[] }) => ({ shape: i.shape, data: i.data })));
  io.outputs.forEach((o: { shape: number[]; data: number[]; dtype: "float32" }, k: number) =>
    assertClose(got[k], o, "output"),
  );
});

/** x [2] + w, w stored in `location`. */
function externalModel(location: string): Uint8Array {
  const w = [
    ...int(1, 2),
    ...int(2, 1),
    ...str(8, "w"),
    ...bytes(13, [...str(1, "location"), ...str(2, location)]),
    ...int(14, 1),
  ];
  return model({
    nodes: [node("Add", ["x", "w"], ["y"])],
    initializers: [w],
    inputs: [valueInfo("x", [2])],
    outputs: [valueInfo("y", [2])],
  });
}

test("locations that leave the model's folder are refused, links out included", async () => {
  const root = mkdtempSync(join(tmpdir(), "kerasless-onnx-"));
  const dir = join(root, "model");
  mkdirSync(join(dir, "sub"), { recursive: true });
  const secret = join(root, "secret.bin");
  writeFileSync(secret, new Uint8Array(8));
  writeFileSync(join(dir, "inside.bin"), new Uint8Array(new Float32Array([1, 2]).buffer));
  symlinkSync(secret, join(dir, "link.bin"));
  const cases: [string, RegExp][] = [
    ["../secret.bin", /leaves the model's folder/],
    ["sub/../../secret.bin", /leaves the model's folder/],
    [secret, /is an absolute path/],
    ["/etc/passwd", /is an absolute path/],
    ["C:\\\\windows\\\\x", /is an absolute path/],
    ["link.bin", /links to a file outside the model's folder/],
    [".", /leaves the model's folder/],
  ];
  for (const [location, pattern] of cases) {
    const path = join(dir, "m.onnx");
    writeFileSync(path, externalModel(location));
    await assert.rejects(loadModel(path), (e: unknown) => {
      assert.ok(e instanceof KeraslessError, String(e));
      assert.equal(e.code, "E_FORMAT", e.message);
      assert.match(e.message, pattern);
      return true;
    });
  }
  writeFileSync(join(dir, "m.onnx"), externalModel("missing.bin"));
  await assert.rejects(loadModel(join(dir, "m.onnx")), /E_IO|cannot read the external data file "missing.bin"/);
  writeFileSync(join(dir, "m.onnx"), externalModel("inside.bin"));
  const ok = await loadModel(join(dir, "m.onnx"));
  assert.deepEqual([...ok.predict({ shape: [2], data: [10, 20] })[0].data], [11, 22]);
});

test("bytes with options.externalData (the browser way)", async () => {
  const m = await loadModel(externalModel("w.bin"), {
    externalData: { "w.bin": new Float32Array([5, 6]).buffer },
  });
  assert.deepEqual([...m.predict({ shape: [2], data: [1, 1] })[0].data], [6, 7]);
});
