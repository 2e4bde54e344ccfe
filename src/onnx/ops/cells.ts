/**
 * The one place the ONNX front end touches kerasless' recurrent kernels: it builds a Keras cell
 * from weights already in Keras' layout, and the driver's buffers to run it over a sequence.
 */
import {
  allocateSequenceBuffers,
  createRecurrentKernel,
  type RecurrentKernel,
  type SequenceBuffers,
} from "../../kernels/recurrent/driver.js";
import type { RecurrentCell } from "../../kernels/recurrent/cell.js";
import { planRecurrent, type RecurrentPlan } from "../../kernels/plan.js";
import type { Activation } from "../../kernels/activations.js";
import { clippedActivation } from "./activations.js";
import { OnnxLstmCell, type OnnxCellOptions } from "./onnx-cells.js";

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
 * activations: LSTM [f, g, h], GRU [f, g], RNN [f]. The Keras cells (and their fast paths), with
 * `clip` in the activations, unless an LSTM needs what the Keras cell lacks (onnx-cells.ts).
 */
export function makeCell(
  kind: CellKind,
  units: number,
  weights: KerasLayoutWeights,
  activations: Activation[],
  resetAfter: boolean,
  options: OnnxCellOptions,
): DirectionCell {
  const clipped = activations.map((a) => clippedActivation(a, options.clip));
  const [f, g] = kind === "rnn" ? [null, clipped[0]] : clipped;
  if (kind === "lstm" && (options.inputForget || options.peepholes !== null || g !== activations[2]))
    return onnxKernel(new OnnxLstmCell(units, weights, f!, g, activations[2], options.inputForget, options.peepholes));
  // Keras' own cells, planned as a Keras layer's (fused WebAssembly steps where they apply).
  const spec = {
    cell: kind === "rnn" ? ("simple_rnn" as const) : kind,
    units,
    activation: g,
    recurrentActivation: f,
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
    why: ["ONNX LSTM cell (input_forget, peepholes, or an output activation other than the candidate's)"],
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

/**
 * Buffers for one direction's run over [batch, time]: new ones, or (`shared`, for one call) the
 * direction's kept workspace when it has that size, with the previous call's contents.
 */
export function sequenceBuffers(
  direction: DirectionCell,
  batch: number,
  time: number,
  sequences: boolean,
  shared: boolean,
): SequenceBuffers {
  const kept = direction.workspace;
  if (shared && kept !== undefined && kept.batch === batch && kept.time === time && kept.sequences === sequences)
    return kept.buffers;
  const buffers = allocateSequenceBuffers(direction.kernel, batch, time, sequences);
  // Small workspaces are kept (allocating costs more than a small model's arithmetic); large ones not.
  const floats = buffers.projection.length + buffers.output.length + buffers.scratch.length;
  if (shared) direction.workspace = floats <= 65536 ? { batch, time, sequences, buffers } : undefined;
  return buffers;
}
