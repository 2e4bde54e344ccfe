/**
 * What both WebAssembly convolutions (./wasm.ts im2col, ./wasm-depthwise.ts) are made from at load,
 * with the epilogue split the way their kernels take it: a clamp (ReLU, ReLU6, a bounded ReLU) is
 * fused into the stores, after the per-channel affine map; any other activation runs in
 * TypeScript on the output.
 */
import type { Activation } from "../activations.js";
import { clampBounds, type ChannelAffine } from "../epilogue.js";
import type { ConvShape } from "./geometry.js";

export interface WasmConvSetup {
  readonly module: WebAssembly.Module;
  readonly shape: ConvShape;
  /** Keras' layout: [...kernel, inChannels / groups, outChannels]. */
  readonly kernel: Float32Array;
  readonly bias: Float32Array | null;
  /** The per-channel map after the sums (../epilogue.ts; null: none). */
  readonly affine: ChannelAffine | null;
  /** The clamp fused into the stores ([-Infinity, Infinity]: none). */
  readonly bounds: readonly [number, number];
  /** The activation left to TypeScript (null: none, linear, or fused). */
  readonly rest: Activation | null;
}

export function wasmConvSetup(
  module: WebAssembly.Module,
  shape: ConvShape,
  kernel: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  affine: ChannelAffine | null,
): WasmConvSetup {
  const bounds = clampBounds(epilogue);
  const fused = bounds === null ? { bounds: [-Infinity, Infinity] as const, rest: epilogue } : { bounds, rest: null };
  return { module, shape, kernel, bias, affine, ...fused };
}
