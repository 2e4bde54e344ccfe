/**
 * Property tests: matmulBias and vecMatAccumulate against a plain float64 triple loop, on random
 * shapes (zero-sized included), offsets and magnitudes. The error allowed for each output is
 * float32 rounding of its terms' total magnitude, so cancellation cannot hide a wrong index.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { matmulBias, vecMatAccumulate } from "../../src/kernels/matmul.js";

// Failures show the assertion that failed, not only the counterexample.
fc.configureGlobal({ includeErrorInReport: true });

const EPS32 = 2 ** -23;
const magnitude = fc.constantFrom(1, 1e-3, 1e3, 1e6);
const floats = (n: number, scale: number) =>
  fc
    .array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n })
    .map((v) => Float32Array.from(v, (x) => x * scale));

test("matmulBias: out = bias + a . b, row by row, at any offsets", () => {
  fc.assert(
    fc.property(
      fc.record({
        rows: fc.integer({ min: 0, max: 5 }),
        inner: fc.integer({ min: 0, max: 6 }),
        cols: fc.integer({ min: 0, max: 6 }),
        aOffset: fc.integer({ min: 0, max: 3 }),
        outOffset: fc.integer({ min: 0, max: 3 }),
        withBias: fc.boolean(),
      }),
      magnitude,
      fc.integer(),
      ({ rows, inner, cols, aOffset, outOffset, withBias }, scale, seed) =>
        fc.assert(
          fc.property(
            floats(aOffset + rows * inner, scale),
            floats(inner * cols, scale),
            floats(cols, scale),
            (a, b, bias) => {
              const out = new Float32Array(outOffset + rows * cols + 1).fill(-7);
              const scratch = new Float64Array(cols + 2).fill(123);
              matmulBias(a, aOffset, b, withBias ? bias : null, out, outOffset, rows, inner, cols, scratch);
              for (let m = 0; m < rows; m++) {
                for (let n = 0; n < cols; n++) {
                  let sum = withBias ? bias[n] : 0;
                  let size = Math.abs(sum);
                  for (let k = 0; k < inner; k++) {
                    sum += a[aOffset + m * inner + k] * b[k * cols + n];
                    size += Math.abs(a[aOffset + m * inner + k] * b[k * cols + n]);
                  }
                  const got = out[outOffset + m * cols + n];
                  assert.ok(Math.abs(got - sum) <= EPS32 * size + 1e-45, `out[${m},${n}] = ${got}, reference ${sum}`);
                }
              }
              for (let i = 0; i < outOffset; i++) assert.equal(out[i], -7, "wrote before the output");
              assert.equal(out[outOffset + rows * cols], -7, "wrote past the output");
            },
          ),
          { numRuns: 3, seed },
        ),
    ),
    { numRuns: 150 },
  );
});

test("vecMatAccumulate: acc += v . b[:, colOffset .. colOffset + cols)", () => {
  fc.assert(
    fc.property(
      fc.record({
        inner: fc.integer({ min: 0, max: 6 }),
        stride: fc.integer({ min: 1, max: 8 }),
        vOffset: fc.integer({ min: 0, max: 3 }),
        accOffset: fc.integer({ min: 0, max: 3 }),
      }),
      fc.integer(),
      fc.boolean(),
      ({ inner, stride, vOffset, accOffset }, seed, wide) =>
        fc.assert(
          fc.property(
            fc.integer({ min: 0, max: stride - 1 }),
            floats(vOffset + inner, 10),
            floats(inner * stride, 10),
            (colOffset, v32, b) => {
              const cols = stride - colOffset;
              const v = wide ? Float64Array.from(v32) : v32;
              const acc = Float64Array.from({ length: accOffset + cols + 1 }, (_, i) => i * 0.5);
              const before = acc.slice();
              vecMatAccumulate(v, vOffset, b, stride, colOffset, inner, cols, acc, accOffset);
              for (let n = 0; n < cols; n++) {
                let sum = before[accOffset + n];
                for (let k = 0; k < inner; k++) sum += v[vOffset + k] * b[k * stride + colOffset + n];
                assert.ok(Math.abs(acc[accOffset + n] - sum) <= 1e-12 * (1 + Math.abs(sum)), `acc[${n}]`);
              }
              assert.equal(acc[accOffset + cols], before[accOffset + cols], "wrote past the columns");
              for (let i = 0; i < accOffset; i++) assert.equal(acc[i], before[i], "wrote before the offset");
            },
          ),
          { numRuns: 3, seed },
        ),
    ),
    { numRuns: 150 },
  );
});
