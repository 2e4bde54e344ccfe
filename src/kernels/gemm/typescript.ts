/**
 * The matrix product of ./reference.ts in plain TypeScript, fast: outputs are computed in register
 * tiles of two rows by four columns whose sums are kept in float64 locals and stored once, so
 * results stay within float32 rounding of the reference and each output is touched once. The
 * epilogue runs on the finished output before the call returns.
 */
import type { Activation } from "../activations.js";
import type { Gemm } from "./reference.js";

/**
 * c[m, n] = epilogue((accumulate ? c[m, n] : 0) + bias[n] + Σ_k a[m, k] · b[k, n]) for m < rows,
 * n < cols. a[m, k] is at aOffset + m*lda + k, b[k, n] at bOffset + k*ldb + n, c[m, n] at
 * cOffset + m*ldc + n; bias (or null) is [cols]; the epilogue (or null) keeps the row width.
 * `c` must not overlap `a` or `b`. Allocates nothing.
 */
export const gemm: Gemm = (
  a,
  aOffset,
  lda,
  b,
  bOffset,
  ldb,
  c,
  cOffset,
  ldc,
  rows,
  inner,
  cols,
  bias,
  accumulate,
  epilogue = null,
) => {
  let m = 0;
  for (; m + 1 < rows; m += 2) {
    const a0 = aOffset + m * lda;
    const a1 = a0 + lda;
    const c0 = cOffset + m * ldc;
    const c1 = c0 + ldc;
    let n = 0;
    for (; n + 3 < cols; n += 4) {
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      if (accumulate) {
        s00 = c[c0 + n];
        s01 = c[c0 + n + 1];
        s02 = c[c0 + n + 2];
        s03 = c[c0 + n + 3];
        s10 = c[c1 + n];
        s11 = c[c1 + n + 1];
        s12 = c[c1 + n + 2];
        s13 = c[c1 + n + 3];
      }
      if (bias !== null) {
        const b0 = bias[n],
          b1 = bias[n + 1],
          b2 = bias[n + 2],
          b3 = bias[n + 3];
        s00 += b0;
        s01 += b1;
        s02 += b2;
        s03 += b3;
        s10 += b0;
        s11 += b1;
        s12 += b2;
        s13 += b3;
      }
      let bk = bOffset + n;
      for (let k = 0; k < inner; k++, bk += ldb) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const w0 = b[bk],
          w1 = b[bk + 1],
          w2 = b[bk + 2],
          w3 = b[bk + 3];
        s00 += x0 * w0;
        s01 += x0 * w1;
        s02 += x0 * w2;
        s03 += x0 * w3;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s12 += x1 * w2;
        s13 += x1 * w3;
      }
      c[c0 + n] = s00;
      c[c0 + n + 1] = s01;
      c[c0 + n + 2] = s02;
      c[c0 + n + 3] = s03;
      c[c1 + n] = s10;
      c[c1 + n + 1] = s11;
      c[c1 + n + 2] = s12;
      c[c1 + n + 3] = s13;
    }
    for (; n < cols; n++) {
      let s0 = accumulate ? c[c0 + n] : 0;
      let s1 = accumulate ? c[c1 + n] : 0;
      if (bias !== null) {
        s0 += bias[n];
        s1 += bias[n];
      }
      let bk = bOffset + n;
      for (let k = 0; k < inner; k++, bk += ldb) {
        const w = b[bk];
        s0 += a[a0 + k] * w;
        s1 += a[a1 + k] * w;
      }
      c[c0 + n] = s0;
      c[c1 + n] = s1;
    }
  }
  if (m < rows) {
    const a0 = aOffset + m * lda;
    const c0 = cOffset + m * ldc;
    let n = 0;
    for (; n + 3 < cols; n += 4) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      if (accumulate) {
        s0 = c[c0 + n];
        s1 = c[c0 + n + 1];
        s2 = c[c0 + n + 2];
        s3 = c[c0 + n + 3];
      }
      if (bias !== null) {
        s0 += bias[n];
        s1 += bias[n + 1];
        s2 += bias[n + 2];
        s3 += bias[n + 3];
      }
      let bk = bOffset + n;
      for (let k = 0; k < inner; k++, bk += ldb) {
        const x = a[a0 + k];
        s0 += x * b[bk];
        s1 += x * b[bk + 1];
        s2 += x * b[bk + 2];
        s3 += x * b[bk + 3];
      }
      c[c0 + n] = s0;
      c[c0 + n + 1] = s1;
      c[c0 + n + 2] = s2;
      c[c0 + n + 3] = s3;
    }
    for (; n < cols; n++) {
      let s = accumulate ? c[c0 + n] : 0;
      if (bias !== null) s += bias[n];
      let bk = bOffset + n;
      for (let k = 0; k < inner; k++, bk += ldb) s += a[a0 + k] * b[bk];
      c[c0 + n] = s;
    }
  }
  if (epilogue !== null) applyEpilogue(epilogue, c, cOffset, ldc, rows, cols);
};

/**
 * The epilogue over the finished output, in one call when its rows are contiguous. (Applying it
 * inside the tile loop measured slower: a call per row pair into one of many activations.)
 */
function applyEpilogue(
  epilogue: Activation,
  c: Float32Array,
  cOffset: number,
  ldc: number,
  rows: number,
  cols: number,
) {
  if (ldc === cols) epilogue.apply(c, cOffset, c, cOffset, rows, cols);
  else for (let m = 0; m < rows; m++) epilogue.apply(c, cOffset + m * ldc, c, cOffset + m * ldc, 1, cols);
}
