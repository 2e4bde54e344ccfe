/**
 * The recurrent cells (LSTM, GRU, SimpleRNN) and the one loop that drives them over time.
 *
 * The input projection x·kernel + bias of every time step is one matrix product done before
 * the loop; each step then adds h·recurrentKernel and applies the gates. Cells own their scratch
 * rows, so a step allocates nothing.
 */
import type { Activation } from "./activations.js";
import { matmulBias, vecMatAccumulate } from "./matmul.js";

export interface RecurrentCell {
  readonly units: number;
  /** Sizes of the state tensors, output state first (LSTM: [h, c]; GRU and SimpleRNN: [h]). */
  readonly stateCount: number;
  /** Columns of the input projection (4u for LSTM, 3u for GRU, u for SimpleRNN). */
  readonly projectionWidth: number;
  /** [inputDim, projectionWidth] */
  readonly kernel: Float32Array;
  /** Bias added to the input projection, or null. */
  readonly inputBias: Float32Array | null;
  /**
   * Advances batch row `row` by one step. `projection` holds x·kernel + inputBias for this step at
   * `offset`; `states[k]` are [batch, units] and are updated in place.
   */
  step(projection: Float32Array, offset: number, states: Float32Array[], row: number): void;
}

export interface LstmWeights {
  kernel: Float32Array; // [in, 4u], gate columns i | f | c | o
  recurrentKernel: Float32Array; // [u, 4u]
  bias: Float32Array | null; // [4u]
}

export class LstmCell implements RecurrentCell {
  readonly stateCount = 2;
  readonly projectionWidth: number;
  readonly kernel: Float32Array;
  readonly inputBias: Float32Array | null;
  private readonly recurrentKernel: Float32Array;
  private readonly gates: Float64Array;
  private readonly cellActivated: Float64Array;

  constructor(
    readonly units: number,
    weights: LstmWeights,
    private readonly activation: Activation,
    private readonly recurrentActivation: Activation,
  ) {
    this.projectionWidth = 4 * units;
    this.kernel = weights.kernel;
    this.recurrentKernel = weights.recurrentKernel;
    this.inputBias = weights.bias;
    this.gates = new Float64Array(4 * units);
    this.cellActivated = new Float64Array(units);
  }

  step(projection: Float32Array, offset: number, states: Float32Array[], row: number): void {
    const u = this.units;
    const z = this.gates;
    const h = states[0];
    const c = states[1];
    const rowOffset = row * u;
    for (let j = 0; j < 4 * u; j++) z[j] = projection[offset + j];
    vecMatAccumulate(h, rowOffset, this.recurrentKernel, 4 * u, 0, u, 4 * u, z, 0);
    // z = [input | forget | candidate | output] pre-activations.
    this.recurrentActivation.apply(z, 0, z, 0, 1, u);
    this.recurrentActivation.apply(z, u, z, u, 1, u);
    this.activation.apply(z, 2 * u, z, 2 * u, 1, u);
    this.recurrentActivation.apply(z, 3 * u, z, 3 * u, 1, u);
    for (let j = 0; j < u; j++) {
      c[rowOffset + j] = z[u + j] * c[rowOffset + j] + z[j] * z[2 * u + j];
      this.cellActivated[j] = c[rowOffset + j];
    }
    this.activation.apply(this.cellActivated, 0, this.cellActivated, 0, 1, u);
    for (let j = 0; j < u; j++) h[rowOffset + j] = z[3 * u + j] * this.cellActivated[j];
  }
}

export interface GruWeights {
  kernel: Float32Array; // [in, 3u], gate columns z | r | h
  recurrentKernel: Float32Array; // [u, 3u]
  /** reset_after: [2, 3u] (input bias row, recurrent bias row); otherwise [3u]; or null. */
  bias: Float32Array | null;
}

