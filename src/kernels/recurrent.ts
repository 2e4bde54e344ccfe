/**
 * The recurrent cells (LSTM, GRU, SimpleRNN) and the one loop that drives them over time.
 *
 * The input projection x·kernel + bias of every time step is one matrix product done before
 * the loop. Each step then adds h·recurrentKernel for all batch rows as one matrix product
 * (accumulated straight into the projection, which is scratch) and applies the gates in one
 * pass per row. With the usual activations (tanh, and sigmoid for the gates) that pass is written
 * out; other activations run over the gate blocks in place. A step allocates nothing.
 */
import { getActivation, type Activation } from "./activations.js";
import { gemm } from "./matmul.js";
import { accelerate, type GateActivation, type WasmSequence } from "./wasm.js";

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
  /** The cell's WebAssembly instance on the "wasm" kernel path, else null. */
  readonly accelerator: WasmSequence | null;
  /**
   * True when the cell runs wholly in WebAssembly (a fused accelerator) and keeps its weights only
   * there; kernel, recurrentKernel and inputBias are then empty, and weights() reads them back.
   */
  readonly weightsInAccelerator: boolean;
  /** The weights in Keras' layout (kernel, recurrent_kernel, bias or null). */
  weights(): { kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null };
  /**
   * Advances every batch row by one step. Row b's x·kernel + inputBias for this step is at
   * `projection[offset + b*rowStride ..]` (the cell may overwrite it); `states[k]` are
   * [batch, units] and are updated in place, except for rows whose `mask[maskOffset + b*maskStride]`
   * is 0 (mask null: every row runs). `scratch` holds batch * projectionWidth values.
   */
  stepBatch(
    projection: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
    scratch: Float32Array,
  ): void;
}

const EMPTY = new Float32Array(0);

interface CellWeights {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  inputBias: Float32Array | null;
  recurrentBias: Float32Array | null;
}

/** A cell's weights in Keras' layout: GRU reset_after's bias is [2, 3u], the input row then the recurrent row. */
function kerasLayout({ kernel, recurrentKernel, inputBias, recurrentBias }: CellWeights): {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array | null;
} {
  if (inputBias === null || recurrentBias === null) return { kernel, recurrentKernel, bias: inputBias };
  const bias = new Float32Array(inputBias.length + recurrentBias.length);
  bias.set(inputBias);
  bias.set(recurrentBias, inputBias.length);
  return { kernel, recurrentKernel, bias };
}

/** True for the activations the written-out gate passes compute themselves. */
const isTanh = (a: Activation): boolean => a.name === "tanh";
const isSigmoid = (a: Activation): boolean => a.name === "sigmoid";

/** The WebAssembly gate pass for this gate activation (hard_sigmoid differs by Keras version), or null. */
function gateActivation(a: Activation): GateActivation | null {
  if (isSigmoid(a)) return "sigmoid";
  if (a === getActivation("hard_sigmoid", 2)) return "hard_sigmoid_keras2";
  if (a === getActivation("hard_sigmoid", 3)) return "hard_sigmoid_keras3";
  return null;
}

