/**
 * The matrix product every layer's dense algebra is written in, as the Keras Dense and ONNX Gemm
 * documentation state it:
 *
 *   C[i, j] = epilogue(C0[i, j] + bias[j] + Σ_p A[i, p] · B[p, j])
 *
 * with C0 = C's previous value when accumulating, else 0. Sums are taken in float64 and rounded
 * once, on the store. This is the readable definition the fast paths are tested against.
 */
import type { Activation } from "../activations.js";

/**
 * A[i, p] is at a[aOffset + i*lda + p], B[p, j] at b[bOffset + p*ldb + j] and C[i, j] at
 * c[cOffset + i*ldc + j], for i < rows, j < cols, p < inner. bias (or null) holds `cols` values.
 * The epilogue (or null) is applied to each output row of `cols` values; it must keep the width.
 */
export function gemmReference(
  a: Float32Array,
  aOffset: number,
  lda: number,
  b: Float32Array,
  bOffset: number,
  ldb: number,
  c: Float32Array,
  cOffset: number,
  ldc: number,
  rows: number,
  inner: number,
  cols: number,
  bias: Float32Array | null,
  accumulate: boolean,
  epilogue: Activation | null = null,
): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = accumulate ? c[cOffset + i * ldc + j] : 0;
      if (bias !== null) sum += bias[j];
      for (let p = 0; p < inner; p++) sum += a[aOffset + i * lda + p] * b[bOffset + p * ldb + j];
      c[cOffset + i * ldc + j] = sum;
    }
    if (epilogue !== null) epilogue.apply(c, cOffset + i * ldc, c, cOffset + i * ldc, 1, cols);
  }
}

/** The calling convention every backend's product has (gemm of ./typescript.ts, the tests' WebAssembly adapter). */
export type Gemm = typeof gemmReference;
