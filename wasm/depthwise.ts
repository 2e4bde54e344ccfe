// Depthwise convolution on WebAssembly SIMD (re-exported by conv-kernels.ts), for
// src/kernels/conv/wasm-depthwise.ts: one input channel per group, M filters each, channels_last,
// two spatial axes (a 1D convolution is one row). The equation is src/kernels/conv/depthwise.ts':
//   y[b, oy, ox, c·M + m] = bias[c·M + m] + Σ_{ky, kx} x[b, iy, ix, c] · w[ky, kx, c·M + m]
// with iy = oy·SH + ky·DH − PH, ix = ox·SW + kx·DW − PW, and taps outside the input left out.
// Each output position keeps sixteen channels in four registers across every tap, then stores
// them once. Float32 sums, taps in row-major order.

/** The geometry record's i32 fields, in the order the host writes them (DepthwiseGeometry). */
export enum DepthwiseGeometry { BATCH, H, W, C, M, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW, FIELDS }

// @ts-ignore: decorator
@inline function field(g: usize, f: DepthwiseGeometry): i32 {
  return load<i32>(g + (<usize>f << 2));
}

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** x, w, bias (0: none), y: byte addresses; g: the geometry record (DepthwiseGeometry). */
export function depthwise(x: usize, w: usize, bias: usize, y: usize, g: usize): void {
  const batch = field(g, DepthwiseGeometry.BATCH);
  const H = field(g, DepthwiseGeometry.H), W = field(g, DepthwiseGeometry.W);
  const C = field(g, DepthwiseGeometry.C), M = field(g, DepthwiseGeometry.M);
  const OH = field(g, DepthwiseGeometry.OH), OW = field(g, DepthwiseGeometry.OW);
  const KH = field(g, DepthwiseGeometry.KH), KW = field(g, DepthwiseGeometry.KW);
  const SH = field(g, DepthwiseGeometry.SH), SW = field(g, DepthwiseGeometry.SW);
  const DH = field(g, DepthwiseGeometry.DH), DW = field(g, DepthwiseGeometry.DW);
  const PH = field(g, DepthwiseGeometry.PH), PW = field(g, DepthwiseGeometry.PW);
  const F = C * M;
  const rowBytes = <usize>W * <usize>C << 2;
  const tapBytes = <usize>F << 2;
  for (let b = 0; b < batch; b++) {
    const xb = x + <usize>b * <usize>H * rowBytes;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const yp = y + ((<usize>(b * OH + oy) * <usize>OW + <usize>ox) * <usize>F << 2);
        if (M == 1) {
          let c = 0;
          for (; c + 15 < C; c += 16) {
            const off = <usize>c << 2;
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            if (bias) {
              a0 = v128.load(bias + off); a1 = v128.load(bias + off, 16);
              a2 = v128.load(bias + off, 32); a3 = v128.load(bias + off, 48);
            }
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * SH + ky * DH - PH;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * SW + kx * DW - PW;
                if (ix < 0 || ix >= W) continue;
                const xp = xb + <usize>iy * rowBytes + (<usize>ix * <usize>C << 2) + off;
                const wp = w + <usize>(ky * KW + kx) * tapBytes + off;
                a0 = madd(v128.load(xp), v128.load(wp), a0);
                a1 = madd(v128.load(xp, 16), v128.load(wp, 16), a1);
                a2 = madd(v128.load(xp, 32), v128.load(wp, 32), a2);
                a3 = madd(v128.load(xp, 48), v128.load(wp, 48), a3);
              }
            }
            v128.store(yp + off, a0); v128.store(yp + off, a1, 16);
            v128.store(yp + off, a2, 32); v128.store(yp + off, a3, 48);
          }
          for (; c + 3 < C; c += 4) {
            const off = <usize>c << 2;
            let a = bias ? v128.load(bias + off) : f32x4.splat(0);
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * SH + ky * DH - PH;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * SW + kx * DW - PW;
                if (ix < 0 || ix >= W) continue;
                const xp = xb + <usize>iy * rowBytes + (<usize>ix * <usize>C << 2) + off;
                a = madd(v128.load(xp), v128.load(w + <usize>(ky * KW + kx) * tapBytes + off), a);
              }
            }
            v128.store(yp + off, a);
          }
          depthwiseScalar(xb, w, bias, yp, c, C, 1, oy, ox, H, W, KH, KW, SH, SW, DH, DW, PH, PW, rowBytes);
        } else {
          depthwiseScalar(xb, w, bias, yp, 0, C, M, oy, ox, H, W, KH, KW, SH, SW, DH, DW, PH, PW, rowBytes);
        }
      }
    }
  }
}

/** Channels c0..C of one output position, one value at a time (the M > 1 case and the tail). */
function depthwiseScalar(
  xb: usize, w: usize, bias: usize, yp: usize, c0: i32, C: i32, M: i32, oy: i32, ox: i32,
  H: i32, W: i32, KH: i32, KW: i32, SH: i32, SW: i32, DH: i32, DW: i32, PH: i32, PW: i32, rowBytes: usize,
): void {
  const F = C * M;
  for (let f = c0 * M; f < F; f++) {
    const c = f / M;
    let a: f32 = bias ? load<f32>(bias + (<usize>f << 2)) : 0;
    for (let ky = 0; ky < KH; ky++) {
      const iy = oy * SH + ky * DH - PH;
      if (iy < 0 || iy >= H) continue;
      for (let kx = 0; kx < KW; kx++) {
        const ix = ox * SW + kx * DW - PW;
        if (ix < 0 || ix >= W) continue;
        const xv = load<f32>(xb + <usize>iy * rowBytes + ((<usize>ix * <usize>C + <usize>c) << 2));
        a += xv * load<f32>(w + ((<usize>(ky * KW + kx) * <usize>F + <usize>f) << 2));
      }
    }
    store<f32>(yp + (<usize>f << 2), a);
  }
}
