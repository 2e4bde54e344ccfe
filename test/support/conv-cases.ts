/**
 * What the convolution kernels' property tests share: seeded values in [-1, 1) and random
 * geometry (per-axis sizes, kernels, strides, dilations and pads).
 */
import fc from "fast-check";
import { convOutputSize, type ConvCall, type ConvShape } from "../../src/kernels/conv/geometry.js";

/** Values in [-1, 1) from a 32-bit LCG. */
export function randomValues(n: number, seed: number): Float32Array {
  let state = seed | 0 || 1;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1103515245) + 12345) | 0;
    return ((state >>> 8) / 2 ** 24) * 2 - 1;
  });
}

export interface ConvAxis {
  size: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBegin: number;
  padEnd: number;
}

/** `rank` random axes: kernel 1-4, stride 1-3, and input size, dilation and pads up to the given bounds. */
export function convAxes(
  rank: number,
  most: { size: number; dilation: number; pad: number },
): fc.Arbitrary<ConvAxis[]> {
  return fc.array(
    fc.record({
      size: fc.integer({ min: 1, max: most.size }),
      kernel: fc.integer({ min: 1, max: 4 }),
      stride: fc.integer({ min: 1, max: 3 }),
      dilation: fc.integer({ min: 1, max: most.dilation }),
      padBegin: fc.integer({ min: 0, max: most.pad }),
      padEnd: fc.integer({ min: 0, max: most.pad }),
    }),
    { minLength: rank, maxLength: rank },
  );
}

export function convShapeOf(
  axes: readonly ConvAxis[],
  groups: number,
  inChannels: number,
  outChannels: number,
): ConvShape {
  return {
    kernel: axes.map((a) => a.kernel),
    strides: axes.map((a) => a.stride),
    dilations: axes.map((a) => a.dilation),
    groups,
    inChannels,
    outChannels,
  };
}

/** A (forward) convolution's call over `axes`: each output size from the input size and pads. */
export function convCallOf(axes: readonly ConvAxis[], batch: number): ConvCall {
  return {
    batch,
    input: axes.map((a) => a.size),
    output: axes.map((a) => convOutputSize(a.size, a.kernel, a.stride, a.dilation, a.padBegin, a.padEnd)),
    padsBegin: axes.map((a) => a.padBegin),
  };
}
