/**
 * How Keras computes a ConvLSTM step (keras.layers.ConvLSTM1D/2D/3D, ConvLSTMCell), readable, for
 * one sample. The kernels' last axis holds the gates' filters: input i | forget f | candidate g |
 * output o.
 *
 *   z = conv(x, W, the layer's padding, strides, dilation) + b + conv(h, U, "same", stride 1)
 *   i = σ(z_i)   f = σ(z_f)   g = act(z_g)   o = σ(z_o)      (σ: recurrent_activation)
 *   c' = f·c + i·g
 *   h' = o·act(c')
 *
 * per position and filter. Computed on channels_last arrays; a channels_first sample is
 * transposed in and its states back out.
 */
import { convReference } from "../conv/reference.js";
import type { ConvLstmGeometry, ConvLstmSpec } from "./conv-lstm.js";
import { f32, type ReferenceCell, type ReferenceCellSpec } from "./reference.js";

/** values [rows, cols] as [cols, rows]. */
function transpose(values: readonly number[], rows: number, cols: number): number[] {
  return Array.from({ length: values.length }, (_, k) => values[(k % rows) * cols + Math.floor(k / rows)]);
}

export function convLstmReference(
  spec: ConvLstmSpec,
  geometry: ConvLstmGeometry,
  { weights, activation, recurrentActivation }: ReferenceCellSpec,
): ReferenceCell {
  const F = spec.filters;
  const positions = geometry.output.reduce((p, d) => p * d, 1);
  const inputPositions = spec.input.reduce((p, d) => p * d, 1);
  /** One sample's convolution, a float32 tensor in Keras (convReference sums in float64, rounds once). */
  const conv = (
    x: readonly number[],
    kernel: Float32Array,
    bias: Float32Array | null,
    input: readonly number[],
    shape: ConvLstmGeometry["inputShape"],
    padsBegin: readonly number[],
  ): Float32Array => {
    const y = new Float32Array(positions * 4 * F);
    convReference(
      Float32Array.from(x),
      kernel,
      bias,
      null,
      shape,
      { batch: 1, input, output: geometry.output, padsBegin },
      y,
    );
    return y;
  };
  const toLast = (v: readonly number[], channels: number, count: number): readonly number[] =>
    spec.channelsFirst ? transpose(v, channels, count) : v;
  const toFormat = (v: readonly number[]): number[] => (spec.channelsFirst ? transpose(v, positions, F) : [...v]);
  return {
    stateCount: 2,
    units: positions * F,
    step(x, [h, c]) {
      const zx = conv(
        toLast(x, spec.inChannels, inputPositions),
        weights.kernel,
        weights.bias,
        spec.input,
        geometry.inputShape,
        geometry.inputPads,
      );
      const hLast = toLast(h, F, positions);
      const cLast = toLast(c, F, positions);
      const zh = conv(
        hLast,
        weights.recurrentKernel,
        null,
        geometry.output,
        geometry.recurrentShape,
        geometry.recurrentPads,
      );
      const hNext: number[] = [];
      const cNext: number[] = [];
      for (let p = 0; p < positions; p++) {
        const z = (gate: number, j: number): number => f32(zx[(p * 4 + gate) * F + j] + zh[(p * 4 + gate) * F + j]);
        for (let j = 0; j < F; j++) {
          const i = recurrentActivation(z(0, j));
          const f = recurrentActivation(z(1, j));
          const g = activation(z(2, j));
          const o = recurrentActivation(z(3, j));
          const cell = f32(f * cLast[p * F + j] + i * g);
          cNext.push(cell);
          hNext.push(f32(o * activation(cell)));
        }
      }
      return [toFormat(hNext), toFormat(cNext)];
    },
  };
}
