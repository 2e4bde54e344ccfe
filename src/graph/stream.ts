/**
 * Streaming: a graph run one time step at a time (model.stream()).
 *
 * Every tensor that has a time axis in predict() has a time axis of length 1 here, so layers that
 * compute each step on its own ("pointwise") run their ordinary call(); layers that carry state
 * from step to step (recurrent layers, causal convolutions, nested models) open a LayerStream.
 * Everything is allocated on the first step; later steps only overwrite buffers.
 */
import { KeraslessError } from "../errors.js";
import type { Layer, LayerStream, Mask, Masks } from "../layers/layer.js";
import { Tensor, formatShape } from "../tensor.js";
import type { Call } from "./call.js";
import type { GraphView } from "./types.js";

/** What streaming a graph needs, worked out once: which outputs have a time axis, who refuses. */
export interface StreamAnalysis {
  /** Per call, per output: does the tensor have a (length-1) time axis. */
  readonly hasTime: readonly (readonly boolean[])[];
  /** "layer "name" (Class): reason" for every layer that cannot stream. */
  readonly refusals: readonly string[];
}

export function analyzeStream(graph: GraphView): StreamAnalysis {
  const refusals: string[] = [];
  const hasTime: boolean[][] = [];
  const calls = graph.calls;
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    const layer = call.layer;
    if (graph.inputIndex[i] >= 0) {
      const input = graph.inputLayers[graph.inputIndex[i]];
      const rank = input.batchShape.length;
      if (rank < 2 || (rank === 2 && input.dtype !== "int32")) {
        refusals.push(`input "${input.name}" of shape ${formatShape(input.batchShape)} has no time axis to step along`);
      }
      hasTime.push([true]);
      continue;
    }
    const behaviour = layer.streamBehaviour();
    if (behaviour.kind === "refused") {
      refusals.push(`layer "${layer.name}" (${layer.className}) ${behaviour.reason}`);
      hasTime.push(call.outputShapes.map(() => false));
    } else if (behaviour.kind === "stateful") {
      // Initial states from other tensors (an encoder's, in encoder-decoders) would restart every step.
      if (!layer.streamsCall(call.inputs.length))
        refusals.push(
          `layer "${layer.name}" (${layer.className}) takes initial_state from other tensors, ` +
            "which a stream cannot feed step by step",
        );
      hasTime.push(behaviour.outputsHaveTime.slice());
    } else {
      const [producer, tensor] = call.inputs[0];
      hasTime.push(call.outputShapes.map(() => hasTime[producer][tensor]));
    }
  }
  return { hasTime, refusals };
}

interface Opened {
  readonly batch: number;
  /** Per call: its LayerStream if the layer carries state, else null. */
  readonly streams: (LayerStream | null)[];
  readonly values: Tensor[][];
  readonly masks: (Mask | null)[][];
  /** Per call: reused argument arrays, and an all-null mask list for calls that carry none. */
  readonly args: Tensor[][];
  readonly argMasks: (Mask | null)[][];
  readonly noMasks: (Mask | null)[][];
  /** Per graph input: the one-element value and mask lists a step fills in. */
  readonly inputValues: Tensor[][];
  readonly inputMasks: (Mask | null)[][];
  readonly stateBuffers: Float32Array[];
  first: boolean;
}

export class GraphStream {
  private readonly graph: GraphView;
  /** The graph's calls, read once: a step does not go through the graph's getters. */
  private readonly calls: readonly Call[];
  private readonly hasTime: readonly (readonly boolean[])[];
  private readonly sources: readonly { call: number; tensor: number }[];
  /** Per call: its index among the graph's inputs, or -1. */
  private readonly inputIndex: readonly number[];
  private opened: Opened | null = null;
  private readonly outputList: Tensor[];
  private readonly outputMaskList: (Mask | null)[];

