/**
 * What the readable references share: one step of one sample, in float64, over plain arrays.
 * Values are rounded to float32 exactly where Keras holds float32 tensors (the input projection
 * x·W + b, and the states after each step), so a fast path can be compared with them tightly.
 */
import type { KerasCellWeights } from "./cell.js";

export const f32 = Math.fround;

/** One sample's step: the states before (h first) in, the states after out. */
export interface ReferenceCell {
  readonly stateCount: number;
  readonly units: number;
  step(x: readonly number[], states: readonly number[][]): number[][];
}

/** What a reference cell computes with: Keras' weights and its activations, as functions of one value. */
export interface ReferenceCellSpec {
  readonly weights: KerasCellWeights;
  /** act in the equations (Keras' activation). */
  readonly activation: (x: number) => number;
  /** σ in the equations (Keras' recurrent_activation, the gates'). */
  readonly recurrentActivation: (x: number) => number;
}

/** x·W + b for one sample, [width] values: a float32 tensor in Keras, so rounded once. */
export function project(
  x: readonly number[],
  kernel: Float32Array,
  bias: Float32Array | null,
  width: number,
): number[] {
  return Array.from({ length: width }, (_, n) => {
    let sum = bias === null ? 0 : bias[n];
    for (let k = 0; k < x.length; k++) sum += x[k] * kernel[k * width + n];
    return f32(sum);
  });
}

/** (h·U)[column] + bias[column] for one sample (U is [units, width]). */
export function recurrentProduct(
  h: readonly number[],
  weights: KerasCellWeights,
  width: number,
  column: number,
  bias: Float32Array | null,
): number {
  let sum = bias === null ? 0 : bias[column];
  for (let k = 0; k < h.length; k++) sum += h[k] * weights.recurrentKernel[k * width + column];
  return sum;
}

/** The units j = 0..units-1 as an array, mapped. */
export function perUnit(units: number, value: (j: number) => number): number[] {
  return Array.from({ length: units }, (_, j) => value(j));
}
