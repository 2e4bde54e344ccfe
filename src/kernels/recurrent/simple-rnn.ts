/** SimpleRNN, the fast TypeScript path (the equation, readable: simple-rnn.reference.ts). */
import type { Activation } from "../activations.js";
import { gemm } from "../matmul.js";
import { MatrixCell, type CellStep, type KerasCellWeights, type RecurrentCell } from "./cell.js";

export class SimpleRnnCell extends MatrixCell implements RecurrentCell {
  readonly stateCount = 1;

  constructor(
    units: number,
    weights: KerasCellWeights,
    private readonly activation: Activation,
  ) {
    super(units, 1, weights, weights.bias);
  }

  readonly step: CellStep = (p, offset, rowStride, states, batch, mask, maskOffset, maskStride) => {
    const u = this.units;
    const h = states[0];
    gemm(h, 0, u, this.kernelWeights.recurrentKernel, 0, u, p, offset, rowStride, batch, u, u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      this.activation.apply(p, offset + b * rowStride, h, b * u, 1, u);
    }
  };
}
