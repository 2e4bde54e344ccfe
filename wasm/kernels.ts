// kerasless' WebAssembly SIMD kernels (AssemblyScript; built by scripts/build-wasm.ts into
// src/kernels/wasm-binary.ts). Pointers are byte addresses in this instance's memory, strides
// and sizes count float32 values. Address 0 is never data, so a zero pointer means "none".

export { depthwise, DepthwiseGeometry } from "./depthwise";

/**
 * a·b + c over four lanes. Built with relaxed SIMD (scripts/build-wasm.ts builds both), one fused
 * multiply-add where the hardware has it (rounded once, so results may differ from the SIMD128
 * build's in the last bit); otherwise a multiply then an add.
 */
// @ts-ignore: decorator
@inline function madd4(a: v128, b: v128, c: v128): v128 {
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
  // Four rows by eight columns: eight accumulators, two loads of b and four broadcasts of a per k.
  for (; m + 3 < rows; m += 4) {
    const a0 = a + <usize>m * la;
    const c0 = c + <usize>m * lc;
    let n = 0;
    for (; n + 7 < cols; n += 8) {
      const cn = c0 + (<usize>n << 2);
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s10 = f32x4.splat(0), s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0), s21 = f32x4.splat(0), s30 = f32x4.splat(0), s31 = f32x4.splat(0);
      if (accumulate) {
        s00 = v128.load(cn); s01 = v128.load(cn, 16);
        s10 = v128.load(cn + lc); s11 = v128.load(cn + lc, 16);
        s20 = v128.load(cn + 2 * lc); s21 = v128.load(cn + 2 * lc, 16);
        s30 = v128.load(cn + 3 * lc); s31 = v128.load(cn + 3 * lc, 16);
      }
      if (bias) {
        const b0 = v128.load(bias + (<usize>n << 2));
        const b1 = v128.load(bias + (<usize>n << 2), 16);
        s00 = f32x4.add(s00, b0); s01 = f32x4.add(s01, b1);
        s10 = f32x4.add(s10, b0); s11 = f32x4.add(s11, b1);
        s20 = f32x4.add(s20, b0); s21 = f32x4.add(s21, b1);
        s30 = f32x4.add(s30, b0); s31 = f32x4.add(s31, b1);
      }
      let bk = b + (<usize>n << 2);
      let ak = a0;
      for (let k = 0; k < inner; k++) {
        const w0 = v128.load(bk);
        const w1 = v128.load(bk, 16);
        const x0 = v128.load32_splat(ak);
        const x1 = v128.load32_splat(ak + la);
        const x2 = v128.load32_splat(ak + 2 * la);
        const x3 = v128.load32_splat(ak + 3 * la);
        s00 = madd4(x0, w0, s00); s01 = madd4(x0, w1, s01);
        s10 = madd4(x1, w0, s10); s11 = madd4(x1, w1, s11);
        s20 = madd4(x2, w0, s20); s21 = madd4(x2, w1, s21);
        s30 = madd4(x3, w0, s30); s31 = madd4(x3, w1, s31);
        bk += lb;
        ak += 4;
      }
      v128.store(cn, s00); v128.store(cn, s01, 16);
      v128.store(cn + lc, s10); v128.store(cn + lc, s11, 16);
      v128.store(cn + 2 * lc, s20); v128.store(cn + 2 * lc, s21, 16);
      v128.store(cn + 3 * lc, s30); v128.store(cn + 3 * lc, s31, 16);
    }
    if (n < cols) gemmNarrow(a0, la, b, lb, c0, lc, 4, inner, n, cols, bias, accumulate);
  }
  // Remaining rows one at a time: sixteen columns (four accumulators) per pass.
  for (; m < rows; m++) {
    const a0 = a + <usize>m * la;
    const c0 = c + <usize>m * lc;
    let n = 0;
    for (; n + 15 < cols; n += 16) {
      const cn = c0 + (<usize>n << 2);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      if (accumulate) { s0 = v128.load(cn); s1 = v128.load(cn, 16); s2 = v128.load(cn, 32); s3 = v128.load(cn, 48); }
      if (bias) {
        const bn = bias + (<usize>n << 2);
        s0 = f32x4.add(s0, v128.load(bn)); s1 = f32x4.add(s1, v128.load(bn, 16));
        s2 = f32x4.add(s2, v128.load(bn, 32)); s3 = f32x4.add(s3, v128.load(bn, 48));
      }
      let bk = b + (<usize>n << 2);
      let ak = a0;
      for (let k = 0; k < inner; k++) {
        const x = v128.load32_splat(ak);
        s0 = madd4(x, v128.load(bk), s0);
        s1 = madd4(x, v128.load(bk, 16), s1);
        s2 = madd4(x, v128.load(bk, 32), s2);
        s3 = madd4(x, v128.load(bk, 48), s3);
        bk += lb;
        ak += 4;
      }
      v128.store(cn, s0); v128.store(cn, s1, 16); v128.store(cn, s2, 32); v128.store(cn, s3, 48);
    }
    if (n < cols) gemmNarrow(a0, la, b, lb, c0, lc, 1, inner, n, cols, bias, accumulate);
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

// exp over four lanes: x = n·ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial to r^7
// (error below float32 rounding), 2^n built in the exponent bits. x is clamped so 2^n stays normal.
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  // pmin/pmax are one instruction each (min/max must order NaN and ±0, which costs several);
  // with x first, a NaN still comes through.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  // n = round(x / ln2) by adding 1.5·2^23: the sum's low mantissa bits then hold n itself, which
  // builds 2^n below without a float-to-int conversion (exact for |n| < 2^22).
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504)), f32x4.splat(12582912.0));
  const n = f32x4.sub(shifted, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  // Estrin's scheme: the same polynomial in four dependent steps instead of fourteen, so the
  // gate pass is not bound by the latency of one long chain.
  const r2 = f32x4.mul(r, r);
  const r4 = f32x4.mul(r2, r2);
  const a = f32x4.add(f32x4.splat(1.0), r);
  const b = madd4(r, f32x4.splat(1.0 / 6.0), f32x4.splat(0.5));
  const c = madd4(r, f32x4.splat(1.0 / 120.0), f32x4.splat(1.0 / 24.0));
  const d = madd4(r, f32x4.splat(1.0 / 5040.0), f32x4.splat(1.0 / 720.0));
  const p = madd4(r4, madd4(r2, d, c), madd4(r2, b, a));
  const scale = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2.0), f32x4.add(exp4(f32x4.add(x, x)), one)));
}

