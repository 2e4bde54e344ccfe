/**
 * The one place the ONNX front end touches kerasless' recurrent kernels: it builds a Keras cell
 * from weights already in Keras' layout and runs it over a [batch, time, features] sequence.
 */
import {
  allocateSequenceBuffers,
  createRecurrentKernel,
  runSequence,
  type RecurrentKernel,
  type SequenceBuffers,
} from "../../kernels/recurrent/driver.js";
import type { RecurrentCell } from "../../kernels/recurrent/cell.js";
import { planRecurrent, type RecurrentPlan } from "../../kernels/plan.js";
import type { Activation } from "../../kernels/activations.js";
import { OnnxGruCell, OnnxLstmCell, type OnnxCellOptions } from "./onnx-cells.js";

export type CellKind = "lstm" | "gru" | "rnn";

export interface KerasLayoutWeights {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array | null;
}

export interface DirectionCell {
  readonly kernel: RecurrentKernel;
  /** The last call's buffers, reused by the next call of the same size (callers copy results out). */
  workspace?: { batch: number; time: number; sequences: boolean; buffers: SequenceBuffers };
}

/**
 * activations: LSTM [f, g, h], GRU [f, g], RNN [f]. The Keras cells (and their fast paths) when
 * the node needs nothing they lack; else the ONNX-only cells of onnx-cells.ts.
 */
export function makeCell(
  kind: CellKind,
  units: number,
  weights: KerasLayoutWeights,
  activations: Activation[],
  resetAfter: boolean,
  options: OnnxCellOptions,
): DirectionCell {
  const plain = options.clip === Infinity && !options.inputForget && options.peepholes === null;
  if (kind === "lstm" && (!plain || activations[1] !== activations[2]))
    return onnxKernel(new OnnxLstmCell(units, weights, activations[0], activations[1], activations[2], options));
  if (kind === "gru" && !plain)
    return onnxKernel(new OnnxGruCell(units, weights, resetAfter, activations[0], activations[1], options.clip));
  // Keras' own cells, planned as a Keras layer's (fused WebAssembly steps where they apply).
  const spec = {
    cell: kind === "rnn" ? ("simple_rnn" as const) : kind,
    units,
    activation: kind === "rnn" ? activations[0] : activations[1],
    recurrentActivation: kind === "rnn" ? null : activations[0],
    resetAfter,
  };
  return { kernel: createRecurrentKernel(spec, weights, planRecurrent(spec)) };
}

/** An ONNX-only cell as the driver's kernel: the TypeScript step, whatever the kernel path. */
function onnxKernel(cell: RecurrentCell & { readonly units: number }): DirectionCell {
  const plan: RecurrentPlan = {
    path: "js",
    writtenOutGates: false,
    fusedGates: null,
    parts: 1,
    team: null,
    backend: "typescript",
    why: ["ONNX cell (clip, input_forget, peepholes or differing activations): TypeScript step"],
  };
  const { stateShape, stateSize, stateCount, projectionWidth } = cell;
  return {
    kernel: {
      plan,
      sizes: { stateShape, stateSize, stateCount, projectionWidth },
      cell,
      wasm: null,
      weights: () => cell.weights(),
    },
  };
}

export interface CellRun {
  /** [batch, time, units] in processing order (reversed when backwards), or null. */
  sequence: Float32Array | null;
  /** The final states, [batch, units] each (LSTM: h, c). */
  states: Float32Array[];
}

/**
 * Runs one direction. Steps whose mask is 0 keep the states and output zeros (ONNX
 * sequence_lens: padding after each row's length, which a backwards run meets first).
 */
export function runCell(
  direction: DirectionCell,
  x: Float32Array,
  batch: number,
  time: number,
  features: number,
  mask: Uint8Array | null,
  backwards: boolean,
  returnSequences: boolean,
  initialStates: (Float32Array | null)[],
): CellRun {
  const kernel = direction.kernel;
  const kept = direction.workspace;
  let buffers: SequenceBuffers;
  if (kept !== undefined && kept.batch === batch && kept.time === time && kept.sequences === returnSequences) {
    buffers = kept.buffers;
    buffers.lastOutput.fill(0);
  } else {
    buffers = allocateSequenceBuffers(kernel, batch, time, returnSequences);
    // Small workspaces are kept (allocating costs more than a small model's arithmetic); large ones not.
    const floats = buffers.projection.length + buffers.output.length + buffers.scratch.length;
    direction.workspace = floats <= 65536 ? { batch, time, sequences: returnSequences, buffers } : undefined;
  }
  initialStates.forEach((s, k) => {
    if (s !== null) buffers.states[k].set(s);
    else buffers.states[k].fill(0);
  });
  runSequence(
    kernel,
    x,
    batch,
    time,
    features,
    mask,
    { goBackwards: backwards, returnSequences, zeroOutputForMask: true },
    buffers,
  );
  return { sequence: returnSequences ? buffers.output : null, states: buffers.states };
}
