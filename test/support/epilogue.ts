/**
 * The fused epilogue of src/kernels/epilogue.ts written as its definition, for the kernels'
 * property tests: y = activation(y · scale[f] + shift[f]), in float64, on the reference's output.
 */
import fc from "fast-check";
import { getActivation, type Activation } from "../../src/kernels/activations.js";
import { clampActivation, type ChannelAffine } from "../../src/kernels/epilogue.js";

/** An affine map of F channels from a 32-bit LCG (scales in [-2, 2), shifts in [-1, 1)). */
export function randomAffine(F: number, seed: number): ChannelAffine {
  let state = seed | 0 || 1;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) | 0;
    return ((state >>> 8) / 2 ** 24) * 2 - 1;
  };
  return { scale: Float32Array.from({ length: F }, () => 2 * next()), shift: Float32Array.from({ length: F }, next) };
}

/** Activations after an affine map: none, the clamps the kernels fuse, and ones they leave to TypeScript. */
export const affineEpilogue = fc.constantFrom<Activation | null>(
  null,
  clampActivation(0, 0.25),
  ...["relu", "relu6", "tanh", "softmax"].map((name) => getActivation(name, 3)!),
);

/** want = activation(want · scale + shift) per row of F channels, the map in float64. */
export function applyReference(want: Float32Array, affine: ChannelAffine, activation: Activation | null): void {
  const F = affine.scale.length;
  for (let i = 0; i < want.length; i++) want[i] = want[i] * affine.scale[i % F] + affine.shift[i % F];
  if (activation !== null && want.length > 0) activation.apply(want, 0, want, 0, want.length / F, F);
}