/** The gates' activation: Keras' sigmoid, or hard_sigmoid as Keras 2 or Keras 3 defines it. */
// Compile-time constants inside (so the passes below fold them); the exported copies are for the host.
const SIGMOID: i32 = 0;
const HARD_SIGMOID_KERAS2: i32 = 1;
const HARD_SIGMOID_KERAS3: i32 = 2;
export const GATE_SIGMOID: i32 = SIGMOID;
export const GATE_HARD_SIGMOID_KERAS2: i32 = HARD_SIGMOID_KERAS2;
export const GATE_HARD_SIGMOID_KERAS3: i32 = HARD_SIGMOID_KERAS3;

// @ts-ignore: decorator
@inline function gate4(x: v128, kind: i32): v128 {
  if (kind == SIGMOID) return sigmoid4(x);
  const zero = f32x4.splat(0.0);
  const one = f32x4.splat(1.0);
  const slope = f32x4.splat(kind == HARD_SIGMOID_KERAS2 ? <f32>0.2 : <f32>(1.0 / 6.0));
  return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, slope), f32x4.splat(0.5)), zero), one);
}

/**
 * Stores the first `lanes` (1 to 4) lanes of v at ptr. A state row whose length is not a multiple
 * of four ends with such a partial vector; the lanes past it belong to the next row.
 */
// @ts-ignore: decorator
@inline function storeLanes(ptr: usize, v: v128, lanes: usize): void {
  if (lanes == 4) { v128.store(ptr, v); return; }
  v128.store32_lane(ptr, v, 0);
  if (lanes > 1) v128.store32_lane(ptr, v, 1, 4);
  if (lanes > 2) v128.store32_lane(ptr, v, 2, 8);
}

/**
 * LSTM gates (tanh activation) for `batch` rows: row b's pre-activations [i | f | g | o] are at
 * p + b*pStride floats; its states at h and c + b*sStride floats (h is only written). Rows whose
 * byte at mask + b*maskStride is 0 keep their states (mask 0: every row runs).
 * Any units: the last vector of a row may be partial. Its spare lanes read the values that follow
 * (the next gate block or row, or the slack after the workspace) and are never stored.
 */
