/**
 * What the parts of the graph package see of a graph, so that streaming and nested models
 * depend on this interface rather than on the Graph class (no import cycles).
 */
import type { InputLayer } from "../layers/core.js";
import type { Layer, Mask, Masks, Shape } from "../layers/layer.js";
import type { Tensor } from "../tensor.js";
import type { Call } from "./call.js";

export interface GraphView {
  readonly name: string;
  readonly className: "Sequential" | "Functional";
  /** The layers in Keras' `model.layers` order (a Sequential's omits its InputLayer). */
  readonly layers: readonly Layer[];
  readonly inputLayers: readonly InputLayer[];
  /** Calls in an order in which each call's inputs are ready. */
  readonly calls: readonly Call[];
  /** Per call: its index among inputLayers if it is a model input, else -1. */
  readonly inputIndex: readonly number[];
  readonly inputShapes: Shape[];
  readonly outputShapes: readonly Shape[];
  readonly outputSources: readonly { layer: Layer; call: number; tensor: number }[];
  /** Wires the calls and infers every shape (idempotent). */
  build(): void;
  objectPaths(): string[];
  runWithMasks(inputs: Tensor[], inputMasks?: Masks): { outputs: Tensor[]; masks: (Mask | null)[] };
}