export class GruCell implements RecurrentCell {
  readonly stateCount = 1;
  readonly projectionWidth: number;
  readonly kernel: Float32Array;
  readonly inputBias: Float32Array | null;
  private readonly recurrentKernel: Float32Array;
  private readonly recurrentBias: Float32Array | null;
  private readonly recurrentPart: Float64Array;
  private readonly gates: Float64Array;
  private readonly resetState: Float64Array;

  constructor(
    readonly units: number,
    weights: GruWeights,
    private readonly resetAfter: boolean,
    private readonly activation: Activation,
    private readonly recurrentActivation: Activation,
  ) {
    const w = 3 * units;
    this.projectionWidth = w;
    this.kernel = weights.kernel;
    this.recurrentKernel = weights.recurrentKernel;
    if (weights.bias !== null && resetAfter) {
      this.inputBias = weights.bias.subarray(0, w);
      this.recurrentBias = weights.bias.subarray(w, 2 * w);
    } else {
      this.inputBias = weights.bias;
      this.recurrentBias = null;
    }
    this.recurrentPart = new Float64Array(w);
    this.gates = new Float64Array(w);
    this.resetState = new Float64Array(units);
  }

  step(projection: Float32Array, offset: number, states: Float32Array[], row: number): void {
    const u = this.units;
    const h = states[0];
    const rowOffset = row * u;
    const z = this.gates;
    const rec = this.recurrentPart;
    if (this.resetAfter) {
      // rec = h·U + recurrent bias; the reset gate scales the recurrent part of the candidate.
      if (this.recurrentBias === null) rec.fill(0);
      else for (let j = 0; j < 3 * u; j++) rec[j] = this.recurrentBias[j];
      vecMatAccumulate(h, rowOffset, this.recurrentKernel, 3 * u, 0, u, 3 * u, rec, 0);
      for (let j = 0; j < 2 * u; j++) z[j] = projection[offset + j] + rec[j];
      this.recurrentActivation.apply(z, 0, z, 0, 1, u);
      this.recurrentActivation.apply(z, u, z, u, 1, u);
      for (let j = 0; j < u; j++) z[2 * u + j] = projection[offset + 2 * u + j] + z[u + j] * rec[2 * u + j];
    } else {
      // The reset gate scales the previous state before it meets the candidate's recurrent kernel.
      for (let j = 0; j < 2 * u; j++) z[j] = projection[offset + j];
      vecMatAccumulate(h, rowOffset, this.recurrentKernel, 3 * u, 0, u, 2 * u, z, 0);
      this.recurrentActivation.apply(z, 0, z, 0, 1, u);
      this.recurrentActivation.apply(z, u, z, u, 1, u);
      for (let j = 0; j < u; j++) {
        this.resetState[j] = z[u + j] * h[rowOffset + j];
        z[2 * u + j] = projection[offset + 2 * u + j];
      }
      vecMatAccumulate(this.resetState, 0, this.recurrentKernel, 3 * u, 2 * u, u, u, z, 2 * u);
    }
    this.activation.apply(z, 2 * u, z, 2 * u, 1, u);
    for (let j = 0; j < u; j++) {
      const update = z[j];
      h[rowOffset + j] = update * h[rowOffset + j] + (1 - update) * z[2 * u + j];
    }
  }
}

export interface SimpleRnnWeights {
  kernel: Float32Array; // [in, u]
  recurrentKernel: Float32Array; // [u, u]
  bias: Float32Array | null; // [u]
}

export class SimpleRnnCell implements RecurrentCell {
  readonly stateCount = 1;
  readonly projectionWidth: number;
  readonly kernel: Float32Array;
  readonly inputBias: Float32Array | null;
  private readonly recurrentKernel: Float32Array;
  private readonly preActivation: Float64Array;

  constructor(
    readonly units: number,
    weights: SimpleRnnWeights,
    private readonly activation: Activation,
  ) {
    this.projectionWidth = units;
    this.kernel = weights.kernel;
    this.recurrentKernel = weights.recurrentKernel;
    this.inputBias = weights.bias;
    this.preActivation = new Float64Array(units);
  }

