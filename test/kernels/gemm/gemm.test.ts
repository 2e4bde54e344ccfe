/**
 * Property tests: every fast matrix-product path against ./reference.ts on random shapes (zero
 * sizes included), strides, offsets, magnitudes, bias, accumulation and epilogues. The error
 * allowed for each output is float32 rounding of its terms' total magnitude, so cancellation
 * cannot hide a wrong index; the fused epilogue must equal the activation applied afterwards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getActivation } from "../../../src/kernels/activations.js";
import { gemm as gemmTypeScript } from "../../../src/kernels/gemm/typescript.js";
import { gemmReference } from "../../../src/kernels/gemm/reference.js";
import { gemmBackends, planProduct } from "../../../src/kernels/gemm/index.js";
import { gemm as legacyGemm } from "../../../src/kernels/matmul.js";
import { kernelModule } from "../../../src/kernels/wasm.js";

fc.configureGlobal({ includeErrorInReport: true });

const EPS32 = 2 ** -23;
const magnitude = fc.constantFrom(1, 1e-3, 1e3, 1e6);
const floats = (n: number, scale: number) =>
  fc
    .array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: n, maxLength: n })
    .map((v) => Float32Array.from(v, (x) => x * scale));
const epilogues = ["relu", "tanh", "sigmoid", "softmax", "gelu"].map((name) => getActivation(name, 3)!);

const problem = fc.record({
  rows: fc.integer({ min: 0, max: 9 }),
  inner: fc.integer({ min: 0, max: 11 }),
  cols: fc.integer({ min: 0, max: 19 }),
  padA: fc.integer({ min: 0, max: 3 }),
  padB: fc.integer({ min: 0, max: 3 }),
  padC: fc.integer({ min: 0, max: 3 }),
  aOffset: fc.integer({ min: 0, max: 3 }),
  bOffset: fc.integer({ min: 0, max: 3 }),
  cOffset: fc.integer({ min: 0, max: 3 }),
  withBias: fc.boolean(),
  accumulate: fc.boolean(),
});

type Gemm = typeof gemmReference;

/**
 * Checks `fast` against the reference on random problems; `terms` is how many roundings an
 * output may carry relative to its terms' magnitude (0: the same bits; more for float32 sums).
 */
function agreesWithReference(fast: Gemm, terms: (inner: number) => number = () => 2): void {
  fc.assert(
    fc.property(problem, magnitude, fc.integer(), (p, scale, seed) => {
      const lda = p.inner + p.padA;
      const ldb = p.cols + p.padB;
      const ldc = p.cols + p.padC;
      const cLength = p.cOffset + p.rows * ldc + 1;
      fc.assert(
        fc.property(
          floats(p.aOffset + p.rows * lda, scale),
          floats(p.bOffset + p.inner * ldb, scale),
          floats(p.cols, scale),
          floats(cLength, scale),
          (a, b, bias, c0) => {
            const got = c0.slice();
            const want = c0.slice();
            const args = [p.rows, p.inner, p.cols, p.withBias ? bias : null, p.accumulate] as const;
            fast(a, p.aOffset, lda, b, p.bOffset, ldb, got, p.cOffset, ldc, ...args);
            gemmReference(a, p.aOffset, lda, b, p.bOffset, ldb, want, p.cOffset, ldc, ...args);
            for (let i = 0; i < cLength; i++) {
              const m = ldc === 0 ? p.rows : Math.floor((i - p.cOffset) / ldc);
              const n = ldc === 0 ? 0 : (i - p.cOffset) % ldc;
              if (i < p.cOffset || m >= p.rows || n >= p.cols) {
                assert.equal(got[i], c0[i], `wrote outside the output at ${i}`);
                continue;
              }
              let size = (p.accumulate ? Math.abs(c0[i]) : 0) + (p.withBias ? Math.abs(bias[n]) : 0);
              for (let k = 0; k < p.inner; k++)
                size += Math.abs(a[p.aOffset + m * lda + k] * b[p.bOffset + k * ldb + n]);
              assert.ok(
                Math.abs(got[i] - want[i]) <= terms(p.inner) * (EPS32 * size + 2 ** -149),
                `c[${m},${n}] = ${got[i]}, reference ${want[i]}`,
              );
            }
          },
        ),
        { numRuns: 2, seed },
      );
    }),
    { numRuns: 200 },
  );
}

