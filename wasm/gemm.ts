// The matrix product of kerasless' WebAssembly SIMD kernels (AssemblyScript; part of the module
// wasm/kernels.ts lists): the layers' products (src/kernels/gemm/wasm.ts) and the recurrent steps'
// (wasm/recurrent.ts). Pointers are byte addresses, strides and sizes count float32 values.

/**
 * a·b + c over four lanes. Built with relaxed SIMD (scripts/build-wasm.ts builds both), one fused
 * multiply-add where the hardware has it (rounded once, so results may differ from the SIMD128
 * build's in the last bit); otherwise a multiply then an add.
 */
// @ts-ignore: decorator
@inline export function madd4(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** c[m, n] = (accumulate ? c[m, n] : 0) + bias[n] + Σ_k a[m, k] · b[k, n], float32 sums. */
export function gemm(
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  rows: i32, inner: i32, cols: i32, bias: usize, accumulate: i32,
): void {
  const la = <usize>lda << 2;
  const lb = <usize>ldb << 2;
  const lc = <usize>ldc << 2;
  let m = 0;
  for (; m + 3 < rows; m += 4) {
    gemmRows(4, a + <usize>m * la, la, b, lb, c + <usize>m * lc, lc, inner, cols, bias, accumulate);
  }
  // The last rows one at a time, through the same tile.
  for (; m < rows; m++) {
    gemmRows(1, a + <usize>m * la, la, b, lb, c + <usize>m * lc, lc, inner, cols, bias, accumulate);
  }
}

/**
 * Rows a0.. times b, in tiles of R rows (1 or 4: a constant at each call, which inlining turns into
 * a copy of its own without the other rows' code) by 4V columns: eight columns for four rows (eight
 * accumulators, two loads of b and four broadcasts of a per k), sixteen for one row, so that it
 * still has four sums in flight. Columns past the last whole tile go to gemmNarrow.
 */
// @ts-ignore: decorator
@inline function gemmRows(
  R: i32, a0: usize, la: usize, b: usize, lb: usize, c0: usize, lc: usize,
  inner: i32, cols: i32, bias: usize, accumulate: i32,
): void {
  const V = R > 1 ? 2 : 4;
  let n = 0;
  for (; n + 4 * V - 1 < cols; n += 4 * V) {
    const cn = c0 + (<usize>n << 2);
    let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
    let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s20 = f32x4.splat(0), s21 = f32x4.splat(0);
    let s30 = f32x4.splat(0), s31 = f32x4.splat(0);
    if (accumulate) {
      s00 = v128.load(cn); s01 = v128.load(cn, 16);
      if (V > 2) { s02 = v128.load(cn, 32); s03 = v128.load(cn, 48); }
      if (R > 1) { s10 = v128.load(cn + lc); s11 = v128.load(cn + lc, 16); }
      if (R > 2) { s20 = v128.load(cn + 2 * lc); s21 = v128.load(cn + 2 * lc, 16); }
      if (R > 3) { s30 = v128.load(cn + 3 * lc); s31 = v128.load(cn + 3 * lc, 16); }
    }
    if (bias) {
      const bn = bias + (<usize>n << 2);
      const b0 = v128.load(bn);
      const b1 = v128.load(bn, 16);
      s00 = f32x4.add(s00, b0); s01 = f32x4.add(s01, b1);
      if (V > 2) { s02 = f32x4.add(s02, v128.load(bn, 32)); s03 = f32x4.add(s03, v128.load(bn, 48)); }
      if (R > 1) { s10 = f32x4.add(s10, b0); s11 = f32x4.add(s11, b1); }
      if (R > 2) { s20 = f32x4.add(s20, b0); s21 = f32x4.add(s21, b1); }
      if (R > 3) { s30 = f32x4.add(s30, b0); s31 = f32x4.add(s31, b1); }
    }
    let bk = b + (<usize>n << 2);
    let ak = a0;
    for (let k = 0; k < inner; k++) {
      const w0 = v128.load(bk);
      const w1 = v128.load(bk, 16);
      const x0 = v128.load32_splat(ak);
      s00 = madd4(x0, w0, s00); s01 = madd4(x0, w1, s01);
      if (V > 2) { s02 = madd4(x0, v128.load(bk, 32), s02); s03 = madd4(x0, v128.load(bk, 48), s03); }
      if (R > 1) { const x1 = v128.load32_splat(ak + la); s10 = madd4(x1, w0, s10); s11 = madd4(x1, w1, s11); }
      if (R > 2) { const x2 = v128.load32_splat(ak + 2 * la); s20 = madd4(x2, w0, s20); s21 = madd4(x2, w1, s21); }
      if (R > 3) { const x3 = v128.load32_splat(ak + 3 * la); s30 = madd4(x3, w0, s30); s31 = madd4(x3, w1, s31); }
      bk += lb;
      ak += 4;
    }
    v128.store(cn, s00); v128.store(cn, s01, 16);
    if (V > 2) { v128.store(cn, s02, 32); v128.store(cn, s03, 48); }
    if (R > 1) { v128.store(cn + lc, s10); v128.store(cn + lc, s11, 16); }
    if (R > 2) { v128.store(cn + 2 * lc, s20); v128.store(cn + 2 * lc, s21, 16); }
    if (R > 3) { v128.store(cn + 3 * lc, s30); v128.store(cn + 3 * lc, s31, 16); }
  }
  if (n < cols) gemmNarrow(a0, la, b, lb, c0, lc, R, inner, n, cols, bias, accumulate);
}

/**
 * The epilogue of a convolution's product or depthwise kernel (src/kernels/epilogue.ts), on
 * `rows` rows of `cols` columns at c (rows lc bytes apart; cols a multiple of 4, the host runs
 * other widths' epilogues itself): c = min(max(c · scale + shift, lo), hi) (scale 0: no scale and
 * shift). A pass over rows just stored (in cache), kept out of the tiles so that the module stays
 * small: the browser bundle carries it. max and min propagate NaN, as Keras' relu does.
 */
export function epilogueRows(
  c: usize, lc: usize, rows: i32, cols: i32, scale: usize, shift: usize, lo: f32, hi: f32,
): void {
  const lo4 = f32x4.splat(lo);
  const hi4 = f32x4.splat(hi);
  for (let r = 0; r < rows; r++) {
    const cr = c + <usize>r * lc;
    for (let n = 0; n < cols; n += 4) {
      const at = <usize>n << 2;
      let s = v128.load(cr + at);
      if (scale) s = madd4(s, v128.load(scale + at), v128.load(shift + at));
      v128.store(cr + at, f32x4.min(f32x4.max(s, lo4), hi4));
    }
  }
}

/**
 * gemm() with b packed in panels of PANEL columns: panel q holds columns q*PANEL.. of every row k,
 * contiguously ([inner, width] with width = min(PANEL, cols - q*PANEL)). Each panel is one
 * sequential stream, which the hardware prefetcher follows better than rows strided by cols.
 */
export function gemmPacked(
  a: usize, lda: i32, packed: usize, c: usize, ldc: i32,
  rows: i32, inner: i32, cols: i32, bias: usize, accumulate: i32,
): void {
  // Four rows against every panel, so those rows of a stay in L1 while b streams by.
  for (let m = 0; m < rows; m += 4) {
    const am = a + (<usize>m * <usize>lda << 2);
    const cm = c + (<usize>m * <usize>ldc << 2);
    const count = min(4, rows - m);
    for (let n = 0; n < cols; n += PANEL) {
      const width = min(PANEL, cols - n);
      const panelBias = bias ? bias + (<usize>n << 2) : 0;
      gemm(am, lda, packed + (<usize>n * <usize>inner << 2), width, cm + (<usize>n << 2), ldc,
        count, inner, width, panelBias, accumulate);
    }
  }
}

/** Columns per panel of a packed matrix (see gemmPacked). */
export const PANEL: i32 = 16;

/** Columns n0..cols of `rows` rows: four at a time, then one at a time. */
function gemmNarrow(
  a0: usize, la: usize, b: usize, lb: usize, c0: usize, lc: usize,
  rows: i32, inner: i32, n0: i32, cols: i32, bias: usize, accumulate: i32,
): void {
  for (let r = 0; r < rows; r++) {
    const ar = a0 + <usize>r * la;
    const cr = c0 + <usize>r * lc;
    let n = n0;
    for (; n + 3 < cols; n += 4) {
      const cn = cr + (<usize>n << 2);
      let s = accumulate ? v128.load(cn) : f32x4.splat(0);
      if (bias) s = f32x4.add(s, v128.load(bias + (<usize>n << 2)));
      let bk = b + (<usize>n << 2);
      for (let k = 0; k < inner; k++) {
        s = madd4(v128.load32_splat(ar + (<usize>k << 2)), v128.load(bk), s);
        bk += lb;
      }
      v128.store(cn, s);
    }
    for (; n < cols; n++) {
      const cn = cr + (<usize>n << 2);
      let s: f32 = accumulate ? load<f32>(cn) : 0;
      if (bias) s += load<f32>(bias + (<usize>n << 2));
      let bk = b + (<usize>n << 2);
      for (let k = 0; k < inner; k++) {
        s += load<f32>(ar + (<usize>k << 2)) * load<f32>(bk);
        bk += lb;
      }
      store<f32>(cn, s);
    }
  }
}
