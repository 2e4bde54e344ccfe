/**
 * What a recurrent cell gives the RNN driver (driver.ts), as a cell does for Keras' RNN(cell): an
 * input projection over every step at once and a recurrent step. A state is a flat Float32Array
 * per batch row of `stateSize` floats whose per-sample shape is `stateShape` ([units] for LSTM,
 * GRU and SimpleRNN; a convolutional cell's would be [rows, cols, filters]): the driver only
 * copies and masks whole rows, it never reads a state as a matrix.
 */
import { gemm } from "../matmul.js";

/** The weights in Keras' layout: kernel [in, width], recurrent_kernel [units, width], bias or null. */
export interface KerasCellWeights {
  readonly kernel: Float32Array;
  readonly recurrentKernel: Float32Array;
  /** [width], or GRU reset_after's [2, width] (input row, then recurrent row). */
  readonly bias: Float32Array | null;
}

/** The sizes the driver and the WebAssembly workspace need, per batch row. */
export interface CellSizes {
  /** Per-sample shape of each state (the output is state 0). */
  readonly stateShape: readonly number[];
  /** Floats of one state per sample (the product of stateShape). */
  readonly stateSize: number;
  /** LSTM: 2 (h, c); GRU and SimpleRNN: 1. */
  readonly stateCount: number;
  /** Floats of one step's input projection (4u for LSTM, 3u for GRU, u for SimpleRNN). */
  readonly projectionWidth: number;
}

/**
 * Advances every batch row by one step. Row b's input projection for this step is at
 * `projection[offset + b*rowStride ..]` (the cell may overwrite it); `states[k]` are
 * [batch, stateSize] and are updated in place, except for rows whose
 * `mask[maskOffset + b*maskStride]` is 0 (mask null: every row runs). `scratch` holds
 * batch * projectionWidth values. `positions` > 1 (convolutional cells only): the mask holds
 * one value per spatial position, `mask[maskOffset + b*maskStride + position]`, and masked
 * positions keep their states.
 */
export type CellStep = (
  projection: Float32Array,
  offset: number,
  rowStride: number,
  states: Float32Array[],
  batch: number,
  mask: Uint8Array | null,
  maskOffset: number,
  maskStride: number,
  scratch: Float32Array,
  positions?: number,
) => void;

export interface RecurrentCell extends CellSizes {
  /** x·kernel + input bias for `rows` rows of `features` values into out ([rows, projectionWidth]). */
  inputProjection(x: Float32Array, rows: number, features: number, out: Float32Array): void;
  readonly step: CellStep;
  weights(): KerasCellWeights;
}

/**
 * What LSTM, GRU and SimpleRNN cells share: states of [units], kernels as matrices, and the input
 * projection as one product over every step (the one call a shared GEMM interface replaces).
 */
export abstract class MatrixCell {
  readonly stateShape: readonly number[];
  readonly stateSize: number;
  readonly projectionWidth: number;

  constructor(
    readonly units: number,
    gates: number,
    protected readonly kernelWeights: KerasCellWeights,
    /** The bias added to the input projection (GRU reset_after: the input row only). */
    private readonly inputBias: Float32Array | null,
  ) {
    this.stateShape = [units];
    this.stateSize = units;
    this.projectionWidth = gates * units;
  }

  weights(): KerasCellWeights {
    return this.kernelWeights;
  }

  /** x·kernel + input bias for `rows` rows of `features` values into out ([rows, projectionWidth]). */
  inputProjection(x: Float32Array, rows: number, features: number, out: Float32Array): void {
    const w = this.projectionWidth;
    gemm(x, 0, features, this.kernelWeights.kernel, 0, w, out, 0, w, rows, features, w, this.inputBias, false);
  }
}

/** GRU reset_after's bias rows joined back into Keras' [2, width]; other cells' bias as it is. */
export function joinBias(inputBias: Float32Array | null, recurrentBias: Float32Array | null): Float32Array | null {
  if (inputBias === null || recurrentBias === null) return inputBias;
  const bias = new Float32Array(inputBias.length + recurrentBias.length);
  bias.set(inputBias);
  bias.set(recurrentBias, inputBias.length);
  return bias;
}
