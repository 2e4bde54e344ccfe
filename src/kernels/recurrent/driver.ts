/**
 * The RNN driver (Keras' RNN layer loop, readable: driver.reference.ts): runs a cell over
 * [batch, time, features] from given states, with masks, go_backwards and return_sequences. The
 * input projection of every step is one product before the loop; each step is then the cell's
 * (or, on the fused WebAssembly path, the whole sequence is one call). A step allocates nothing.
 * States are flat rows of `stateSize` floats: the driver copies and masks rows, whatever the
 * cell's state shape.
 */
import { kernelModule } from "../wasm.js";
import type { RecurrentPlan, RecurrentSpec } from "../plan.js";
import type { Activation } from "../activations.js";
import type { CellSizes, KerasCellWeights, RecurrentCell } from "./cell.js";
import { joinBias } from "./cell.js";
import { GruCell } from "./gru.js";
import { LstmCell } from "./lstm.js";
import { SimpleRnnCell } from "./simple-rnn.js";
import { WasmSequence } from "./wasm-sequence.js";

/** A recurrent layer's kernels as its plan chose them. */
export interface RecurrentKernel {
  readonly plan: RecurrentPlan;
  readonly sizes: CellSizes;
  /** The TypeScript cell; null when the whole step runs in WebAssembly (which holds the weights). */
  readonly cell: RecurrentCell | null;
  readonly wasm: WasmSequence | null;
  /** The weights in Keras' layout (read back from WebAssembly memory when only it holds them). */
  weights(): KerasCellWeights;
}

function tsCell(spec: RecurrentSpec, weights: KerasCellWeights, plan: RecurrentPlan): RecurrentCell {
  const act = spec.activation;
  const rec = spec.recurrentActivation as Activation;
  if (spec.cell === "lstm") return new LstmCell(spec.units, weights, act, rec, plan.writtenOutGates);
  if (spec.cell === "gru") return new GruCell(spec.units, weights, spec.resetAfter, act, rec, plan.writtenOutGates);
  return new SimpleRnnCell(spec.units, weights, act);
}

/** The cell and, on the WebAssembly path, its instance, as `plan` says. */
export function createRecurrentKernel(
  spec: RecurrentSpec,
  weights: KerasCellWeights,
  plan: RecurrentPlan,
): RecurrentKernel {
  const u = spec.units;
  const gates = spec.cell === "lstm" ? 4 : spec.cell === "gru" ? 3 : 1;
  const sizes: CellSizes = {
    stateShape: [u],
    stateSize: u,
    stateCount: spec.cell === "lstm" ? 2 : 1,
    projectionWidth: gates * u,
  };
  const module = plan.path === "wasm" ? kernelModule() : null;
  const fused = module !== null && plan.fusedGates !== null;
  const cell = fused ? null : tsCell(spec, weights, plan);
  let wasm: WasmSequence | null = null;
  if (module !== null) {
    const w = sizes.projectionWidth;
    const split = spec.cell === "gru" && spec.resetAfter && weights.bias !== null;
    wasm = new WasmSequence(
      module,
      spec.cell,
      sizes,
      {
        kernel: weights.kernel,
        recurrentKernel: weights.recurrentKernel,
        inputBias: split ? weights.bias!.subarray(0, w) : weights.bias,
        recurrentBias: split ? weights.bias!.subarray(w, 2 * w) : null,
      },
      plan,
    );
  }
  return {
    plan,
    sizes,
    cell,
    wasm,
    weights: () => {
      if (cell !== null) return cell.weights();
      const read = wasm!.readWeights();
      return {
        kernel: read.kernel,
        recurrentKernel: read.recurrentKernel,
        bias: joinBias(read.inputBias, read.recurrentBias),
      };
    },
  };
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
  /** The input projection of every step: [batch, time, projectionWidth]. */
  readonly projection: Float32Array;
  /** The cells' per-step scratch: [batch, projectionWidth]. */
  readonly scratch: Float32Array;
  /** The states, [batch, stateSize] each: read as the initial states, left holding the final ones. */
  readonly states: Float32Array[];
  /** [batch, time, stateSize] with returnSequences, else [batch, stateSize]. */
  readonly output: Float32Array;
  /** Each row's latest output, which a masked step repeats: [batch, stateSize]. */
  readonly lastOutput: Float32Array;
}