export function lstmGates(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, gate: i32, mask: usize,
  maskStride: i32
): void {
  // One copy of the loop per gate activation (constant-folded): a branch on the activation inside
  // the loop cost a quarter of the pass.
  if (gate == SIGMOID) lstmSigmoid(p, pStride, h, c, sStride, batch, units, mask, maskStride);
  else if (gate == HARD_SIGMOID_KERAS2) lstmHardSigmoid2(p, pStride, h, c, sStride, batch, units, mask, maskStride);
  else lstmHardSigmoid3(p, pStride, h, c, sStride, batch, units, mask, maskStride);
}

// Separate functions, not inlined into one: the engine compiles each loop on its own, and one
// function holding all three ran a quarter slower.
// @ts-ignore: decorator
@noinline function lstmSigmoid(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, mask: usize, maskStride: i32
): void {
  lstmRows(p, pStride, h, c, sStride, batch, units, SIGMOID, mask, maskStride);
}
// @ts-ignore: decorator
@noinline function lstmHardSigmoid2(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, mask: usize, maskStride: i32
): void {
  lstmRows(p, pStride, h, c, sStride, batch, units, HARD_SIGMOID_KERAS2, mask, maskStride);
}
// @ts-ignore: decorator
@noinline function lstmHardSigmoid3(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, mask: usize, maskStride: i32
): void {
  lstmRows(p, pStride, h, c, sStride, batch, units, HARD_SIGMOID_KERAS3, mask, maskStride);
}

// @ts-ignore: decorator
@inline function lstmRows(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, gate: i32, mask: usize,
  maskStride: i32
): void {
  const ub = <usize>units << 2;
  for (let b = 0; b < batch; b++) {
    if (mask && load<u8>(mask + <usize>b * <usize>maskStride) == 0) continue;
    const pr = p + <usize>b * (<usize>pStride << 2);
    const sr = <usize>b * (<usize>sStride << 2);
    for (let j: usize = 0; j < ub; j += 16) {
      const lanes = min<usize>(4, (ub - j) >> 2);
      const i = gate4(v128.load(pr + j), gate);
      const f = gate4(v128.load(pr + ub + j), gate);
      const g = tanh4(v128.load(pr + 2 * ub + j));
      const o = gate4(v128.load(pr + 3 * ub + j), gate);
      const cell = madd4(f, v128.load(c + sr + j), f32x4.mul(i, g));
      storeLanes(c + sr + j, cell, lanes);
      storeLanes(h + sr + j, f32x4.mul(o, tanh4(cell)), lanes);
    }
  }
}

/**
 * GRU gates with reset_after (tanh activation): row b's input part [z | r | h~] is at
 * p + b*pStride floats, its recurrent part (h·U + recurrent bias) at rec + b*recStride floats;
 * the previous state is read at hIn and the new one written at hOut (+ b*sStride floats; they
 * may be the same). Masks and any units as in lstmGates.
 */
export function gruGates(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  gate: i32, mask: usize, maskStride: i32
): void {
  if (gate == SIGMOID) gruSigmoid(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, mask, maskStride);
  else if (
    gate == HARD_SIGMOID_KERAS2
  ) gruHardSigmoid2(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, mask, maskStride);
  else gruHardSigmoid3(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, mask, maskStride);
}

// @ts-ignore: decorator
@noinline function gruSigmoid(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  mask: usize, maskStride: i32
): void {
  gruRows(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, SIGMOID, mask, maskStride);
}
// @ts-ignore: decorator
@noinline function gruHardSigmoid2(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  mask: usize, maskStride: i32
): void {
  gruRows(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, HARD_SIGMOID_KERAS2, mask, maskStride);
}
// @ts-ignore: decorator
@noinline function gruHardSigmoid3(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  mask: usize, maskStride: i32
): void {
  gruRows(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, HARD_SIGMOID_KERAS3, mask, maskStride);
}

// @ts-ignore: decorator
@inline function gruRows(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  gate: i32, mask: usize, maskStride: i32
): void {
  const ub = <usize>units << 2;
  const one = f32x4.splat(1.0);
  for (let b = 0; b < batch; b++) {
    if (mask && load<u8>(mask + <usize>b * <usize>maskStride) == 0) continue;
    const pr = p + <usize>b * (<usize>pStride << 2);
    const rr = rec + <usize>b * (<usize>recStride << 2);
    const sr = <usize>b * (<usize>sStride << 2);
    for (let j: usize = 0; j < ub; j += 16) {
      const lanes = min<usize>(4, (ub - j) >> 2);
      const z = gate4(f32x4.add(v128.load(pr + j), v128.load(rr + j)), gate);
      const r = gate4(f32x4.add(v128.load(pr + ub + j), v128.load(rr + ub + j)), gate);
      const cand = tanh4(madd4(r, v128.load(rr + 2 * ub + j), v128.load(pr + 2 * ub + j)));
      storeLanes(
        hOut + sr + j, madd4(z, v128.load(hIn + sr + j), f32x4.mul(f32x4.sub(one, z), cand)), lanes
      );
    }
  }
}

