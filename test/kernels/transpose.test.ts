/** Property test: transpose against index arithmetic, for random ranks (0-5), sizes (0 included) and permutations. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { transpose } from "../../src/kernels/transpose.js";

// Failures show the assertion that failed, not only the counterexample.
fc.configureGlobal({ includeErrorInReport: true });

const shapeAndPerm = fc
  .array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 5 })
  .chain((shape) =>
    fc
      .shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length })
      .map((perm) => ({ shape, perm })),
  );

test("transpose moves element x[i] to out[i permuted], for float32 and int32", () => {
  fc.assert(
    fc.property(shapeAndPerm, fc.boolean(), ({ shape, perm }, ints) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = ints
        ? Int32Array.from({ length: size }, (_, i) => i * 3 - 7)
        : Float32Array.from({ length: size }, (_, i) => i + 0.25);
      const out = ints ? new Int32Array(size) : new Float32Array(size);
      transpose(x, shape, perm, out);
      const outShape = perm.map((p) => shape[p]);
      // Walk every input index, compute its flat positions in x and in out.
      const index = new Array<number>(shape.length).fill(0);
      for (let flat = 0; flat < size; flat++) {
        let rest = flat;
        for (let a = shape.length - 1; a >= 0; a--) {
          index[a] = rest % shape[a];
          rest = Math.floor(rest / shape[a]);
        }
        let target = 0;
        for (let a = 0; a < perm.length; a++) target = target * outShape[a] + index[perm[a]];
        assert.equal(out[target], x[flat], `x[${index}] -> out position ${target}`);
      }
    }),
    { numRuns: 400 },
  );
});