  step(projection: Float32Array, offset: number, states: Float32Array[], row: number): void {
    const u = this.units;
    const h = states[0];
    const rowOffset = row * u;
    const z = this.preActivation;
    for (let j = 0; j < u; j++) z[j] = projection[offset + j];
    vecMatAccumulate(h, rowOffset, this.recurrentKernel, u, 0, u, u, z, 0);
    this.activation.apply(z, 0, z, 0, 1, u);
    for (let j = 0; j < u; j++) h[rowOffset + j] = z[j];
  }
}

export interface SequenceOptions {
  /** Read the sequence from the end; the returned sequence stays in that (processing) order, as in Keras. */
  readonly goBackwards: boolean;
  readonly returnSequences: boolean;
  /** Masked steps output zeros instead of the previous output (set by Keras' Bidirectional). */
  readonly zeroOutputForMask: boolean;
}

/**
 * Everything runSequence writes, allocated once per batch size and length (see
 * allocateSequenceBuffers) so that streaming can reuse it step after step.
 */
export interface SequenceBuffers {
  /** x·kernel + inputBias for every step: [batch, time, projectionWidth]. */
  readonly projection: Float32Array;
  /** One row accumulator for the projection. */
  readonly accumulator: Float64Array;
  /** The states, [batch, units] each: read as the initial states, left holding the final ones. */
  readonly states: Float32Array[];
  /** [batch, time, units] with returnSequences, else [batch, units]. */
  readonly output: Float32Array;
  /** Each row's latest output, which a masked step repeats: [batch, units]. */
  readonly lastOutput: Float32Array;
}

export function allocateSequenceBuffers(cell: RecurrentCell, batch: number, time: number, returnSequences: boolean): SequenceBuffers {
  const u = cell.units;
  return {
    projection: new Float32Array(batch * time * cell.projectionWidth),
    accumulator: new Float64Array(cell.projectionWidth),
    states: Array.from({ length: cell.stateCount }, () => new Float32Array(batch * u)),
    output: new Float32Array(returnSequences ? batch * time * u : batch * u),
    lastOutput: new Float32Array(batch * u),
  };
}

/**
 * Runs `cell` over x [batch, time, features] from the states in `buffers.states`.
 *
 * With a mask ([batch, time], 1 = keep), a masked step leaves the states as they were and
 * outputs the row's previous output (zeros before its first kept step), or zeros with
 * zeroOutputForMask: Keras' rnn loop on CPU. `buffers.lastOutput` holds each row's previous
 * output on entry (zeros for a new sequence).
 */
export function runSequence(
  cell: RecurrentCell,
  x: Float32Array,
  batch: number,
  time: number,
  features: number,
  mask: Uint8Array | null,
  options: SequenceOptions,
  buffers: SequenceBuffers,
): void {
  const u = cell.units;
  const width = cell.projectionWidth;
  const { projection, states, output, lastOutput } = buffers;
  const { goBackwards, returnSequences, zeroOutputForMask } = options;
  matmulBias(x, 0, cell.kernel, cell.inputBias, projection, 0, batch * time, features, width, buffers.accumulator);
  const h = states[0];
  for (let s = 0; s < time; s++) {
    const t = goBackwards ? time - 1 - s : s;
    for (let b = 0; b < batch; b++) {
      const row = b * u;
      // The step's output row: h when the step runs, else what the mask rule says.
      let source = h;
      if (mask === null || mask[b * time + t] !== 0) {
        cell.step(projection, (b * time + t) * width, states, b);
        if (mask !== null) for (let j = 0; j < u; j++) lastOutput[row + j] = h[row + j];
      } else {
        if (zeroOutputForMask) lastOutput.fill(0, row, row + u);
        source = lastOutput;
      }
      if (returnSequences) {
        const to = (b * time + s) * u;
        for (let j = 0; j < u; j++) output[to + j] = source[row + j];
      }
    }
  }
  if (!returnSequences) output.set(mask === null ? h : lastOutput);
}
