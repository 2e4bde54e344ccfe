/**
 * The fused epilogue of src/kernels/epilogue.ts written as its definition, for the kernels'
 * property tests: y = activation(y · scale[f] + shift[f]), in float64, on the reference's output.
 */
import fc from "fast-check";
import { getActivation, type Activation } from "../../src/kernels/activations.js";
import { planConvolution, type ConvBackend, type ConvCall, type ConvShape } from "../../src/kernels/conv/index.js";
import { convReference } from "../../src/kernels/conv/reference.js";
import { clampActivation, type ChannelAffine } from "../../src/kernels/epilogue.js";
import { sizeOf as size } from "../../src/tensor.js";
import { randomValues as random } from "./conv-cases.js";

/** An affine map of F channels (scales in [-2, 2), shifts in [-1, 1)). */
export function randomAffine(F: number, seed: number): ChannelAffine {
  return { scale: random(F, seed).map((v) => 2 * v), shift: random(F, seed + 1) };
}

/**
 * A random convolution with an affine map and `activation` after it on `backend`, and the
 * reference's output for it (convReference, then applyReference).
 */
export function affineCase(
  { shape, call, withBias, seed }: { shape: ConvShape; call: ConvCall; withBias: boolean; seed: number },
  activation: Activation | null,
  backend: ConvBackend,
): { got: Float32Array; want: Float32Array } {
  const kernel = random(size(shape.kernel) * (shape.inChannels / shape.groups) * shape.outChannels, seed);
  const bias = withBias ? random(shape.outChannels, seed + 1) : null;
  const affine = randomAffine(shape.outChannels, seed + 3);
  const x = random(call.batch * size(call.input) * shape.inChannels, seed + 2);
  const want = new Float32Array(call.batch * size(call.output) * shape.outChannels);
  const got = want.slice().fill(NaN);
  convReference(x, kernel, bias, null, shape, call, want);
  applyReference(want, affine, activation);
  planConvolution(shape, kernel, bias, activation, { backend, reason: "test" }, affine).run(x, call, got);
  return { got, want };
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
