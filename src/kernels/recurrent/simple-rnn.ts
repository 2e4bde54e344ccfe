/** SimpleRNN, the fast TypeScript path (the equation, readable: simple-rnn.reference.ts). */
import type { Activation } from "../activations.js";
import { gemm } from "../matmul.js";
import type { KerasCellWeights, RecurrentCell } from "./cell.js";

export class SimpleRnnCell implements RecurrentCell {
  readonly stateShape: readonly number[];
  readonly stateSize: number;
  readonly stateCount = 1;
  readonly projectionWidth: number;

  constructor(
    readonly units: number,
    private readonly kernelWeights: KerasCellWeights,
    private readonly activation: Activation,
  ) {
    this.stateShape = [units];
    this.stateSize = units;
    this.projectionWidth = units;
  }

  weights(): KerasCellWeights {
    return this.kernelWeights;
  }

  inputProjection(x: Float32Array, rows: number, features: number, out: Float32Array): void {
    const { kernel, bias } = this.kernelWeights;
    const u = this.units;
    gemm(x, 0, features, kernel, 0, u, out, 0, u, rows, features, u, bias, false);
  }

  step(
    p: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
  ): void {
    const u = this.units;
    const h = states[0];
    gemm(h, 0, u, this.kernelWeights.recurrentKernel, 0, u, p, offset, rowStride, batch, u, u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      this.activation.apply(p, offset + b * rowStride, h, b * u, 1, u);
    }
  }
}
