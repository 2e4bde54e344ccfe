/**
 * What a kernel does to each output channel f after its sums (bias included), before storing:
 *   y = activation(y · scale[f] + shift[f])
 * The per-channel affine map is a BatchNormalization at inference that followed the layer (fused
 * at load by src/graph/fuse.ts); the WebAssembly kernels apply it, and a clamping activation
 * (relu, relu6, ReLU(max_value)), in their stores (wasm/gemm.ts finish4), so neither costs a pass
 * over the output. The TypeScript kernels apply them in a pass after the sums (applyAffine).
 */
import type { Activation } from "./activations.js";

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
  return activation.clamp ?? null;
}

/**
 * min(max(x, lo), hi) as an activation (a ReLU layer with max_value and neither slope nor
 * threshold), NaN going through as in Keras.
 */
export function clampActivation(lo: number, hi: number): Activation {
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
