// The layers' matrix product (src/kernels/gemm/wasm.ts runs it), in AssemblyScript SIMD:
//   c[m, n] = epilogue((accumulate ? c[m, n] : 0) + bias[n] + Σ_k a[m, k] · b[k, n]), float32 sums.
// Addressing as in kernels.ts: byte pointers into this instance's memory, strides and sizes in
// float32 values, a zero pointer means "none".

/** No epilogue in the lanes (TypeScript applies any other activation to the finished rows). */
export const GEMM_EPILOGUE_NONE: i32 = 0;
/** max(x, 0) on the lanes before the store (NaN stays NaN, as in Keras). */
export const GEMM_EPILOGUE_RELU: i32 = 1;

// @ts-ignore: decorator
@inline function finish(s: v128, relu: bool): v128 {
  return relu ? f32x4.max(s, f32x4.splat(0)) : s;
}

// @ts-ignore: decorator
@inline function start(cn: usize, bn: usize, accumulate: bool): v128 {
  let s = accumulate ? v128.load(cn) : f32x4.splat(0);
  if (bn) s = f32x4.add(s, v128.load(bn));
  return s;
}

export function gemmFused(
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  rows: i32, inner: i32, cols: i32, bias: usize, accumulate: i32, epilogue: i32,
): void {
  const la = <usize>lda << 2;
  const lb = <usize>ldb << 2;
  const lc = <usize>ldc << 2;
  const acc = accumulate != 0;
  const relu = epilogue == GEMM_EPILOGUE_RELU;
  let m = 0;
  // Tiles of four rows by eight columns: per k, two vectors of b meet four broadcasts of a.
  for (; m + 3 < rows; m += 4) {
    const a0 = a + <usize>m * la;
    const c0 = c + <usize>m * lc;
    let n = 0;
    for (; n + 7 < cols; n += 8) {
      const cn = c0 + (<usize>n << 2);
      const bn = bias ? bias + (<usize>n << 2) : 0;
      const bn4 = bias ? bn + 16 : 0;
      let s00 = start(cn, bn, acc), s01 = start(cn + 16, bn4, acc);
      let s10 = start(cn + lc, bn, acc), s11 = start(cn + lc + 16, bn4, acc);
      let s20 = start(cn + 2 * lc, bn, acc), s21 = start(cn + 2 * lc + 16, bn4, acc);
      let s30 = start(cn + 3 * lc, bn, acc), s31 = start(cn + 3 * lc + 16, bn4, acc);
      let bk = b + (<usize>n << 2);
      let ak = a0;
      for (let k = 0; k < inner; k++, bk += lb, ak += 4) {
        const w0 = v128.load(bk);
        const w1 = v128.load(bk, 16);
        let x = v128.load32_splat(ak);
        s00 = f32x4.add(s00, f32x4.mul(x, w0)); s01 = f32x4.add(s01, f32x4.mul(x, w1));
        x = v128.load32_splat(ak + la);
        s10 = f32x4.add(s10, f32x4.mul(x, w0)); s11 = f32x4.add(s11, f32x4.mul(x, w1));
        x = v128.load32_splat(ak + 2 * la);
        s20 = f32x4.add(s20, f32x4.mul(x, w0)); s21 = f32x4.add(s21, f32x4.mul(x, w1));
        x = v128.load32_splat(ak + 3 * la);
        s30 = f32x4.add(s30, f32x4.mul(x, w0)); s31 = f32x4.add(s31, f32x4.mul(x, w1));
      }
      v128.store(cn, finish(s00, relu)); v128.store(cn, finish(s01, relu), 16);
      v128.store(cn + lc, finish(s10, relu)); v128.store(cn + lc, finish(s11, relu), 16);
      v128.store(cn + 2 * lc, finish(s20, relu)); v128.store(cn + 2 * lc, finish(s21, relu), 16);
      v128.store(cn + 3 * lc, finish(s30, relu)); v128.store(cn + 3 * lc, finish(s31, relu), 16);
    }
    if (n < cols) columnsFrom(a0, la, b, lb, c0, lc, 4, inner, n, cols, bias, acc, relu);
  }
  if (m < rows) {
    columnsFrom(a + <usize>m * la, la, b, lb, c + <usize>m * lc, lc, rows - m, inner, 0, cols, bias, acc, relu);
  }
}

/** Columns n0..cols of `count` rows, one row at a time: sixteen, four, then single columns. */
function columnsFrom(
  a0: usize, la: usize, b: usize, lb: usize, c0: usize, lc: usize,
  count: i32, inner: i32, n0: i32, cols: i32, bias: usize, acc: bool, relu: bool,
): void {
  for (let r = 0; r < count; r++) {
    const ar = a0 + <usize>r * la;
    const cr = c0 + <usize>r * lc;
    let n = n0;
    for (; n + 15 < cols; n += 16) {
      const cn = cr + (<usize>n << 2);
      const bn = bias ? bias + (<usize>n << 2) : 0;
      let s0 = start(cn, bn, acc), s1 = start(cn + 16, bias ? bn + 16 : 0, acc);
      let s2 = start(cn + 32, bias ? bn + 32 : 0, acc), s3 = start(cn + 48, bias ? bn + 48 : 0, acc);
      let bk = b + (<usize>n << 2);
      for (let k = 0; k < inner; k++, bk += lb) {
        const x = v128.load32_splat(ar + (<usize>k << 2));
        s0 = f32x4.add(s0, f32x4.mul(x, v128.load(bk)));
        s1 = f32x4.add(s1, f32x4.mul(x, v128.load(bk, 16)));
        s2 = f32x4.add(s2, f32x4.mul(x, v128.load(bk, 32)));
        s3 = f32x4.add(s3, f32x4.mul(x, v128.load(bk, 48)));
      }
      v128.store(cn, finish(s0, relu)); v128.store(cn, finish(s1, relu), 16);
      v128.store(cn, finish(s2, relu), 32); v128.store(cn, finish(s3, relu), 48);
    }
    for (; n + 3 < cols; n += 4) {
      const cn = cr + (<usize>n << 2);
      let s = start(cn, bias ? bias + (<usize>n << 2) : 0, acc);
      let bk = b + (<usize>n << 2);
      for (let k = 0; k < inner; k++, bk += lb) {
        s = f32x4.add(s, f32x4.mul(v128.load32_splat(ar + (<usize>k << 2)), v128.load(bk)));
      }
      v128.store(cn, finish(s, relu));
    }
    for (; n < cols; n++) {
      const cn = cr + (<usize>n << 2);
      let s: f32 = acc ? load<f32>(cn) : 0;
      if (bias) s += load<f32>(bias + (<usize>n << 2));
      let bk = b + (<usize>n << 2);
      for (let k = 0; k < inner; k++, bk += lb) s += load<f32>(ar + (<usize>k << 2)) * load<f32>(bk);
      store<f32>(cn, relu && s <= 0 ? 0 : s);
    }
  }
}
