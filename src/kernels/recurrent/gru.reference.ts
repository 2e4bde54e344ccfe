/**
 * How Keras computes a GRU step (keras.layers.GRUCell), readable, for one sample. Gate columns in
 * the kernels: update z | reset r | candidate h~.
 *
 *   reset_after (Keras' default since 2.3; CuDNNGRU), bias [2, 3u] = input row b, recurrent row b':
 *     z  = σ(x·W_z + b_z + h·U_z + b'_z)
 *     r  = σ(x·W_r + b_r + h·U_r + b'_r)
 *     h~ = act(x·W_h + b_h + r·(h·U_h + b'_h))
 *   reset_after=False, bias [3u]:
 *     z  = σ(x·W_z + b_z + h·U_z)
 *     r  = σ(x·W_r + b_r + h·U_r)
 *     h~ = act(x·W_h + b_h + (r·h)·U_h)
 *   then, both:
 *     h' = z·h + (1 - z)·h~                          (σ: recurrent_activation)
 */
import { f32, perUnit, project, recurrentProduct, type ReferenceCell, type ReferenceCellSpec } from "./reference.js";

export function gruReference(
  units: number,
  resetAfter: boolean,
  { weights, activation, recurrentActivation }: ReferenceCellSpec,
): ReferenceCell {
  const u = units;
  const width = 3 * u;
  const bias = weights.bias;
  const inputBias = bias !== null && resetAfter ? bias.subarray(0, width) : bias;
  const recurrentBias = bias !== null && resetAfter ? bias.subarray(width, 2 * width) : null;
  return {
    stateCount: 1,
    units,
    step(x, [h]) {
      const p = project(x, weights.kernel, inputBias, width);
      const hU = (from: readonly number[], column: number): number =>
        recurrentProduct(from, weights, width, column, recurrentBias);
      const z = perUnit(u, (j) => recurrentActivation(p[j] + hU(h, j)));
      const r = perUnit(u, (j) => recurrentActivation(p[u + j] + hU(h, u + j)));
      const resetH = perUnit(u, (k) => r[k] * h[k]);
      const candidate = resetAfter
        ? perUnit(u, (j) => activation(p[2 * u + j] + r[j] * hU(h, 2 * u + j)))
        : perUnit(u, (j) => activation(p[2 * u + j] + hU(resetH, 2 * u + j)));
      return [perUnit(u, (j) => f32(z[j] * h[j] + (1 - z[j]) * candidate[j]))];
    },
  };
}
