/**
 * LSTM, the fast TypeScript path (the equations, readable: lstm.reference.ts). The step adds
 * h·recurrentKernel to the step's projection for all batch rows as one product, then runs the
 * gates over each row: written out for tanh and sigmoid, through the activations otherwise.
 */
import type { Activation } from "../activations.js";
import { gemm } from "../matmul.js";
import { MatrixCell, type CellStep, type KerasCellWeights, type RecurrentCell } from "./cell.js";

export class LstmCell extends MatrixCell implements RecurrentCell {
  readonly stateCount = 2;

  /** `writtenOut`: the activation is tanh and the gates' sigmoid (the plan decides). */
  constructor(
    units: number,
    weights: KerasCellWeights,
    private readonly activation: Activation,
    private readonly recurrentActivation: Activation,
    private readonly writtenOut: boolean,
  ) {
    super(units, 4, weights, weights.bias);
  }

  readonly step: CellStep = (p, offset, rowStride, states, batch, mask, maskOffset, maskStride, scratch) => {
    const u = this.units;
    const h = states[0];
    const c = states[1];
    // p = [input | forget | candidate | output] pre-activations.
    gemm(h, 0, u, this.kernelWeights.recurrentKernel, 0, 4 * u, p, offset, rowStride, batch, u, 4 * u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      lstmGates(
        p,
        offset + b * rowStride,
        c,
        h,
        b * u,
        u,
        this.writtenOut,
        this.activation,
        this.recurrentActivation,
        scratch,
      );
    }
  };
}

/**
 * The gates of one row of `u` units (the LSTM's, and each position's of a ConvLSTM): p[o ..] holds
 * the [input | forget | candidate | output] pre-activations (overwritten), c[s ..] and h[s ..] the
 * states, updated; scratch[s ..] is free. `writtenOut`: tanh and sigmoid computed inline.
 */
export function lstmGates(
  p: Float32Array,
  o: number,
  c: Float32Array,
  h: Float32Array,
  s: number,
  u: number,
  writtenOut: boolean,
  activation: Activation,
  recurrentActivation: Activation,
  scratch: Float32Array,
): void {
  if (writtenOut) {
    // sigmoid (activations.ts) spelled out: calling it here measured up to ~10% slower on W4's
    // TypeScript path (paired runs, 2026-12-07; likely not inlined into this large loop).
    for (let j = 0; j < u; j++) {
      const i = 1 / (1 + Math.exp(-p[o + j]));
      const f = 1 / (1 + Math.exp(-p[o + u + j]));
      const g = Math.tanh(p[o + 2 * u + j]);
      const out = 1 / (1 + Math.exp(-p[o + 3 * u + j]));
      const cell = f * c[s + j] + i * g;
      c[s + j] = cell;
      h[s + j] = out * Math.tanh(cell);
    }
  } else {
    recurrentActivation.apply(p, o, p, o, 1, 2 * u);
    activation.apply(p, o + 2 * u, p, o + 2 * u, 1, u);
    recurrentActivation.apply(p, o + 3 * u, p, o + 3 * u, 1, u);
    for (let j = 0; j < u; j++) c[s + j] = p[o + u + j] * c[s + j] + p[o + j] * p[o + 2 * u + j];
    activation.apply(c, s, scratch, s, 1, u);
    for (let j = 0; j < u; j++) h[s + j] = p[o + 3 * u + j] * scratch[s + j];
  }
}
