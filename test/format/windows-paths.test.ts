/**
 * tf.keras 2.13+ / tf_keras `.keras` files written on Windows (issue 14 section 3): their object
 * paths in model.weights.h5 are single root groups named with backslashes ("layers\\gru\\cell").
 * test/load.test.ts checks that kerasless reads the fixture with tf_keras' numbers (suite
 * "loading"); this checks that the fixture is that layout, and that nothing else differs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { openHdf5 } from "../../src/io/hdf5/index.js";
import { readZip } from "../../src/io/zip.js";
import { FIXTURES } from "../helpers.js";

const dir = `${FIXTURES}loading/tfkeras_windows_paths/`;
const members = (file: string) => readZip(new Uint8Array(readFileSync(`${dir}${file}`)), file, () => true);

test("the Windows file's object paths are root groups named with backslashes; the zip members are the same", () => {
  const windows = members("model.keras");
  const posix = members("model_posix.keras");
  assert.deepEqual([...windows.keys()].sort(), [...posix.keys()].sort());
  const root = openHdf5(windows.get("model.weights.h5")!, "model.weights.h5");
  const keys = root.keys();
  assert.ok(keys.includes("layers\\bidirectional\\forward_layer\\cell"), keys.join(", "));
  assert.ok(keys.includes("layers\\sequential\\layers\\dense"), keys.join(", "));
  assert.ok(!keys.includes("layers"), "no posix layers/ group");
  assert.ok(root.isGroup("layers\\gru\\cell/vars"));
  const posixRoot = openHdf5(posix.get("model.weights.h5")!, "model.weights.h5");
  assert.ok(posixRoot.isGroup("layers/gru/cell/vars"));
});
