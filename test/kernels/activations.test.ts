/**
 * Property tests: every activation kernel against a plain float64 formula written here, on
 * random rows, including magnitudes where sigmoid and tanh saturate and exp overflows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { activationNames, erf, getActivation, type KerasMajor } from "../../src/kernels/activations.js";

// Failures show the assertion that failed, not only the counterexample.
fc.configureGlobal({ includeErrorInReport: true });

// Keras' constants, as float64 holds them.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** erf by Simpson's rule on 2/sqrt(pi) * exp(-t^2) (independent of the kernel's series). */
function erfReference(x: number): number {
  if (Math.abs(x) > 8) return Math.sign(x);
  const n = 4000;
  const h = x / n;
  let sum = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * h * sum) / 3;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const clip = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

const ELEMENTWISE: Record<string, (x: number, major: KerasMajor) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  relu6: (x) => clip(x, 0, 6),
  leaky_relu: (x) => (x >= 0 ? x : 0.2 * x),
  elu: (x) => (x > 0 ? x : Math.exp(x) - 1),
  celu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
  selu: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * (Math.exp(x) - 1)),
  softplus,
  softsign: (x) => x / (1 + Math.abs(x)),
  squareplus: (x) => (x + Math.sqrt(x * x + 4)) / 2,
  soft_shrink: (x) => (x > 0.5 ? x - 0.5 : x < -0.5 ? x + 0.5 : 0),
  hard_shrink: (x) => (Math.abs(x) > 0.5 ? x : 0),
  sparse_plus: (x) => (x <= -1 ? 0 : x >= 1 ? x : (x + 1) ** 2 / 4),
  silu: (x) => x * sigmoid(x),
  swish: (x) => x * sigmoid(x),
  gelu: (x) => 0.5 * x * (1 + erfReference(x / Math.SQRT2)),
  tanh: Math.tanh,
  tanh_shrink: (x) => x - Math.tanh(x),
  hard_tanh: (x) => clip(x, -1, 1),
  sigmoid,
  sparse_sigmoid: (x) => clip((x + 1) / 2, 0, 1),
  log_sigmoid: (x) => -softplus(-x),
  exponential: Math.exp,
  mish: (x) => x * Math.tanh(softplus(x)),
  hard_sigmoid: (x, major) => (major === 2 ? clip(0.2 * x + 0.5, 0, 1) : clip(x / 6 + 0.5, 0, 1)),
  hard_silu: (x) => x * clip(x / 6 + 0.5, 0, 1),
  hard_swish: (x) => x * clip(x / 6 + 0.5, 0, 1),
};

const ROWWISE: Record<string, (row: number[]) => number[]> = {
  softmax: (row) => {
    const max = Math.max(...row);
    const e = row.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  },
  log_softmax: (row) => {
    const max = Math.max(...row);
    const logSum = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    return row.map((v) => v - max - logSum);
  },
  // Keras' sparsemax: threshold = (sum of cumulative sums over the support - 1) / support size.
  sparsemax: (row) => {
    const sorted = [...row].sort((a, b) => b - a);
    const cumulative = sorted.map((_, k) => sorted.slice(0, k + 1).reduce((a, b) => a + b, 0));
    const support = sorted.map((v, k) => v - (cumulative[k] - 1) / (k + 1) > 0);
    const k = support.filter(Boolean).length;
    const tau = (cumulative.filter((_, i) => support[i]).reduce((a, b) => a + b, 0) - 1) / k;
    return row.map((v) => Math.max(v - tau, 0));
  },
};

