/**
 * How Keras computes a SimpleRNN step (keras.layers.SimpleRNNCell), readable, for one sample:
 *
 *   h' = act(x·W + b + h·U)
 */
import { f32, perUnit, project, recurrentProduct, type ReferenceCell, type ReferenceCellSpec } from "./reference.js";

export function simpleRnnReference(
  units: number,
  { weights, activation }: Omit<ReferenceCellSpec, "recurrentActivation">,
): ReferenceCell {
  return {
    stateCount: 1,
    units,
    step(x, [h]) {
      const p = project(x, weights.kernel, weights.bias, units);
      return [perUnit(units, (j) => f32(activation(p[j] + recurrentProduct(h, weights, units, j, null))))];
    },
  };
}
