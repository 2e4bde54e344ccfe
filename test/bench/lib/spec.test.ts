/** The harness' parity rule and inputs: a contender that disagrees with Keras must be caught. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareWithKeras, loadWorkloads, prngFloats } from "../../../bench/lib/spec.js";

test("compareWithKeras applies |got - expected| <= 1e-5 + 1e-4 |expected| to every value", () => {
  const expected = Float32Array.from([1000, -0.5, 0]);
  assert.equal(compareWithKeras([1000.1, -0.50006, 0.00001], expected).ok, true);
  const off = compareWithKeras([1000, -0.5, 0.00002], expected);
  assert.equal(off.ok, false);
  assert.match(off.problem!, /value 2 /);
  assert.equal(compareWithKeras([1000, NaN, 0], expected).ok, false);
  assert.equal(compareWithKeras([1000, -0.5], expected).ok, false);
});

test("inputs: exact float32 values in [-1, 1); every workload has a Keras reference of its batch", () => {
  const values = prngFloats(7, 1000);
  assert.ok(values.every((v) => v >= -1 && v < 1));
  assert.deepEqual(prngFloats(7, 3), values.subarray(0, 3));
  assert.notDeepEqual(prngFloats(8, 3), values.subarray(0, 3));
  for (const w of loadWorkloads()) {
    assert.equal(w.input.length, w.inputShape[0] * w.inputShape[1] * w.inputShape[2], w.id);
    assert.equal(
      w.input.length,
      w.tensorShape.reduce((p, d) => p * d, 1),
      w.id,
    );
    assert.equal(w.expectedShape[0], w.batch, w.id);
  }
});
