/**
 * What a convolution is, independently of how it runs: channels_last tensors [batch, ...spatial,
 * channels], any number of spatial axes, explicit zero padding at the start and end of each axis.
 * Keras' "valid", "same" and "causal" paddings are turned into explicit pads by kerasPads().
 */
import type { Activation } from "../activations.js";

/** The fixed part of a convolution, known when its weights are loaded. */
export interface ConvShape {
  /** Kernel size per spatial axis (1 for Conv1D, 2 for Conv2D, 3 for Conv3D). */
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly groups: number;
  readonly inChannels: number;
  readonly outChannels: number;
}

/** The per-call part: spatial sizes of the input and output, and the zero padding before each axis. */
export interface ConvCall {
  readonly batch: number;
  readonly input: readonly number[];
  readonly output: readonly number[];
  readonly padsBegin: readonly number[];
}

/** Kernel positions per tap: (k - 1) * dilation + 1. */
export function span(kernel: number, dilation: number): number {
  return dilation * (kernel - 1) + 1;
}

/** Output size of a convolution over `input` positions padded by `padBegin` and `padEnd`. */
export function convOutputSize(
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
): number {
  return Math.max(0, Math.floor((input + padBegin + padEnd - span(kernel, dilation)) / stride) + 1);
}

/**
 * Keras' paddings as explicit pads: "valid" none; "same" an output of ceil(input / stride) with
 * the odd pad at the end; "causal" everything before the first step.
 */
export function kerasPads(
  padding: "valid" | "same" | "causal",
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
): { begin: number; end: number } {
  const width = span(kernel, dilation);
  if (padding === "valid") return { begin: 0, end: 0 };
  if (padding === "causal") return { begin: width - 1, end: 0 };
  const total = Math.max((Math.ceil(input / stride) - 1) * stride + width - input, 0);
  const begin = Math.floor(total / 2);
  return { begin, end: total - begin };
}

/** A convolution with its weights (kernel, bias or null, epilogue or null) applied to x for one call, into y. */
export type ConvFunction = (
  x: Float32Array,
  kernel: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  shape: ConvShape,
  call: ConvCall,
  y: Float32Array,
) => void;

/** Both directions in one function: transposed = true computes the transposed convolution. */
export type EitherConvFunction = (...args: [...Parameters<ConvFunction>, transposed: boolean]) => void;

/** Positions of a grid of `dims` (the product of its sizes). */
export function positions(dims: readonly number[]): number {
  let p = 1;
  for (let i = 0; i < dims.length; i++) p *= dims[i];
  return p;
}

/**
 * Where flat position `from` of grid `fromDims` lands through flat tap `tap`, over the first `axes`
 * spatial axes (row-major, the last of them fastest): on each, from·stride + tap·dilation - padBegin.
 * A convolution's output position reads the input there; a transposed convolution's input position
 * writes the output there. The flat position in grid `toDims`, or -1 when it is outside on any axis.
 */
export function throughTap(
  shape: ConvShape,
  padsBegin: readonly number[],
  fromDims: readonly number[],
  toDims: readonly number[],
  axes: number,
  from: number,
  tap: number,
): number {
  let to = 0;
  let scale = 1;
  for (let a = axes - 1; a >= 0; a--) {
    const f = from % fromDims[a];
    const t = tap % shape.kernel[a];
    from = (from - f) / fromDims[a];
    tap = (tap - t) / shape.kernel[a];
    const i = f * shape.strides[a] + t * shape.dilations[a] - padsBegin[a];
    if (i < 0 || i >= toDims[a]) return -1;
    to += i * scale;
    scale *= toDims[a];
  }
  return to;
}
