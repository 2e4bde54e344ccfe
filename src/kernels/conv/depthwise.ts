/**
 * Depthwise convolution computed directly, for shapes with one group per input channel (Cg = 1,
 * M = outChannels / inChannels filters each) over 1 or 2 spatial axes: the convolution of
 * ./reference.ts with groups = inChannels. Output position o, channel c, filter m:
 *   y[o, c·M + m] = bias[c·M + m] + Σ_t x[o·stride + t·dilation - pad, c] · W[t, c·M + m]
 * The kernel layout is the grouped convolution's [...kernel, 1, C·M], which is Keras'
 * depthwise_kernel [...kernel, C, M] as it is. Each tap adds one row of input channels into one
 * row of outputs, channels innermost (contiguous in x, W and y), so no gather and no product of
 * width 1 (what the grouped im2col way runs per channel).
 */
import type { ConvCall, ConvFunction, ConvShape } from "./geometry.js";

/** Whether the depthwise ways can run `shape`: one input channel per group, 1 or 2 spatial axes. */
export function isDepthwise(shape: ConvShape): boolean {
  return shape.groups === shape.inChannels && (shape.kernel.length === 1 || shape.kernel.length === 2);
}

/** The geometry as two spatial axes (a 1D convolution is one row of height 1). */
export interface Planar {
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  DH: number;
  DW: number;
  PH: number;
  PW: number;
}

export function planar(shape: ConvShape, call: ConvCall): Planar {
  const two = shape.kernel.length === 2;
  const pick = (values: readonly number[], one: number): [number, number] =>
    two ? [values[0], values[1]] : [one, values[0]];
  const [H, W] = pick(call.input, 1);
  const [OH, OW] = pick(call.output, 1);
  const [KH, KW] = pick(shape.kernel, 1);
  const [SH, SW] = pick(shape.strides, 1);
  const [DH, DW] = pick(shape.dilations, 1);
  const [PH, PW] = pick(call.padsBegin, 0);
  return { H, W, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW };
}

/** Output columns [first, end) whose input column ox·S + k·D - P lies inside [0, W). */
export function columnRange(g: Planar, kx: number): [number, number] {
  const first = Math.max(0, Math.ceil((g.PW - kx * g.DW) / g.SW));
  const end = Math.min(g.OW, Math.floor((g.W - 1 + g.PW - kx * g.DW) / g.SW) + 1);
  return [first, end];
}

export const depthwiseConv: ConvFunction = (x, kernel, bias, epilogue, shape, call, y) => {
  const C = shape.inChannels;
  const F = shape.outChannels;
  const M = F / C;
  const g = planar(shape, call);
  for (let b = 0; b < call.batch; b++) {
    for (let oy = 0; oy < g.OH; oy++) {
      const yRow = (b * g.OH + oy) * g.OW * F;
      if (bias === null) y.fill(0, yRow, yRow + g.OW * F);
      else for (let ox = 0; ox < g.OW; ox++) y.set(bias, yRow + ox * F);
      for (let ky = 0; ky < g.KH; ky++) {
        const iy = oy * g.SH + ky * g.DH - g.PH;
        if (iy < 0 || iy >= g.H) continue;
        const xRow = (b * g.H + iy) * g.W * C;
        for (let kx = 0; kx < g.KW; kx++) {
          const [first, end] = columnRange(g, kx);
          const w = (ky * g.KW + kx) * F;
          for (let ox = first; ox < end; ox++) {
            const xi = xRow + (ox * g.SW + kx * g.DW - g.PW) * C;
            const yi = yRow + ox * F;
            if (M === 1) {
              for (let c = 0; c < C; c++) y[yi + c] += x[xi + c] * kernel[w + c];
            } else {
              for (let c = 0; c < C; c++) {
                const v = x[xi + c];
                for (let m = 0; m < M; m++) y[yi + c * M + m] += v * kernel[w + c * M + m];
              }
            }
          }
        }
      }
      if (epilogue !== null) epilogue.apply(y, yRow, y, yRow, g.OW, F);
    }
  }
};