/** Copies `count` units of each row of h ([batch, sStride]) to out + (b*time + s)*sStride floats. */
export function copyStep(h: usize, out: usize, batch: i32, sStride: i32, count: i32, time: i32, s: i32): void {
  const rowBytes = <usize>sStride << 2;
  for (let b = 0; b < batch; b++) {
    memory.copy(out + (<usize>b * <usize>time + <usize>s) * rowBytes, h + <usize>b * rowBytes, <usize>count << 2);
  }
}

/**
 * x·kernel + bias for time steps [t0, t0 + len) of every row, columns [col, col + cols) of the
 * `width` columns: x is [batch, time, features]; row b's step t0 + j lands at
 * p + (b*chunk + j)*width floats. A sequence computes its projection a chunk of steps at a time,
 * so the buffer holds `chunk` steps, not the whole sequence.
 */
export function projectChunk(
  x: usize, features: i32, time: i32, kernel: usize, width: i32, bias: usize, p: usize, chunk: i32, t0: i32, len: i32,
  batch: i32, col: i32, cols: i32
): void {
  const colBytes = <usize>col << 2;
  for (let b = 0; b < batch; b++) {
    const xb = x + ((<usize>b * <usize>time + <usize>t0) * <usize>features << 2);
    const pb = p + (<usize>b * <usize>chunk * <usize>width << 2);
    gemm(
      xb, features, kernel + colBytes, width, pb + colBytes, width, len, features, cols, bias ? bias + colBytes : 0, 0
    );
  }
}

/** The first time index of the chunk starting at processing step s (len steps; backwards: from the end). */
// @ts-ignore: decorator
@inline export function chunkStart(s: i32, len: i32, time: i32, backwards: i32): i32 {
  return backwards ? time - s - len : s;
}

/**
 * A whole unmasked LSTM sequence over x ([batch, time, features]): `time` steps, in reverse order
 * when `backwards`, the input projection computed `chunk` steps at a time into p
 * ([batch, chunk, 4u]). With out (not 0), step s's h goes to out[b, s, :]. The recurrent kernel
 * is packed (gemmPacked).
 */
export function lstmSteps(
  x: usize, features: i32, kernel: usize, bias: usize, p: usize, chunk: i32, time: i32, packed: usize, h: usize,
  c: usize, batch: i32, units: i32, gate: i32, backwards: i32, out: usize
): void {
  const width = 4 * units;
  let t0 = 0;
  for (let s = 0; s < time; s++) {
    if (s % chunk == 0) {
      const len = min(chunk, time - s);
      t0 = chunkStart(s, len, time, backwards);
      projectChunk(x, features, time, kernel, width, bias, p, chunk, t0, len, batch, 0, width);
    }
    const t = backwards ? time - 1 - s : s;
    const pt = p + (<usize>(t - t0) * <usize>width << 2);
    gemmPacked(h, units, packed, pt, chunk * width, batch, units, width, 0, 1);
    lstmGates(pt, chunk * width, h, c, units, batch, units, gate, 0, 0);
    if (out) copyStep(h, out, batch, units, units, time, s);
  }
}

/** A whole unmasked GRU (reset_after) sequence, as lstmSteps; `rec` is [batch, 3u] scratch. */
export function gruSteps(
  x: usize, features: i32, kernel: usize, bias: usize, p: usize, chunk: i32, time: i32, packed: usize,
  recurrentBias: usize, rec: usize, h: usize, batch: i32, units: i32, gate: i32, backwards: i32, out: usize
): void {
  const width = 3 * units;
  let t0 = 0;
  for (let s = 0; s < time; s++) {
    if (s % chunk == 0) {
      const len = min(chunk, time - s);
      t0 = chunkStart(s, len, time, backwards);
      projectChunk(x, features, time, kernel, width, bias, p, chunk, t0, len, batch, 0, width);
    }
    const t = backwards ? time - 1 - s : s;
    const pt = p + (<usize>(t - t0) * <usize>width << 2);
    gemmPacked(h, units, packed, rec, width, batch, units, width, recurrentBias, 0);
    gruGates(pt, chunk * width, rec, width, h, h, units, batch, units, gate, 0, 0);
    if (out) copyStep(h, out, batch, units, units, time, s);
  }
}