/** The whole step in WebAssembly when the activation is tanh and the gates' activation has a pass there. */
function fusedGates(
  cell: "lstm" | "gru",
  activation: Activation,
  recurrentActivation: Activation,
): { cell: "lstm" | "gru"; gate: GateActivation } | null {
  const gate = gateActivation(recurrentActivation);
  return isTanh(activation) && gate !== null ? { cell, gate } : null;
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
  readonly recurrentKernel: Float32Array;
  readonly accelerator: WasmSequence | null;
  readonly weightsInAccelerator: boolean;
  private readonly usual: boolean;

  constructor(
    readonly units: number,
    weights: LstmWeights,
    private readonly activation: Activation,
    private readonly recurrentActivation: Activation,
  ) {
    this.projectionWidth = 4 * units;
    this.usual = isTanh(activation) && isSigmoid(recurrentActivation);
    const { kernel, recurrentKernel, bias } = weights;
    this.accelerator = accelerate({
      units,
      stateCount: 2,
      projectionWidth: this.projectionWidth,
      kernel,
      inputBias: bias,
      recurrentKernel,
      recurrentBias: null,
      fusedGates: fusedGates("lstm", activation, recurrentActivation),
    });
    this.weightsInAccelerator = this.accelerator?.fused === true;
    // Held once: in the WebAssembly memory when the whole step runs there.
    this.kernel = this.weightsInAccelerator ? EMPTY : kernel;
    this.recurrentKernel = this.weightsInAccelerator ? EMPTY : recurrentKernel;
    this.inputBias = this.weightsInAccelerator ? null : bias;
  }

  weights(): { kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null } {
    return kerasLayout(
      this.weightsInAccelerator
        ? this.accelerator!.readWeights()
        : {
            kernel: this.kernel,
            recurrentKernel: this.recurrentKernel,
            inputBias: this.inputBias,
            recurrentBias: null,
          },
    );
  }

  stepBatch(
    p: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
    scratch: Float32Array,
  ): void {
    const u = this.units;
    const h = states[0];
    const c = states[1];
    // p = [input | forget | candidate | output] pre-activations.
    gemm(h, 0, u, this.recurrentKernel, 0, 4 * u, p, offset, rowStride, batch, u, 4 * u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      const o = offset + b * rowStride;
      const s = b * u;
      if (this.usual) {
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
        this.recurrentActivation.apply(p, o, p, o, 1, 2 * u);
        this.activation.apply(p, o + 2 * u, p, o + 2 * u, 1, u);
        this.recurrentActivation.apply(p, o + 3 * u, p, o + 3 * u, 1, u);
        for (let j = 0; j < u; j++) c[s + j] = p[o + u + j] * c[s + j] + p[o + j] * p[o + 2 * u + j];
        this.activation.apply(c, s, scratch, s, 1, u);
        for (let j = 0; j < u; j++) h[s + j] = p[o + 3 * u + j] * scratch[s + j];
      }
    }
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
  readonly recurrentKernel: Float32Array;
  readonly accelerator: WasmSequence | null;
  readonly weightsInAccelerator: boolean;
  private readonly recurrentBias: Float32Array | null;
  private readonly usual: boolean;

  constructor(
    readonly units: number,
    weights: GruWeights,
    private readonly resetAfter: boolean,
    private readonly activation: Activation,
    private readonly recurrentActivation: Activation,
  ) {
    const w = 3 * units;
    this.projectionWidth = w;
    const { kernel, recurrentKernel, bias } = weights;
    const inputBias = bias !== null && resetAfter ? bias.subarray(0, w) : bias;
    const recurrentBias = bias !== null && resetAfter ? bias.subarray(w, 2 * w) : null;
    this.usual = isTanh(activation) && isSigmoid(recurrentActivation);
    this.accelerator = accelerate({
      units,
      stateCount: 1,
      projectionWidth: w,
      kernel,
      inputBias,
      recurrentKernel,
      recurrentBias,
      fusedGates: resetAfter ? fusedGates("gru", activation, recurrentActivation) : null,
    });
    this.weightsInAccelerator = this.accelerator?.fused === true;
    // Held once: in the WebAssembly memory when the whole step runs there.
    this.kernel = this.weightsInAccelerator ? EMPTY : kernel;
    this.recurrentKernel = this.weightsInAccelerator ? EMPTY : recurrentKernel;
    this.inputBias = this.weightsInAccelerator ? null : inputBias;
    this.recurrentBias = this.weightsInAccelerator ? null : recurrentBias;
  }

  weights(): { kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null } {
    return kerasLayout(
      this.weightsInAccelerator
        ? this.accelerator!.readWeights()
        : {
            kernel: this.kernel,
            recurrentKernel: this.recurrentKernel,
            inputBias: this.inputBias,
            recurrentBias: this.recurrentBias,
          },
    );
  }

  stepBatch(
    p: Float32Array,
    offset: number,
    rowStride: number,
    states: Float32Array[],
    batch: number,
    mask: Uint8Array | null,
    maskOffset: number,
    maskStride: number,
    scratch: Float32Array,
  ): void {
    const u = this.units;
    const w = 3 * u;
    const h = states[0];
    const U = this.recurrentKernel;
    if (this.resetAfter) {
      // scratch = h·U + recurrent bias; the reset gate scales its candidate part.
      gemm(h, 0, u, U, 0, w, scratch, 0, w, batch, u, w, this.recurrentBias, false);
      for (let b = 0; b < batch; b++) {
        if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
        const o = offset + b * rowStride;
        const r = b * w;
        const s = b * u;
        if (this.usual) {
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
      return;
    }
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
  readonly recurrentKernel: Float32Array;
  readonly accelerator: WasmSequence | null;
  readonly weightsInAccelerator = false;

  constructor(
    readonly units: number,
    weights: SimpleRnnWeights,
    private readonly activation: Activation,
  ) {
    this.projectionWidth = units;
    this.kernel = weights.kernel;
    this.recurrentKernel = weights.recurrentKernel;
    this.inputBias = weights.bias;
    this.accelerator = accelerate({
      units,
      stateCount: 1,
      projectionWidth: units,
      kernel: this.kernel,
      inputBias: this.inputBias,
      recurrentKernel: this.recurrentKernel,
      recurrentBias: null,
      fusedGates: null,
    });
  }

  weights(): { kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null } {
    return { kernel: this.kernel, recurrentKernel: this.recurrentKernel, bias: this.inputBias };
  }

  stepBatch(
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
    gemm(h, 0, u, this.recurrentKernel, 0, u, p, offset, rowStride, batch, u, u, null, true);
    for (let b = 0; b < batch; b++) {
      if (mask !== null && mask[maskOffset + b * maskStride] === 0) continue;
      this.activation.apply(p, offset + b * rowStride, h, b * u, 1, u);
    }
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
  /** The cells' per-step scratch: [batch, projectionWidth]. */
  readonly scratch: Float32Array;
  /** The states, [batch, units] each: read as the initial states, left holding the final ones. */
  readonly states: Float32Array[];
  /** [batch, time, units] with returnSequences, else [batch, units]. */
  readonly output: Float32Array;
  /** Each row's latest output, which a masked step repeats: [batch, units]. */
  readonly lastOutput: Float32Array;
}

export function allocateSequenceBuffers(
  cell: RecurrentCell,
  batch: number,
  time: number,
  returnSequences: boolean,
): SequenceBuffers {
  const u = cell.units;
  return {
    // On the wasm path the projection and scratch live in the cell's instance.
    projection: new Float32Array(cell.accelerator === null ? batch * time * cell.projectionWidth : 0),
    scratch: new Float32Array(cell.accelerator === null ? batch * cell.projectionWidth : 0),
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
  const { output, lastOutput } = buffers;
  const { goBackwards, returnSequences, zeroOutputForMask } = options;
  const accelerator = cell.accelerator;
  if (accelerator !== null && accelerator.fused && mask === null) {
    // The whole sequence in one WebAssembly call.
    accelerator.prepare(x, batch, time, features, buffers.states, null);
    accelerator.run(batch, time, goBackwards, returnSequences ? output : null);
    if (!returnSequences) output.set(accelerator.states[0]);
    accelerator.finish(buffers.states);
    return;
  }
  let projection = buffers.projection;
  let states = buffers.states;
  let scratch = buffers.scratch;
  if (accelerator !== null) {
    accelerator.prepare(x, batch, time, features, states, mask);
    projection = accelerator.projection;
    states = accelerator.states;
    scratch = accelerator.scratch;
  } else {
    gemm(
      x,
      0,
      features,
      cell.kernel,
      0,
      width,
      projection,
      0,
      width,
      batch * time,
      features,
      width,
      cell.inputBias,
      false,
    );
  }
  const fused = accelerator !== null && accelerator.fused;
  const h = states[0];
  for (let s = 0; s < time; s++) {
    const t = goBackwards ? time - 1 - s : s;
    if (fused) accelerator.step(t, time, batch, true);
    else cell.stepBatch(projection, t * width, time * width, states, batch, mask, t, time, scratch);
    for (let b = 0; b < batch; b++) {
      const row = b * u;
      // The step's output row: h when the step ran, else what the mask rule says.
      let source = h;
      if (mask === null || mask[b * time + t] !== 0) {
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
  if (accelerator !== null) accelerator.finish(buffers.states);
}
