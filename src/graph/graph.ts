/**
 * The model graph: layers and the calls between them, in an order in which each call's inputs are
 * ready. Built in two phases so that every unsupported part of a model is found before anything
 * else fails: createGraph() (create.ts) creates the layers, reporting problems; build() wires the
 * calls and infers every shape.
 */
import type { InputLayer } from "../layers/core.js";
import type { Layer, Mask, Masks, Shape } from "../layers/layer.js";
import type { Tensor } from "../tensor.js";
import { NO_CALL, type Call, type CallSpec } from "./call.js";
import type { ModelSpec } from "./config.js";
import { runGraph, type Wiring } from "./run.js";
import { checkOutputSize } from "./shapes.js";
import type { GraphView } from "./types.js";
import { wireFunctional } from "./wiring.js";

export type { Call } from "./call.js";

/** The parts createGraph() makes from a config before wiring. */
export interface GraphParts {
  readonly spec: ModelSpec;
  readonly kerasMajor: 2 | 3;
  /** The layers in Keras' `model.layers` order (a Sequential's omits its InputLayer). */
  readonly layers: Layer[];
  /** Every layer by its config name (InputLayers included). */
  readonly byName: ReadonlyMap<string, Layer>;
  /** Per layer name, per call: the input tensors (keyword tensors the layer takes included) and arguments. */
  readonly callSpecs: ReadonlyMap<string, CallSpec[]>;
  /** A Sequential's input layer (from the file, or made from its first layer's input shape). */
  readonly sequentialInput: InputLayer | null;
  /** Every InputLayer (the only layers whose call takes no tensor). */
  readonly inputs: ReadonlySet<Layer>;
}

interface Built extends Wiring {
  readonly outputShapes: readonly Shape[];
  readonly outputSources: readonly { layer: Layer; call: number; tensor: number }[];
}

export class Graph implements GraphView {
  readonly name: string;
  readonly className: "Sequential" | "Functional";
  readonly layers: Layer[];
  readonly inputLayers: InputLayer[] = [];
  private readonly parts: GraphParts;
  private built: Built | null = null;
  /** Per layer: the input ranks of its first call, which its later calls must share (see makeCall). */
  private readonly firstRanks = new Map<Layer, number[]>();

  constructor(parts: GraphParts) {
    this.parts = parts;
    this.name = parts.spec.name;
    this.className = parts.spec.className;
    this.layers = parts.layers;
    if (parts.sequentialInput !== null) this.inputLayers.push(parts.sequentialInput);
  }

  /** Wires the calls and infers every shape (idempotent). */
  build(): void {
    if (this.built !== null) return;
    const makeCall = this.makeCall.bind(this);
    let calls: Call[];
    let outputs: (readonly [number, number])[];
    if (this.className === "Sequential") {
      calls = [];
      let previous: readonly [number, number] | null = null;
      for (const layer of [this.inputLayers[0], ...this.layers]) {
        calls.push(makeCall(layer, 0, previous === null ? [] : [previous], NO_CALL, calls));
        if (calls[calls.length - 1].outputShapes.length !== 1)
          throw layer.error("E_CONFIG", "has several outputs, which a Sequential model cannot pass on");
        previous = [calls.length - 1, 0];
      }
      outputs = [previous!];
    } else {
      const { byName, callSpecs, kerasMajor, spec } = this.parts;
      const wired = wireFunctional(spec, byName, callSpecs, kerasMajor, makeCall);
      calls = wired.calls;
      outputs = packedCopy(wired.outputs);
      for (const layer of wired.inputLayers) this.inputLayers.push(layer as InputLayer);
    }
    const inputPosition = new Map<Layer, number>();
    this.inputLayers.forEach((layer, i) => {
      if (!inputPosition.has(layer)) inputPosition.set(layer, i);
    });
    // Lists runGraph reads are packed copies (see packedCopy).
    const inputIndex = packedCopy(
      calls.map((call) => (call.inputs.length === 0 ? (inputPosition.get(call.layer) ?? -1) : -1)),
    );
    const lastUse = packedCopy(calls.map(() => -1));
    calls.forEach((call, i) => call.inputs.forEach(([producer]) => (lastUse[producer] = i)));
    outputs.forEach(([producer]) => (lastUse[producer] = calls.length));
    // An input layer that is not one of the model's inputs would run with no value (a config whose
    // input_layers name another layer twice).
    calls.forEach((call, i) => {
      if (call.inputs.length === 0 && inputIndex[i] < 0 && lastUse[i] >= 0)
        throw call.layer.error("E_CONFIG", "is read by other layers but is not one of the model's inputs");
    });
    const detaching = calls.some((call) => call.layer.detachesInputMasks(call.arguments).length > 0);
    const nulls = new Map<number, Masks>();
    const noMasks = (count: number): Masks => {
      let list = nulls.get(count);
      if (list === undefined) nulls.set(count, (list = packedCopy(new Array<Mask | null>(count).fill(null))));
      return list;
    };
    this.built = {
      calls,
      outputs,
      inputIndex,
      lastUse,
      detaching,
      noMasks: packedCopy(calls.map((call) => noMasks(call.outputShapes.length))),
      noInputMasks: packedCopy(calls.map((call) => noMasks(call.inputs.length))),
      outputShapes: outputs.map(([call, tensor]) => calls[call].outputShapes[tensor]),
      outputSources: outputs.map(([call, tensor]) => ({ layer: calls[call].layer, call, tensor })),
    };
  }

