/**
 * What a kernel does to each output channel f after its sums (bias included):
 *   y = activation(y · scale[f] + shift[f])
 * The per-channel affine map is a BatchNormalization at inference that followed the layer (fused
 * at load by src/graph/fuse.ts). The WebAssembly convolutions apply it, and a clamping activation
 * (relu, relu6, ReLU(max_value)), with `epilogueRows` (wasm/gemm.ts) on their output rows while
 * those are still in WebAssembly memory and in cache, so neither costs a pass of its own; the
 * TypeScript ways apply them in a pass after the sums (applyAffine).
 */
import type { Activation } from "./activations.js";

/**
 * What a layer offers src/graph/fuse.ts, each part where it applies (the layers implement them;
 * the base Layer does not, so that bundles without convolutions carry none of it).
 */
export interface FusionHooks {
  /** The per-channel affine map this layer is on the last axis at inference, or null. */
  channelAffine?(): ChannelAffine | null;
  /** The bounds of the elementwise clamp this layer is (ReLU(6.)), or null. */
  fusableClamp?(): readonly [number, number] | null;
  /** Computes `affine`, then `activation`, on its output from now on, in its kernel; false: it cannot. */
  fuseEpilogue?(affine: ChannelAffine | null, activation: Activation | null): boolean;
  /** The zeros this layer adds before and after each spatial axis (channels_last), or null. */
  zeroPads?(): { readonly begin: readonly number[]; readonly end: readonly number[] } | null;
  /** Reads its input as if padded by `begin` and `end` zeros per spatial axis; false: it cannot. */
  absorbPads?(begin: readonly number[], end: readonly number[]): boolean;
}

/** y · scale[f] + shift[f] per output channel f. */
export interface ChannelAffine {
  readonly scale: Float32Array;
  readonly shift: Float32Array;
}

/**
 * The bounds the WebAssembly kernels clamp to for `activation` ([-Infinity, Infinity] for none or
 * linear), or null when they cannot compute it (it then runs in TypeScript after them).
 */
export function clampBounds(activation: Activation | null): readonly [number, number] | null {
  if (activation === null || activation.name === "linear") return [-Infinity, Infinity];
  if (activation.name === "relu") return [0, Infinity];
  if (activation.name === "relu6") return [0, 6];
  return (activation as ClampActivation).clamp ?? null;
}

/** An activation made by clampActivation(). */
type ClampActivation = Activation & { readonly clamp?: readonly [number, number] };

/**
 * min(max(x, lo), hi) as an activation (a ReLU layer with max_value and neither slope nor
 * threshold), NaN going through as in Keras.
 */
export function clampActivation(lo: number, hi: number): ClampActivation {
  const scalar = (x: number): number => (x <= lo ? lo : x > hi ? hi : x);
  return {
    name: hi === Infinity ? `relu(min ${lo})` : `relu(${lo}..${hi})`,
    elementwise: true,
    clamp: [lo, hi],
    scalar,
    outputDim: (d) => d,
    apply(src, srcOffset, dst, dstOffset, rows, lastDim) {
      const n = rows * lastDim;
      for (let i = 0; i < n; i++) {
        const x = src[srcOffset + i];
        dst[dstOffset + i] = x <= lo ? lo : x > hi ? hi : x;
      }
    },
  };
}

/** y[offset + r·F + f] = y[...] · scale[f] + shift[f] for `rows` rows of F channels (TypeScript kernels). */
export function applyAffine(y: Float32Array, offset: number, rows: number, affine: ChannelAffine): void {
  const { scale, shift } = affine;
  const F = scale.length;
  for (let r = 0; r < rows; r++) {
    const row = offset + r * F;
    for (let f = 0; f < F; f++) y[row + f] = y[row + f] * scale[f] + shift[f];
  }
}
