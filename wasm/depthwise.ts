// Depthwise convolution on WebAssembly SIMD (re-exported by conv-kernels.ts), for
// src/kernels/conv/wasm-depthwise.ts: one input channel per group, M filters each, channels_last,
// two spatial axes (a 1D convolution is one row). The equation is src/kernels/conv/depthwise.ts':
//   y[b, oy, ox, c·M + m] = bias[c·M + m] + Σ_{ky, kx} x[b, iy, ix, c] · w[ky, kx, c·M + m]
// with iy = oy·SH + ky·DH − PH, ix = ox·SW + kx·DW − PW, and taps outside the input left out.
// Each output position keeps sixteen channels in four registers across every tap, then stores
// them once; gemm.ts' epilogueRows then maps each output row (per-channel scale and shift,
// clamp). Float32 sums, taps in row-major order.
import { epilogueRows, madd4 } from "./gemm";
import { field } from "./record";

/** The geometry record's i32 fields, in the order the host writes them (DepthwiseGeometry). */
export enum DepthwiseGeometry { BATCH, H, W, C, M, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW, FIELDS }

/** The taps k in [first, end) whose input o·S + k·D − P lies inside [0, size), as first | end << 16. */
// @ts-ignore: decorator
@inline function inside(o: i32, S: i32, D: i32, P: i32, K: i32, size: i32): i32 {
  const at = o * S - P;
  let first = 0;
  while (first < K && at + first * D < 0) first++;
  let end = K;
  while (end > first && at + (end - 1) * D >= size) end--;
  return first | (end << 16);
}

/**
 * x, w, bias (0: none), y: byte addresses; g: the geometry record (DepthwiseGeometry). Then the
 * epilogue of gemm.ts' gemmFused: scale and shift per output channel (scale 0: none), clamp to
 * [lo, hi].
 */
export function depthwise(
  x: usize, w: usize, bias: usize, y: usize, g: usize, scale: usize, shift: usize, lo: f32, hi: f32,
): void {
  const batch = field(g, DepthwiseGeometry.BATCH);
  const H = field(g, DepthwiseGeometry.H), W = field(g, DepthwiseGeometry.W);
  const C = field(g, DepthwiseGeometry.C), M = field(g, DepthwiseGeometry.M);
  const OH = field(g, DepthwiseGeometry.OH), OW = field(g, DepthwiseGeometry.OW);
  const KH = field(g, DepthwiseGeometry.KH), KW = field(g, DepthwiseGeometry.KW);
  const SH = field(g, DepthwiseGeometry.SH), SW = field(g, DepthwiseGeometry.SW);
  const DH = field(g, DepthwiseGeometry.DH), DW = field(g, DepthwiseGeometry.DW);
  const PH = field(g, DepthwiseGeometry.PH), PW = field(g, DepthwiseGeometry.PW);
  const F = C * M;
  const after = scale != 0 || lo > -Infinity || hi < Infinity;
  const pixel = <usize>C << 2;
  const rowBytes = <usize>W * pixel;
  const tapBytes = <usize>F << 2;
  // Byte steps between taps: along a row (dilation DW) and from one tap row to the next.
  const xStep = <usize>DW * pixel;
  const wStep = tapBytes;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>b * <usize>H * rowBytes;
    for (let oy = 0; oy < OH; oy++) {
      const rows = inside(oy, SH, DH, PH, KH, H);
      const ky0 = rows & 0xffff, ky1 = rows >>> 16;
      for (let ox = 0; ox < OW; ox++) {
        const cols = inside(ox, SW, DW, PW, KW, W);
        const kx0 = cols & 0xffff, kx1 = cols >>> 16;
        const yp = y + ((<usize>(b * OH + oy) * <usize>OW + <usize>ox) * <usize>F << 2);
        // The first tap's input pixel and weights; each tap row then starts DH rows further down.
        const x0 = xb + <usize>(oy * SH + ky0 * DH - PH) * rowBytes + <usize>(ox * SW + kx0 * DW - PW) * pixel;
        const w0 = w + <usize>(ky0 * KW + kx0) * tapBytes;
        const xRowStep = <usize>DH * rowBytes;
        const wRowStep = <usize>KW * tapBytes;
        let c = 0;
        if (M == 1) {
          for (; c + 15 < C; c += 16) {
            const off = <usize>c << 2;
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            if (bias) {
              a0 = v128.load(bias + off); a1 = v128.load(bias + off, 16);
              a2 = v128.load(bias + off, 32); a3 = v128.load(bias + off, 48);
            }
            let xr = x0 + off, wr = w0 + off;
            for (let ky = ky0; ky < ky1; ky++) {
              let xp = xr, wp = wr;
              for (let kx = kx0; kx < kx1; kx++) {
                a0 = madd4(v128.load(xp), v128.load(wp), a0);
                a1 = madd4(v128.load(xp, 16), v128.load(wp, 16), a1);
                a2 = madd4(v128.load(xp, 32), v128.load(wp, 32), a2);
                a3 = madd4(v128.load(xp, 48), v128.load(wp, 48), a3);
                xp += xStep;
                wp += wStep;
              }
              xr += xRowStep;
              wr += wRowStep;
            }
            v128.store(yp + off, a0); v128.store(yp + off, a1, 16);
            v128.store(yp + off, a2, 32); v128.store(yp + off, a3, 48);
          }
          for (; c + 3 < C; c += 4) {
            const off = <usize>c << 2;
            let a = bias ? v128.load(bias + off) : f32x4.splat(0);
            let xr = x0 + off, wr = w0 + off;
            for (let ky = ky0; ky < ky1; ky++) {
              let xp = xr, wp = wr;
              for (let kx = kx0; kx < kx1; kx++) {
                a = madd4(v128.load(xp), v128.load(wp), a);
                xp += xStep;
                wp += wStep;
              }
              xr += xRowStep;
              wr += wRowStep;
            }
            v128.store(yp + off, a);
          }
        }
        // The M > 1 case and the last channels, one value at a time.
        for (let f = c * M; f < F; f++) {
          const at = <usize>f << 2;
          let a: f32 = bias ? load<f32>(bias + at) : 0;
          let xr = x0 + (<usize>(f / M) << 2), wr = w0 + at;
          for (let ky = ky0; ky < ky1; ky++) {
            let xp = xr, wp = wr;
            for (let kx = kx0; kx < kx1; kx++) {
              a += load<f32>(xp) * load<f32>(wp);
              xp += xStep;
              wp += wStep;
            }
            xr += xRowStep;
            wr += wRowStep;
          }
          store<f32>(yp + at, a);
        }
      }
      const yRow = y + <usize>(b * OH + oy) * <usize>OW * tapBytes;
      if (after) epilogueRows(yRow, tapBytes, OW, F, scale, shift, lo, hi);
    }
  }
}