  private makeCall(
    layer: Layer,
    node: number,
    inputs: (readonly [number, number])[],
    spec: CallSpec,
    calls: readonly Call[],
  ): Call {
    if (inputs.length === 0 && !this.parts.inputs.has(layer))
      throw layer.error("E_CONFIG", "a call of this layer has no tensor inputs");
    const inputShapes = inputs.map(([producer, tensor]) => {
      const shapes = calls[producer].outputShapes;
      if (tensor >= shapes.length) {
        throw layer.error(
          "E_CONFIG",
          `reads output #${tensor} of layer "${calls[producer].layer.name}", which has ${shapes.length}`,
        );
      }
      return shapes[tensor];
    });
    this.checkRanks(layer, inputShapes);
    const outputShapes = layer.computeOutputShapes(inputShapes, spec.arguments);
    // Checked here, call by call, before the next layer builds weights or broadcasts constants to
    // these sizes: an input declared [None, 1e9, 3] must not reach a Normalization's build.
    for (const shape of outputShapes) checkOutputSize(layer, shape, "");
    return {
      layer,
      node,
      inputs: packedCopy(inputs),
      arguments: spec.arguments,
      tracedMask: spec.tracedMask,
      inputShapes,
      outputShapes,
    };
  }

  /**
   * Layers resolve axes and keep state for the ranks of the inputs they are built on (a shared
   * LayerNormalization built on [batch, time, features] would normalize a [batch, features] call
   * over an axis it lacks), so a shared layer's calls must all have the same input ranks, unless
   * the layer says it computes the same way at any rank (Layer.anyRank).
   * Weight shapes are checked by every layer itself (Layer.declareWeights).
   */
  private checkRanks(layer: Layer, inputShapes: Shape[]): void {
    if (layer.anyRank) return;
    const ranks = inputShapes.map((s) => s.length);
    const first = this.firstRanks.get(layer);
    if (first === undefined) {
      this.firstRanks.set(layer, ranks);
    } else if (first.length !== ranks.length || first.some((r, i) => r !== ranks[i])) {
      throw layer.error(
        "E_UNSUPPORTED",
        `is shared by calls on inputs of rank ${first.join(", ")} and of rank ${ranks.join(", ")}; ` +
          "kerasless builds a shared layer for the ranks of its first call",
      );
    }
  }

  private get wiring(): Built {
    this.build();
    return this.built!;
  }

  get calls(): readonly Call[] {
    return this.wiring.calls;
  }

  get inputIndex(): readonly number[] {
    return this.wiring.inputIndex;
  }

  get inputShapes(): Shape[] {
    return this.inputLayers.map((l) => l.batchShape);
  }

  get outputShapes(): readonly Shape[] {
    return this.wiring.outputShapes;
  }

  /** The layer and output index behind each model output. */
  get outputSources(): readonly { layer: Layer; call: number; tensor: number }[] {
    return this.wiring.outputSources;
  }

  /** Keras 3 object paths of `layers` ("layers/lstm", "layers/lstm_1", ...: snake_case class, counted per class). */
  objectPaths(): string[] {
    const used = new Map<string, number>();
    return this.layers.map((layer) => {
      const base = toSnakeCase(layer.className);
      const count = used.get(base);
      used.set(base, count === undefined ? 0 : count + 1);
      return `layers/${count === undefined ? base : `${base}_${count + 1}`}`;
    });
  }

  /** Runs the graph on inputs ordered like inputLayers (already validated by the caller). */
  run(inputs: Tensor[], inputMasks?: Masks): Tensor[] {
    return runGraph(this.wiring, inputs, inputMasks).outputs;
  }

  /** run(), also returning the masks Keras would attach to the outputs. */
  runWithMasks(inputs: Tensor[], inputMasks?: Masks): { outputs: Tensor[]; masks: (Mask | null)[] } {
    return runGraph(this.wiring, inputs, inputMasks);
  }
}

/**
 * The list in a fresh array grown by push(), which V8 keeps "packed" whichever tier runs this
 * code. Array.prototype.map's result is packed from the builtin and holey from optimized code:
 * the calls' input lists of one graph mixed both kinds (its later calls made once the wiring
 * code was optimized), and runGraph, which reads every call's list at one site, was deoptimized
 * and compiled again as it went from model to model (test/complexity/graph.test.ts).
 */
function packedCopy<T>(list: readonly T[]): T[] {
  const copy: T[] = [];
  for (let i = 0; i < list.length; i++) copy.push(list[i]);
  return copy;
}

/** Keras' naming.to_snake_case for class names (lookarounds: linear on any name). */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, "")
    .replace(/(?<=.)(?=[A-Z][a-z])/g, "_")
    .replace(/(?<=[a-z])(?=[A-Z])/g, "_")
    .toLowerCase();
}