/** The fused epilogue gives exactly the activation applied to the finished rows. */
function fusesEpilogue(fast: Gemm): void {
  fc.assert(
    fc.property(problem, fc.constantFrom(...epilogues), fc.integer(), (p, epilogue, seed) => {
      const [lda, ldb, ldc] = [p.inner + p.padA, p.cols + p.padB, p.cols + p.padC];
      fc.assert(
        fc.property(
          floats(p.aOffset + p.rows * lda, 2),
          floats(p.bOffset + p.inner * ldb, 2),
          floats(p.cols, 2),
          floats(p.cOffset + p.rows * ldc, 2),
          (a, b, bias, c0) => {
            const fused = c0.slice();
            const after = c0.slice();
            const args = [p.rows, p.inner, p.cols, p.withBias ? bias : null, p.accumulate] as const;
            fast(a, p.aOffset, lda, b, p.bOffset, ldb, fused, p.cOffset, ldc, ...args, epilogue);
            fast(a, p.aOffset, lda, b, p.bOffset, ldb, after, p.cOffset, ldc, ...args);
            for (let m = 0; m < p.rows; m++)
              epilogue.apply(after, p.cOffset + m * ldc, after, p.cOffset + m * ldc, 1, p.cols);
            assert.deepEqual(fused, after);
          },
        ),
        { numRuns: 2, seed },
      );
    }),
    { numRuns: 100 },
  );
}

// The TypeScript tiles sum each output in the reference's order, in float64: no rounding apart.
test("typescript gemm = reference bit for bit, at any strides, offsets and magnitudes", () =>
  agreesWithReference(gemmTypeScript, () => 0));
test("typescript gemm fuses the epilogue", () => fusesEpilogue(gemmTypeScript));
test("the recurrent kernels' import path is the same product", () => assert.equal(legacyGemm, gemmTypeScript));

/**
 * wasm/kernels.ts's gemm as a Gemm: the operands are copied into an instance's memory at their
 * offsets (a zero pointer means "no bias", so every array starts past address 64).
 */
function wasmGemm(module: WebAssembly.Module): Gemm {
  type Exports = { memory: WebAssembly.Memory; gemm(...args: number[]): void };
  const wasm = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  return (a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, rows, inner, cols, bias, accumulate) => {
    const bytes = 64 + 4 * (a.length + b.length + c.length + cols) + 64;
    if (wasm.memory.buffer.byteLength < bytes) wasm.memory.grow(Math.ceil(bytes / 65536));
    const heap = new Float32Array(wasm.memory.buffer);
    let at = 16;
    const place = (values: Float32Array): number => {
      heap.set(values, at);
      at += values.length;
      return (at - values.length) * 4;
    };
    const [ap, bp, cp] = [place(a), place(b), place(c)];
    const biasPtr = bias === null ? 0 : place(bias);
    const args = [ldc, rows, inner, cols, biasPtr, accumulate ? 1 : 0];
    wasm.gemm(ap + aOffset * 4, lda, bp + bOffset * 4, ldb, cp + cOffset * 4, ...args);
    c.set(heap.subarray(cp / 4, cp / 4 + c.length));
  };
}

const module = kernelModule();
test("wasm gemm = reference, at any strides, offsets and magnitudes", { skip: module === null }, () =>
  agreesWithReference(wasmGemm(module!), (inner) => inner + 2),
);

test("every planned product (each backend) = reference", () => {
  for (const backend of gemmBackends()) {
    fc.assert(
      fc.property(
        fc.record({
          rows: fc.integer({ min: 0, max: 9 }),
          inner: fc.integer({ min: 1, max: 40 }),
          cols: fc.integer({ min: 1, max: 40 }),
        }),
        fc.boolean(),
        fc.constantFrom(null, ...epilogues),
        fc.integer(),
        ({ rows, inner, cols }, withBias, epilogue, seed) =>
          fc.assert(
            fc.property(floats(rows * inner + 2, 3), floats(inner * cols, 3), floats(cols, 3), (a, w, bias) => {
              const plan = planProduct(w, withBias ? bias : null, epilogue, inner, cols, { backend, reason: "test" });
              assert.equal(plan.backend, backend);
              const got = new Float32Array(rows * cols + 3).fill(7);
              const want = got.slice();
              plan.run(a, 2, rows, got, 1);
              gemmReference(
                a,
                2,
                inner,
                w,
                0,
                cols,
                want,
                1,
                cols,
                rows,
                inner,
                cols,
                withBias ? bias : null,
                false,
                epilogue,
              );
              for (let i = 0; i < want.length; i++) {
                assert.ok(
                  Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])),
                  `${backend}: [${i}] ${got[i]} vs ${want[i]}`,
                );
              }
            }),
            { numRuns: 2, seed },
          ),
      ),
      { numRuns: 60 },
    );
  }
});
