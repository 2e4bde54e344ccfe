/**
 * Convolutions of ./reference.ts in TypeScript, on the matrix product of ../gemm/. Two ways, both
 * allocation-free per call once the workspace exists; index.ts picks one (see docs/decisions.md):
 *  - shifted products: for every kernel tap, the rows of one output line that the tap reaches
 *    form a product of the input rows (stride apart) with that tap's [Cg, Fg] weights, added in;
 *  - im2col: a block of output positions gathers its receptive fields into rows of
 *    [taps · Cg] values, and one product with the whole kernel gives them.
 * Transposed convolutions use shifted products: each tap scatters input rows into output rows
 * stride apart, with the tap's weights transposed to [Cg, F] once, at load.
 */
import type { Activation } from "../activations.js";
import { gemm } from "../gemm/typescript.js";
import {
  positions,
  throughTap,
  type ConvCall,
  type ConvFunction,
  type EitherConvFunction,
  type ConvShape,
} from "./geometry.js";
import { planar, type Planar } from "./depthwise.js";

/** Sets every output row to the bias (or zero). */
function fillBias(y: Float32Array, offset: number, rows: number, bias: Float32Array | null, F: number): void {
  if (bias === null) y.fill(0, offset, offset + rows * F);
  else for (let r = 0; r < rows; r++) y.set(bias, offset + r * F);
}

/**
 * Shifted products, both ways. The spatial axes but the last form lines: each line of the grid
 * `from` (a convolution's output, a transposed one's input) meets, through each outer tap, one
 * line of the other grid `to`; along the last axis, tap k links from-positions t to
 * to-positions t·s + k·d - pad, a run of rows stride apart: one product per tap and group.
 */
const shiftedProducts: EitherConvFunction = (x, kernel, bias, epilogue, shape, call, y, transposed) => {
  const { inChannels: C, outChannels: F, groups } = shape;
  const Cg = C / groups;
  const Fg = F / groups;
  const last = shape.kernel.length - 1;
  const [fromDims, toDims] = transposed ? [call.input, call.output] : [call.output, call.input];
  const [fromL, toL, K] = [fromDims[last], toDims[last], shape.kernel[last]];
  const [s, d, pad] = [shape.strides[last], shape.dilations[last], call.padsBegin[last]];
  const inSize = positions(call.input);
  const outSize = positions(call.output);
  const fromLines = positions(fromDims) / fromL;
  const outerTaps = positions(shape.kernel) / K;
  for (let b = 0; b < call.batch; b++) {
    const xBatch = b * inSize * C;
    const yBatch = b * outSize * F;
    fillBias(y, yBatch, outSize, bias, F);
    for (let line = 0; line < fromLines; line++) {
      for (let outer = 0; outer < outerTaps; outer++) {
        const toLine = throughTap(shape, call.padsBegin, fromDims, toDims, last, line, outer);
        if (toLine < 0) continue;
        for (let k = 0; k < K; k++) {
          // From-positions t whose to-position t*s + k*d - pad lies inside [0, toL).
          const first = Math.max(0, Math.ceil((pad - k * d) / s));
          const end = Math.min(fromL, Math.floor((toL - 1 + pad - k * d) / s) + 1);
          if (end <= first) continue;
          const fromRow = line * fromL + first;
          const toRow = toLine * toL + first * s + k * d - pad;
          // A convolution reads input rows stride apart; a transposed one writes output rows so.
          const xRow = xBatch + (transposed ? fromRow : toRow) * C;
          const yRow = yBatch + (transposed ? toRow : fromRow) * F;
          const lda = transposed ? C : s * C;
          const ldc = transposed ? s * F : F;
          const w = (outer * K + k) * Cg * F;
          for (let g = 0; g < groups; g++) {
            gemm(x, xRow + g * Cg, lda, kernel, w + g * Fg, F, y, yRow + g * Fg, ldc, end - first, Cg, Fg, null, true);
          }
        }
      }
    }
    if (epilogue !== null) epilogue.apply(y, yBatch, y, yBatch, outSize, F);
  }
};

export const convShifted: ConvFunction = (x, kernel, bias, epilogue, shape, call, y) =>
  shiftedProducts(x, kernel, bias, epilogue, shape, call, y, false);

/** Transposed convolution with `tapsCF` from transposeTaps() as its kernel. */
export const convTransposeShifted: ConvFunction = (x, tapsCF, bias, epilogue, shape, call, y) =>
  shiftedProducts(x, tapsCF, bias, epilogue, shape, call, y, true);

/** Output positions an im2col block holds: its rows stay in cache while the kernel streams by. */
export const IM2COL_BLOCK_ROWS = 64;

/** Floats of workspace convIm2col needs. */
export function im2colWorkspace(shape: ConvShape): number {
  return IM2COL_BLOCK_ROWS * positions(shape.kernel) * (shape.inChannels / shape.groups);
}

