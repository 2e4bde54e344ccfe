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
import type { ConvCall, ConvShape } from "./geometry.js";

const product = (shape: readonly number[]): number => {
  let p = 1;
  for (let i = 0; i < shape.length; i++) p *= shape[i];
  return p;
};

/**
 * The flat index of the input line (all spatial axes but the last) that outer output line
 * `outLine` reads through outer tap `tap`, or -1 when that line is padding.
 */
function sourceLine(shape: ConvShape, call: ConvCall, outLine: number, tap: number): number {
  let line = 0;
  let scale = 1;
  for (let a = shape.kernel.length - 2; a >= 0; a--) {
    const o = outLine % call.output[a];
    const t = tap % shape.kernel[a];
    outLine = (outLine - o) / call.output[a];
    tap = (tap - t) / shape.kernel[a];
    const i = o * shape.strides[a] + t * shape.dilations[a] - call.padsBegin[a];
    if (i < 0 || i >= call.input[a]) return -1;
    line += i * scale;
    scale *= call.input[a];
  }
  return line;
}

/** Sets every output row to the bias (or zero). */
function fillBias(y: Float32Array, offset: number, rows: number, bias: Float32Array | null, F: number): void {
  if (bias === null) y.fill(0, offset, offset + rows * F);
  else for (let r = 0; r < rows; r++) y.set(bias, offset + r * F);
}

export function convShifted(
  x: Float32Array,
  kernel: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  shape: ConvShape,
  call: ConvCall,
  y: Float32Array,
): void {
  const { inChannels: C, outChannels: F, groups } = shape;
  const Cg = C / groups;
  const Fg = F / groups;
  const last = shape.kernel.length - 1;
  const [L, outL, K] = [call.input[last], call.output[last], shape.kernel[last]];
  const [s, d, pad] = [shape.strides[last], shape.dilations[last], call.padsBegin[last]];
  const inSize = product(call.input);
  const outSize = product(call.output);
  const outLines = outSize / outL;
  const outerTaps = product(shape.kernel) / K;
  for (let b = 0; b < call.batch; b++) {
    const yBatch = b * outSize * F;
    fillBias(y, yBatch, outSize, bias, F);
    for (let line = 0; line < outLines; line++) {
      const yLine = yBatch + line * outL * F;
      for (let outer = 0; outer < outerTaps; outer++) {
        const source = sourceLine(shape, call, line, outer);
        if (source < 0) continue;
        const xLine = (b * inSize + source * L) * C;
        for (let k = 0; k < K; k++) {
          // Output positions t whose input t*s + k*d - pad lies inside [0, L).
          const first = Math.max(0, Math.ceil((pad - k * d) / s));
          const end = Math.min(outL, Math.floor((L - 1 + pad - k * d) / s) + 1);
          if (end <= first) continue;
          const xRow = xLine + (first * s + k * d - pad) * C;
          const w = (outer * K + k) * Cg * F;
          for (let g = 0; g < groups; g++) {
            gemm(
              x,
              xRow + g * Cg,
              s * C,
              kernel,
              w + g * Fg,
              F,
              y,
              yLine + first * F + g * Fg,
              F,
              end - first,
              Cg,
              Fg,
              null,
              true,
            );
          }
        }
      }
    }
    if (epilogue !== null) epilogue.apply(y, yBatch, y, yBatch, outSize, F);
  }
}

/** Output positions an im2col block holds: its rows stay in cache while the kernel streams by. */
export const IM2COL_BLOCK_ROWS = 64;

