/**
 * Legacy .h5 weight lookup against files that name one dataset many times (issue 18): repeated
 * names are refused, counts are compared before anything is read, and datasets reached under
 * several names (hard links) are charged to the file's budget on every read.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { sharedKernelFile } from "../fuzz/structures/weights.js";

function load(bytes: Uint8Array): unknown {
  const start = performance.now();
  try {
    return loadModelFromBytes({ name: "shared.h5", bytes });
  } catch (e) {
    if (!(e instanceof KeraslessError)) throw e;
    return e;
  } finally {
    assert.ok(performance.now() - start < 2000, "within 2 s");
  }
}

test("an honest legacy file built here loads (the generator is valid)", () => {
  const model = load(sharedKernelFile(1, 8, ["kernel"]));
  assert.ok(!(model instanceof Error), String(model));
});

test("weight_names listing one dataset twice is refused before anything is read", () => {
  const outcome = load(sharedKernelFile(1, 2048, ["kernel", "kernel"]));
  assert.ok(outcome instanceof KeraslessError);
  assert.equal(outcome.code, "E_HDF5");
  assert.match(outcome.message, /the weight_names of layer "d0" list one weight twice/);
});

test("one compressed dataset reached by 20 layers is inflated within the file's budget, not 20 times", () => {
  const before = process.memoryUsage().arrayBuffers;
  const bytes = sharedKernelFile(20, 2048, ["kernel"]);
  assert.ok(bytes.length < 64 * 1024);
  const outcome = load(bytes);
  assert.ok(outcome instanceof KeraslessError, "E_LIMIT expected");
  assert.equal(outcome.code, "E_LIMIT");
  assert.match(outcome.message, /inflate to more than|bytes of dataset values/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 128 * 1024 * 1024);
});
