/**
 * The shared layer helpers of src/layers/axes.ts: broadcasting against index arithmetic for random
 * shapes (property test), and the axis checks every family relies on.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { broadcastIndex, keepAxes, reduceAxes } from "../../src/layers/axes.js";

fc.configureGlobal({ includeErrorInReport: true });

/** A target shape and a source shape that broadcasts to it (right-aligned, each size 1 or equal). */
const broadcastPair = fc
  .array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 5 })
  .chain((shape) =>
    fc
      .integer({ min: 0, max: shape.length })
      .chain((dropped) =>
        fc
          .array(fc.boolean(), { minLength: shape.length - dropped, maxLength: shape.length - dropped })
          .map((ones) => ({ shape, source: shape.slice(dropped).map((d, k) => (ones[k] ? 1 : d)) })),
      ),
  );

test("broadcastIndex gives each element the source value numpy broadcasting gives it", () => {
  fc.assert(
    fc.property(broadcastPair, ({ shape, source }) => {
      const index = broadcastIndex(shape, source);
      assert.ok(index !== null);
      const size = shape.reduce((a, b) => a * b, 1);
      assert.equal(index.length, size);
      const offset = shape.length - source.length;
      for (let flat = 0; flat < size; flat++) {
        // The element's coordinates, then the source's (0 where the source has size 1).
        let rest = flat;
        const coord = shape.map(() => 0);
        for (let a = shape.length - 1; a >= 0; a--) {
          coord[a] = rest % shape[a];
          rest = Math.floor(rest / shape[a]);
        }
        let want = 0;
        for (let k = 0; k < source.length; k++) want = want * source[k] + (source[k] === 1 ? 0 : coord[k + offset]);
        assert.equal(index[flat], want, `element ${flat} of ${JSON.stringify(shape)} from ${JSON.stringify(source)}`);
      }
    }),
  );
});

test("broadcastIndex refuses shapes that do not broadcast", () => {
  assert.equal(broadcastIndex([2, 3], [2]), null);
  assert.equal(broadcastIndex([3], [1, 3]), null);
  assert.notEqual(broadcastIndex([2, 3], [1, 3]), null);
});

test("keepAxes and reduceAxes give the parameter and statistics shapes of a set of axes", () => {
  assert.deepEqual(keepAxes([4, 5, 6], [1, 2]), [1, 5, 6]);
  assert.deepEqual(reduceAxes([4, 5, 6], [1, 2]), [4, 1, 1]);
});
