/**
 * The ONNX LSTM features the Keras LSTM cell does not have: LSTM `input_forget` (f = 1 - i),
 * peepholes (P, which make the output gate wait for the new cell state) and an output activation
 * h other than the candidate's g (which `clip` also makes, as it bounds g's argument but not
 * h's). The cell runs in the same driver as the Keras cells (kernels/recurrent/driver.ts) with
 * their input projection (MatrixCell) and recurrent product; `clip` itself is in the activations
 * (clippedActivation), so a clipped GRU or LSTM without these features runs on the Keras cells.
 */
import type { Activation } from "../../kernels/activations.js";
import { gemm } from "../../kernels/matmul.js";
import { MatrixCell, type CellStep, type KerasCellWeights, type RecurrentCell } from "../../kernels/recurrent/cell.js";

export interface OnnxCellOptions {
  clip: number;
  inputForget: boolean;
  /** [3u]: i, o, f (ONNX order), or null. */
  peepholes: Float32Array | null;
}

/** Keras gate order i, f, c, o in the kernels (as mapped at load); f and g clip their arguments. */
export class OnnxLstmCell extends MatrixCell implements RecurrentCell {
  readonly stateCount = 2;

  constructor(
    units: number,
    weights: KerasCellWeights,
    private readonly f: Activation,
    private readonly g: Activation,
    private readonly h: Activation,
    private readonly inputForget: boolean,
    private readonly peepholes: Float32Array | null,
  ) {
    super(units, 4, weights, weights.bias);
  }

  readonly step: CellStep = (p, offset, rowStride, states, batch, mask, maskOffset, maskStride, scratch) => {
    const u = this.units;
    const [hs, cs] = states;
    const peep = this.peepholes;
    gemm(hs, 0, u, this.kernelWeights.recurrentKernel, 0, 4 * u, p, offset, rowStride, batch, u, 4 * u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const row = b * u;
      const o = offset + b * rowStride;
      if (peep !== null)
        for (let j = 0; j < u; j++) {
          p[o + j] += peep[j] * cs[row + j]; // i
          p[o + u + j] += peep[2 * u + j] * cs[row + j]; // f
        }
      this.f.apply(p, o, p, o, 1, 2 * u);
      this.g.apply(p, o + 2 * u, p, o + 2 * u, 1, u);
      for (let j = 0; j < u; j++) {
        const i = p[o + j];
        const c = (this.inputForget ? 1 - i : p[o + u + j]) * cs[row + j] + i * p[o + 2 * u + j];
        cs[row + j] = c;
        if (peep !== null) p[o + 3 * u + j] += peep[u + j] * c;
      }
      this.f.apply(p, o + 3 * u, p, o + 3 * u, 1, u);
      this.h.apply(cs, row, scratch, row, 1, u);
      for (let j = 0; j < u; j++) hs[row + j] = p[o + 3 * u + j] * scratch[row + j];
    }
  };
}
