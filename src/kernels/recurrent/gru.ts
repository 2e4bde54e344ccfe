/**
 * GRU, both reset modes, the fast TypeScript path (the equations, readable: gru.reference.ts).
 * reset_after (Keras' default since 2.3, and CuDNNGRU) applies the reset gate to h·U + recurrent
 * bias; reset_before applies it to h before the candidate's product.
 */
import type { Activation } from "../activations.js";
import { gemm } from "../matmul.js";
import { MatrixCell, type CellStep, type KerasCellWeights, type RecurrentCell } from "./cell.js";

/** reset_after's bias [2, 3u]: the input row (added to the projection) and the recurrent row. */
function biasRows(
  bias: Float32Array | null,
  resetAfter: boolean,
  w: number,
): [Float32Array | null, Float32Array | null] {
  return bias !== null && resetAfter ? [bias.subarray(0, w), bias.subarray(w, 2 * w)] : [bias, null];
}

export class GruCell extends MatrixCell implements RecurrentCell {
  readonly stateCount = 1;
  /** reset_after's step or reset_before's, chosen once. */
  readonly step: CellStep;
  private readonly recurrentBias: Float32Array | null;

  /** `writtenOut`: the activation is tanh and the gates' sigmoid (the plan decides). */
  constructor(
    units: number,
    weights: KerasCellWeights,
    private readonly resetAfter: boolean,
    private readonly activation: Activation,
    private readonly recurrentActivation: Activation,
    private readonly writtenOut: boolean,
  ) {
    super(units, 3, weights, biasRows(weights.bias, resetAfter, 3 * units)[0]);
    this.recurrentBias = biasRows(weights.bias, resetAfter, 3 * units)[1];
    this.step = resetAfter ? this.stepResetAfter : this.stepResetBefore;
  }

  private stepResetAfter: CellStep = (p, offset, rowStride, states, batch, mask, maskOffset, maskStride, scratch) => {
    const u = this.units;
    const h = states[0];
    const w = 3 * u;
    // scratch = h·U + recurrent bias; the reset gate scales its candidate part.
    gemm(h, 0, u, this.kernelWeights.recurrentKernel, 0, w, scratch, 0, w, batch, u, w, this.recurrentBias, false);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const o = offset + b * rowStride;
      const r = b * w;
      const s = b * u;
      if (this.writtenOut) {
        // sigmoid (activations.ts) spelled out: calling it here measured up to ~10% slower on W4's
        // TypeScript path (paired runs, 2026-12-07; likely not inlined into this large loop).
        for (let j = 0; j < u; j++) {
          const update = 1 / (1 + Math.exp(-(p[o + j] + scratch[r + j])));
          const reset = 1 / (1 + Math.exp(-(p[o + u + j] + scratch[r + u + j])));
          const candidate = Math.tanh(p[o + 2 * u + j] + reset * scratch[r + 2 * u + j]);
          h[s + j] = update * h[s + j] + (1 - update) * candidate;
        }
      } else {
        for (let j = 0; j < 2 * u; j++) p[o + j] += scratch[r + j];
        this.recurrentActivation.apply(p, o, p, o, 1, 2 * u);
        for (let j = 0; j < u; j++) p[o + 2 * u + j] += p[o + u + j] * scratch[r + 2 * u + j];
        this.activation.apply(p, o + 2 * u, p, o + 2 * u, 1, u);
        for (let j = 0; j < u; j++) h[s + j] = p[o + j] * h[s + j] + (1 - p[o + j]) * p[o + 2 * u + j];
      }
    }
  };

  private stepResetBefore: CellStep = (p, offset, rowStride, states, batch, mask, maskOffset, maskStride, scratch) => {
    const u = this.units;
    const h = states[0];
    const w = 3 * u;
    const U = this.kernelWeights.recurrentKernel;
    // The reset gate scales the previous state before it meets the candidate's recurrent kernel.
    gemm(h, 0, u, U, 0, w, p, offset, rowStride, batch, u, 2 * u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const o = offset + b * rowStride;
      const s = b * u;
      this.recurrentActivation.apply(p, o, p, o, 1, 2 * u);
      for (let j = 0; j < u; j++) scratch[s + j] = p[o + u + j] * h[s + j];
    }
    gemm(scratch, 0, u, U, 2 * u, w, p, offset + 2 * u, rowStride, batch, u, u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const o = offset + b * rowStride;
      const s = b * u;
      this.activation.apply(p, o + 2 * u, p, o + 2 * u, 1, u);
      for (let j = 0; j < u; j++) h[s + j] = p[o + j] * h[s + j] + (1 - p[o + j]) * p[o + 2 * u + j];
    }
  };
}