/**
 * Rows [start, start + rows) of batch item b's im2col matrix for group g into `dest` from index
 * 0: row r holds, tap by tap, the Cg input channels output position start + r reads (zeros in
 * the padding).
 */
export function gatherBlock(
  x: Float32Array,
  b: number,
  g: number,
  shape: ConvShape,
  call: ConvCall,
  start: number,
  rows: number,
  dest: Float32Array,
  plane: Planar | null = null,
): void {
  if (plane !== null) return gatherPlanar(x, b, g, shape, plane, start, rows, dest);
  const Cg = shape.inChannels / shape.groups;
  const C = shape.inChannels;
  const rank = shape.kernel.length;
  const taps = positions(shape.kernel);
  const width = taps * Cg;
  const xBatch = b * positions(call.input) * C;
  for (let r = 0; r < rows; r++) {
    const row = r * width;
    for (let t = 0; t < taps; t++) {
      const at = throughTap(shape, call.padsBegin, call.output, call.input, rank, start + r, t);
      const to = row + t * Cg;
      if (at < 0) dest.fill(0, to, to + Cg);
      else {
        const from = xBatch + at * C + g * Cg;
        for (let c = 0; c < Cg; c++) dest[to + c] = x[from + c];
      }
    }
  }
}

/**
 * gatherBlock() over 1 or 2 spatial axes (`plane`: planar(shape, call)): the taps walked row by
 * row, a row of the kernel outside the input zeroed at once (measured 3x faster on MobileNetV2's
 * first convolution than a tap-by-tap index map).
 */
function gatherPlanar(
  x: Float32Array,
  b: number,
  g: number,
  shape: ConvShape,
  p: Planar,
  start: number,
  rows: number,
  dest: Float32Array,
): void {
  const C = shape.inChannels;
  const Cg = C / shape.groups;
  const rowWidth = p.KW * Cg;
  const xBatch = b * p.H * p.W * C + g * Cg;
  let to = 0;
  for (let r = 0; r < rows; r++) {
    const oy = Math.floor((start + r) / p.OW);
    const ox = start + r - oy * p.OW;
    for (let ky = 0; ky < p.KH; ky++) {
      const iy = oy * p.SH + ky * p.DH - p.PH;
      if (iy < 0 || iy >= p.H) {
        dest.fill(0, to, to + rowWidth);
        to += rowWidth;
        continue;
      }
      const xRow = xBatch + iy * p.W * C;
      for (let kx = 0; kx < p.KW; kx++, to += Cg) {
        const ix = ox * p.SW + kx * p.DW - p.PW;
        if (ix < 0 || ix >= p.W) dest.fill(0, to, to + Cg);
        else for (let c = 0, from = xRow + ix * C; c < Cg; c++) dest[to + c] = x[from + c];
      }
    }
  }
}

export function convIm2col(
  x: Float32Array,
  kernel: Float32Array,
  biasPerGroup: readonly (Float32Array | null)[],
  epilogue: Activation | null,
  shape: ConvShape,
  call: ConvCall,
  y: Float32Array,
  workspace: Float32Array,
): void {
  const { outChannels: F, groups } = shape;
  const Fg = F / groups;
  const width = positions(shape.kernel) * (shape.inChannels / groups);
  const outSize = positions(call.output);
  // A fused epilogue must see whole rows: with groups, it runs after the last group.
  const fused = groups === 1 ? epilogue : null;
  const plane = shape.kernel.length <= 2 ? planar(shape, call) : null;
  for (let b = 0; b < call.batch; b++) {
    const yBatch = b * outSize * F;
    for (let start = 0; start < outSize; start += IM2COL_BLOCK_ROWS) {
      const rows = Math.min(IM2COL_BLOCK_ROWS, outSize - start);
      for (let g = 0; g < groups; g++) {
        gatherBlock(x, b, g, shape, call, start, rows, workspace, plane);
        const yRow = yBatch + start * F + g * Fg;
        gemm(workspace, 0, width, kernel, g * Fg, F, y, yRow, F, rows, width, Fg, biasPerGroup[g], false, fused);
      }
    }
    if (epilogue !== null && fused === null) epilogue.apply(y, yBatch, y, yBatch, outSize, F);
  }
}

/** Kernel [...kernel, F, Cg] (Keras' transposed layout) as [...kernel, Cg, F], once at load. */
export function transposeTaps(kernel: Float32Array, taps: number, F: number, Cg: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let t = 0; t < taps; t++) {
    for (let f = 0; f < F; f++) for (let c = 0; c < Cg; c++) out[(t * Cg + c) * F + f] = kernel[(t * F + f) * Cg + c];
  }
  return out;
}
