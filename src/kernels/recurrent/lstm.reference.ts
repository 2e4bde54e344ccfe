/**
 * How Keras computes an LSTM step (keras.layers.LSTMCell), readable, for one sample. Gate
 * columns in the kernels: input i | forget f | candidate g | output o.
 *
 *   z = x·W + b + h·U
 *   i = σ(z_i)   f = σ(z_f)   g = act(z_g)   o = σ(z_o)      (σ: recurrent_activation)
 *   c' = f·c + i·g
 *   h' = o·act(c')
 */
import { f32, perUnit, project, recurrentProduct, type ReferenceCell, type ReferenceCellSpec } from "./reference.js";

export function lstmReference(
  units: number,
  { weights, activation, recurrentActivation }: ReferenceCellSpec,
): ReferenceCell {
  const u = units;
  const width = 4 * u;
  return {
    stateCount: 2,
    units,
    step(x, [h, c]) {
      const p = project(x, weights.kernel, weights.bias, width);
      const z = (column: number): number => p[column] + recurrentProduct(h, weights, width, column, null);
      const i = perUnit(u, (j) => recurrentActivation(z(j)));
      const f = perUnit(u, (j) => recurrentActivation(z(u + j)));
      const g = perUnit(u, (j) => activation(z(2 * u + j)));
      const o = perUnit(u, (j) => recurrentActivation(z(3 * u + j)));
      const cNext = perUnit(u, (j) => f32(f[j] * c[j] + i[j] * g[j]));
      const hNext = perUnit(u, (j) => f32(o[j] * activation(cNext[j])));
      return [hNext, cNext];
    },
  };
}