export function allocateSequenceBuffers(
  kernel: RecurrentKernel,
  batch: number,
  time: number,
  returnSequences: boolean,
): SequenceBuffers {
  const { stateSize, stateCount, projectionWidth } = kernel.sizes;
  // On the wasm path the projection and scratch live in the instance's memory.
  const inTs = kernel.wasm === null;
  return {
    projection: new Float32Array(inTs ? batch * time * projectionWidth : 0),
    scratch: new Float32Array(inTs ? batch * projectionWidth : 0),
    states: Array.from({ length: stateCount }, () => new Float32Array(batch * stateSize)),
    output: new Float32Array(returnSequences ? batch * time * stateSize : batch * stateSize),
    lastOutput: new Float32Array(batch * stateSize),
  };
}

/**
 * Runs the kernel over x [batch, time, features] from the states in `buffers.states`.
 *
 * With a mask ([batch, time], 1 = keep), a masked step leaves the states as they were and
 * outputs the row's previous output (zeros before its first kept step), or zeros with
 * zeroOutputForMask: Keras' rnn loop on CPU. `buffers.lastOutput` holds each row's previous
 * output on entry (zeros for a new sequence).
 *
 * `maskPositions` (a convolutional cell's masks per spatial position, [batch, time, positions]):
 * the position of each state value; the rule above then holds per position.
 */
export function runSequence(
  kernel: RecurrentKernel,
  x: Float32Array,
  batch: number,
  time: number,
  features: number,
  mask: Uint8Array | null,
  options: SequenceOptions,
  buffers: SequenceBuffers,
  maskPositions: Int32Array | null = null,
): void {
  const u = kernel.sizes.stateSize;
  const width = kernel.sizes.projectionWidth;
  const { output, lastOutput } = buffers;
  const { goBackwards, returnSequences, zeroOutputForMask } = options;
  const { cell, wasm } = kernel;
  if (wasm !== null && wasm.fused && mask === null) {
    // The whole sequence in one WebAssembly call.
    wasm.prepare(x, batch, time, features, buffers.states, null);
    wasm.run(batch, time, goBackwards, returnSequences ? output : null);
    if (!returnSequences) output.set(wasm.states[0]);
    wasm.finish(buffers.states);
    return;
  }
  let projection = buffers.projection;
  let states = buffers.states;
  let scratch = buffers.scratch;
  if (wasm !== null) {
    wasm.prepare(x, batch, time, features, states, mask);
    projection = wasm.projection;
    states = wasm.states;
    scratch = wasm.scratch;
  } else {
    cell!.inputProjection(x, batch * time, features, projection);
  }
  const h = states[0];
  const positions = mask === null || maskPositions === null ? 1 : mask.length / (batch * time);
  for (let s = 0; s < time; s++) {
    const t = goBackwards ? time - 1 - s : s;
    if (cell === null) wasm!.step(t);
    else
      cell.step(
        projection,
        t * width,
        time * width,
        states,
        batch,
        mask,
        t * positions,
        time * positions,
        scratch,
        positions,
      );
    if (positions > 1) {
      positionalOutputs(h, mask!, maskPositions!, positions, batch, time, s, t, options, buffers);
      continue;
    }
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
  if (wasm !== null) wasm.finish(buffers.states);
}

/** runSequence's outputs of step s (at time t) with masks per position: the mask rule, value by value. */
function positionalOutputs(
  h: Float32Array,
  mask: Uint8Array,
  maskPositions: Int32Array,
  positions: number,
  batch: number,
  time: number,
  s: number,
  t: number,
  { returnSequences, zeroOutputForMask }: SequenceOptions,
  { output, lastOutput }: SequenceBuffers,
): void {
  const u = maskPositions.length;
  for (let b = 0; b < batch; b++) {
    const row = b * u;
    const at = (b * time + t) * positions;
    const to = (b * time + s) * u;
    for (let j = 0; j < u; j++) {
      if (mask[at + maskPositions[j]] !== 0) lastOutput[row + j] = h[row + j];
      else if (zeroOutputForMask) lastOutput[row + j] = 0;
      if (returnSequences) output[to + j] = lastOutput[row + j];
    }
  }
}