/** Floats of workspace convIm2col needs. */
export function im2colWorkspace(shape: ConvShape): number {
  return IM2COL_BLOCK_ROWS * product(shape.kernel) * (shape.inChannels / shape.groups);
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
): void {
  const Cg = shape.inChannels / shape.groups;
  const C = shape.inChannels;
  const rank = shape.kernel.length;
  const taps = product(shape.kernel);
  const width = taps * Cg;
  const xBatch = b * product(call.input) * C;
  for (let r = 0; r < rows; r++) {
    const row = r * width;
    for (let t = 0; t < taps; t++) {
      // Input position of output position start + r through tap t (axes last to first).
      let o = start + r;
      let tap = t;
      let at = 0;
      let scale = 1;
      for (let a = rank - 1; a >= 0 && at >= 0; a--) {
        const oa = o % call.output[a];
        const ta = tap % shape.kernel[a];
        o = (o - oa) / call.output[a];
        tap = (tap - ta) / shape.kernel[a];
        const i = oa * shape.strides[a] + ta * shape.dilations[a] - call.padsBegin[a];
        at = i < 0 || i >= call.input[a] ? -1 : at + i * scale;
        scale *= call.input[a];
      }
      const to = row + t * Cg;
      if (at < 0) dest.fill(0, to, to + Cg);
      else {
        const from = xBatch + at * C + g * Cg;
        for (let c = 0; c < Cg; c++) dest[to + c] = x[from + c];
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
  const width = product(shape.kernel) * (shape.inChannels / groups);
  const outSize = product(call.output);
  // A fused epilogue must see whole rows: with groups, it runs after the last group.
  const fused = groups === 1 ? epilogue : null;
  for (let b = 0; b < call.batch; b++) {
    const yBatch = b * outSize * F;
    for (let start = 0; start < outSize; start += IM2COL_BLOCK_ROWS) {
      const rows = Math.min(IM2COL_BLOCK_ROWS, outSize - start);
      for (let g = 0; g < groups; g++) {
        gatherBlock(x, b, g, shape, call, start, rows, workspace);
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

/**
 * The outer output line that input line `inLine` reaches through outer tap `tap` (all spatial
 * axes but the last), or -1 when it falls in the cropped padding.
 */
function targetLine(shape: ConvShape, call: ConvCall, inLine: number, tap: number): number {
  let line = 0;
  let scale = 1;
  for (let a = shape.kernel.length - 2; a >= 0; a--) {
    const i = inLine % call.input[a];
    const t = tap % shape.kernel[a];
    inLine = (inLine - i) / call.input[a];
    tap = (tap - t) / shape.kernel[a];
    const p = i * shape.strides[a] + t * shape.dilations[a] - call.padsBegin[a];
    if (p < 0 || p >= call.output[a]) return -1;
    line += p * scale;
    scale *= call.output[a];
  }
  return line;
}

/** Transposed convolution with `tapsCF` from transposeTaps(). */
export function convTransposeShifted(
  x: Float32Array,
  tapsCF: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  shape: ConvShape,
  call: ConvCall,
  y: Float32Array,
): void {
  const { inChannels: C, outChannels: F, groups } = shape;
  const Cg = C / groups;
  const Fg = F / groups;
  const last = shape.kernel.length - 1;
  const [L, outL, K] = [call.input[last], call.output[last], shape.kernel[last]];
  const [s, d, pad] = [shape.strides[last], shape.dilations[last], call.padsBegin[last]];
  const inSize = product(call.input);
  const outSize = product(call.output);
  const inLines = inSize / L;
  const outerTaps = product(shape.kernel) / K;
  for (let b = 0; b < call.batch; b++) {
    const yBatch = b * outSize * F;
    fillBias(y, yBatch, outSize, bias, F);
    for (let line = 0; line < inLines; line++) {
      const xLine = (b * inSize + line * L) * C;
      for (let outer = 0; outer < outerTaps; outer++) {
        const target = targetLine(shape, call, line, outer);
        if (target < 0) continue;
        const yLine = yBatch + target * outL * F;
        for (let k = 0; k < K; k++) {
          // Input positions i whose output i*s + k*d - pad lies inside [0, outL).
          const first = Math.max(0, Math.ceil((pad - k * d) / s));
          const end = Math.min(L, Math.floor((outL - 1 + pad - k * d) / s) + 1);
          if (end <= first) continue;
          const yRow = yLine + (first * s + k * d - pad) * F;
          const w = (outer * K + k) * Cg * F;
          for (let g = 0; g < groups; g++) {
            const xRow = xLine + first * C + g * Cg;
            gemm(x, xRow, C, tapsCF, w + g * Fg, F, y, yRow + g * Fg, s * F, end - first, Cg, Fg, null, true);
          }
        }
      }
    }
    if (epilogue !== null) epilogue.apply(y, yBatch, y, yBatch, outSize, F);
  }
}