  /** Checks the whole graph; throws one E_UNSUPPORTED naming every layer that cannot stream. */
  constructor(graph: GraphView, analysis: StreamAnalysis = analyzeStream(graph)) {
    if (analysis.refusals.length > 0) {
      throw new KeraslessError(
        "E_UNSUPPORTED",
        `cannot stream model "${graph.name}" one time step at a time: ${analysis.refusals.join("; ")}`,
      );
    }
    this.graph = graph;
    this.calls = graph.calls;
    this.hasTime = analysis.hasTime;
    this.sources = graph.outputSources;
    this.inputIndex = graph.inputIndex;
    this.outputList = new Array(this.sources.length);
    this.outputMaskList = new Array(this.sources.length).fill(null);
  }

  get batch(): number | null {
    return this.opened?.batch ?? null;
  }

  /** Per model output: whether it has a time axis in predict() (length 1 here). */
  outputsHaveTime(): boolean[] {
    return this.sources.map(({ call, tensor }) => this.hasTime[call][tensor]);
  }

  /** Allocates every buffer for `batch` rows. */
  open(batch: number): void {
    const calls = this.calls;
    const streams = calls.map((call) => {
      const behaviour = call.layer.streamBehaviour();
      return behaviour.kind === "stateful" ? behaviour.open(batch) : null;
    });
    this.opened = {
      batch,
      streams,
      values: calls.map(() => []),
      masks: calls.map(() => []),
      args: calls.map((call) => new Array<Tensor>(call.inputs.length)),
      argMasks: calls.map((call) => new Array<Mask | null>(call.inputs.length).fill(null)),
      noMasks: calls.map((call) => new Array<Mask | null>(call.outputShapes.length).fill(null)),
      inputValues: this.graph.inputLayers.map(() => new Array<Tensor>(1)),
      inputMasks: this.graph.inputLayers.map(() => new Array<Mask | null>(1).fill(null)),
      stateBuffers: streams.flatMap((s) => (s === null ? [] : [...s.state])),
      first: true,
    };
  }

  /**
   * Runs one step on the model inputs for this step (each [batch, 1, ...], in inputLayers
   * order). Returns one tensor per model output, with its length-1 time axis where it has one;
   * the returned list and tensors are reused by the next step.
   */
  step(inputs: readonly Tensor[], inputMasks?: Masks): Tensor[] {
    const o = this.opened!;
    const calls = this.calls;
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i];
      const layer: Layer = call.layer;
      const input = this.inputIndex[i];
      if (input >= 0) {
        o.inputValues[input][0] = inputs[input];
        o.inputMasks[input][0] = inputMasks?.[input] ?? null;
        o.values[i] = o.inputValues[input];
        o.masks[i] = o.inputMasks[input];
        continue;
      }
      const args = o.args[i];
      const argMasks = o.argMasks[i];
      let anyMask = false;
      for (let k = 0; k < call.inputs.length; k++) {
        const ref = call.inputs[k];
        args[k] = o.values[ref[0]][ref[1]];
        const mask = o.masks[ref[0]][ref[1]];
        argMasks[k] = mask;
        if (mask !== null) anyMask = true;
      }
      const stream = o.streams[i];
      let out: Tensor[];
      if (stream !== null) out = stream.step(args, argMasks);
      else if (!o.first && layer.callInto(args, argMasks, o.values[i])) out = o.values[i];
      else out = layer.call(args, argMasks, call.arguments);
      o.values[i] = out;
      o.masks[i] =
        layer.supportsMasking && (anyMask || layer.createsMask)
          ? layer.computeMask(args, argMasks, out, call.arguments)
          : o.noMasks[i];
    }
    o.first = false;
    for (let k = 0; k < this.sources.length; k++) {
      const { call, tensor } = this.sources[k];
      this.outputList[k] = o.values[call][tensor];
      this.outputMaskList[k] = o.masks[call][tensor];
    }
    return this.outputList;
  }

  /** The masks of the last step's outputs. */
  get outputMasks(): readonly (Mask | null)[] {
    return this.outputMaskList;
  }

  /** The live state buffers of every stateful layer, in graph order. */
  get stateBuffers(): readonly Float32Array[] {
    return this.opened!.stateBuffers;
  }

  reset(): void {
    for (const s of this.opened?.streams ?? []) s?.reset();
  }
}
