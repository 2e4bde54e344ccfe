/**
 * The matrix product of ./reference.ts in plain TypeScript, fast: outputs are computed in register
 * tiles of eight sums kept in float64 locals and stored once, so results stay within float32
 * rounding of the reference and each output is touched once. The epilogue runs on the finished
 * output before the call returns.
 */
import type { Activation } from "../activations.js";
import type { Gemm } from "./reference.js";

/**
 * c[m, n] = epilogue((accumulate ? c[m, n] : 0) + bias[n] + Σ_k a[m, k] · b[k, n]) for m < rows,
 * n < cols. a[m, k] is at aOffset + m*lda + k, b[k, n] at bOffset + k*ldb + n, c[m, n] at
 * cOffset + m*ldc + n; bias (or null) is [cols]; the epilogue (or null) keeps the row width.
 * `c` must not overlap `a` or `b`. Allocates nothing.
 *
 * Rows go in pairs; a tile's eight sums are two slots of four columns: both rows at the same four
 * columns (the loads of b shared), or, for a last odd row, its columns n..n+3 and n+4..n+7 (eight
 * sums in flight, where four would leave the adds waiting on each other: batch-1 layers and
 * streaming steps have one row). Only the k loop differs. Columns past the last tile are summed one
 * at a time, a last odd row as both rows of its pair (the same sums, stored twice).
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
  for (let m = 0; m < rows; m += 2) {
    const pair = m + 1 < rows;
    const a0 = aOffset + m * lda;
    const a1 = pair ? a0 + lda : a0;
    const c0 = cOffset + m * ldc;
    const c1 = pair ? c0 + ldc : c0;
    // Where the second slot's columns start, from n, and how many columns a tile takes.
    const shift = pair ? 0 : 4;
    const width = pair ? 4 : 8;
    let n = 0;
    for (; n + width <= cols; n += width) {
      const n1 = n + shift;
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
        s10 = c[c1 + n1];
        s11 = c[c1 + n1 + 1];
        s12 = c[c1 + n1 + 2];
        s13 = c[c1 + n1 + 3];
      }
      if (bias !== null) {
        s00 += bias[n];
        s01 += bias[n + 1];
        s02 += bias[n + 2];
        s03 += bias[n + 3];
        s10 += bias[n1];
        s11 += bias[n1 + 1];
        s12 += bias[n1 + 2];
        s13 += bias[n1 + 3];
      }
      let bk = bOffset + n;
      if (pair) {
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
      } else {
        for (let k = 0; k < inner; k++, bk += ldb) {
          const x = a[a0 + k];
          s00 += x * b[bk];
          s01 += x * b[bk + 1];
          s02 += x * b[bk + 2];
          s03 += x * b[bk + 3];
          s10 += x * b[bk + 4];
          s11 += x * b[bk + 5];
          s12 += x * b[bk + 6];
          s13 += x * b[bk + 7];
        }
      }
      c[c0 + n] = s00;
      c[c0 + n + 1] = s01;
      c[c0 + n + 2] = s02;
      c[c0 + n + 3] = s03;
      c[c1 + n1] = s10;
      c[c1 + n1 + 1] = s11;
      c[c1 + n1 + 2] = s12;
      c[c1 + n1 + 3] = s13;
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