/** Values from tiny to huge: saturation of sigmoid/tanh (|x| > 20) and overflow of exp (x > 709). */
const value = fc.oneof(
  fc.double({ min: -8, max: 8, noNaN: true }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.constantFrom(0, -0, 1e-30, -1e-30, 20, -20, 50, -50, 709, -745, 800, -800, 1e30, -1e30),
);

function close(got: number, want: number, rel: number, abs: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  return Math.abs(got - want) <= abs + rel * Math.abs(want);
}

test("every activation name has a reference here (new activations need one)", () => {
  for (const major of [2, 3] as const) {
    for (const name of activationNames(major)) {
      assert.ok(name in ELEMENTWISE || name in ROWWISE || name === "glu", `no reference for ${name} (Keras ${major})`);
    }
  }
});

test("elementwise activations equal their float64 formulas, computed in place and out of place", () => {
  for (const major of [2, 3] as const) {
    for (const name of activationNames(major).filter((n) => n in ELEMENTWISE)) {
      const activation = getActivation(name, major)!;
      assert.ok(activation.elementwise, name);
      fc.assert(
        fc.property(fc.array(value, { minLength: 0, maxLength: 12 }), fc.integer({ min: 0, max: 3 }), (xs, offset) => {
          const src = new Float64Array(offset + xs.length);
          src.set(xs, offset);
          const dst = new Float64Array(offset + xs.length + 2).fill(7);
          activation.apply(src, offset, dst, offset, 1, xs.length);
          const inPlace = src.slice();
          activation.apply(inPlace, offset, inPlace, offset, 1, xs.length);
          xs.forEach((x, i) => {
            const want = ELEMENTWISE[name](x, major);
            // gelu's reference integrates numerically (~1e-12); the others are the same math, give
            // or take the reference's own cancellation near 0 (exp(x) - 1 for expm1(x)).
            const [rel, abs] = name === "gelu" ? [1e-9, 1e-12] : [1e-12, 1e-15];
            assert.ok(close(dst[offset + i], want, rel, abs), `${name}(${x}) = ${dst[offset + i]}, reference ${want}`);
            assert.ok(Object.is(inPlace[offset + i], dst[offset + i]), `${name} in place`);
          });
          assert.equal(dst[offset + xs.length], 7, "wrote past the row");
        }),
        { numRuns: 60 },
      );
    }
  }
});

test("float32 outputs are the float64 values rounded once", () => {
  for (const name of ["sigmoid", "tanh", "gelu", "softplus", "hard_sigmoid", "exponential"]) {
    const activation = getActivation(name, 3)!;
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 8 }), (xs) => {
        const src = Float32Array.from(xs);
        const wide = new Float64Array(src.length);
        const narrow = new Float32Array(src.length);
        activation.apply(src, 0, wide, 0, 1, src.length);
        activation.apply(src, 0, narrow, 0, 1, src.length);
        wide.forEach((v, i) => assert.ok(Object.is(narrow[i], Math.fround(v)), `${name}(${src[i]})`));
      }),
      { numRuns: 40 },
    );
  }
});

test("softmax, log_softmax and sparsemax equal their formulas on every row", () => {
  for (const name of Object.keys(ROWWISE)) {
    const activation = getActivation(name, 3)!;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.infiniteStream(fc.double({ min: -50, max: 50, noNaN: true })),
        (rows, width, stream) => {
          const src = Float64Array.from({ length: rows * width }, () => stream.next().value);
          const dst = new Float64Array(rows * width);
          activation.apply(src, 0, dst, 0, rows, width);
          for (let r = 0; r < rows; r++) {
            const want = ROWWISE[name]([...src.subarray(r * width, (r + 1) * width)]);
            want.forEach((w, i) =>
              assert.ok(
                close(dst[r * width + i], w, 1e-10, 1e-12),
                `${name} row ${r}[${i}]: ${dst[r * width + i]} vs ${w}`,
              ),
            );
          }
        },
      ),
      { numRuns: 80 },
    );
  }
});

test("glu halves the last axis: a * sigmoid(b)", () => {
  const glu = getActivation("glu", 3)!;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.infiniteStream(value),
      (rows, half, stream) => {
        const width = 2 * half;
        assert.equal(glu.outputDim(width), half);
        const src = Float64Array.from({ length: rows * width }, () => stream.next().value);
        const dst = new Float64Array(rows * half);
        glu.apply(src, 0, dst, 0, rows, width);
        for (let r = 0; r < rows; r++) {
          for (let i = 0; i < half; i++) {
            const want = src[r * width + i] * sigmoid(src[r * width + half + i]);
            assert.ok(close(dst[r * half + i], want, 1e-12, 1e-15), `glu row ${r}[${i}]`);
          }
        }
      },
    ),
    { numRuns: 80 },
  );
});

test("erf equals the integral of the Gaussian, odd, within [-1, 1]", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.double({ min: -7, max: 7, noNaN: true }), fc.constantFrom(0, 2.4999, 2.5, 2.5001, 6.4999, 6.5, 1e6)),
      (x) => {
        const got = erf(x);
        assert.ok(close(got, erfReference(x), 1e-11, 1e-13), `erf(${x}) = ${got}, reference ${erfReference(x)}`);
        assert.ok(Object.is(erf(-x), -got) || (x === 0 && got === 0));
        assert.ok(got >= -1 && got <= 1);
      },
    ),
    { numRuns: 300 },
  );
});
