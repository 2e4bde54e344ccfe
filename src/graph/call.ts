/** One call of a layer in a graph, and how a call's config becomes its inputs and arguments. */
import { NO_ARGUMENTS, type CallArguments, type Layer, type LayerContext, type Shape } from "../layers/layer.js";
import { isMaskTrace, type LayerEntry, type NodeSpec, type TensorRef } from "./config.js";

/** One call of a layer in the graph. */
export interface Call {
  readonly layer: Layer;
  /** Index of this call among the layer's calls in this graph. */
  readonly node: number;
  /** For each input: [index of the producing call, output index]. */
  readonly inputs: ReadonlyArray<readonly [number, number]>;
  /** The call's keyword arguments (tensor ones index into `inputs`). */
  readonly arguments: CallArguments;
  /** Keras 3 recorded the mask this call gets when the model was built (see runGraph). */
  readonly tracedMask: boolean;
  readonly inputShapes: Shape[];
  readonly outputShapes: Shape[];
}

/** A call as the config gives it: its input references and arguments. */
export interface CallSpec {
  readonly inputs: TensorRef[];
  readonly arguments: CallArguments;
  readonly tracedMask: boolean;
}

export const NO_CALL: CallSpec = { inputs: [], arguments: NO_ARGUMENTS, tracedMask: false };

/**
 * A call's inputs and arguments: keyword tensors the layer takes follow the node's inputs; Keras
 * 3's traced `mask=` arguments are dropped (the graph propagates masks); other tensor
 * arguments are reported.
 */
export function callSpec(node: NodeSpec, layer: Layer, entry: LayerEntry, context: LayerContext): CallSpec {
  const inputs = node.inputs.slice();
  const tensors: Record<string, (number | null)[]> = {};
  let tracedMask = Object.prototype.hasOwnProperty.call(node.keywords.constants, "mask");
  for (const [name, refs] of Object.entries(node.keywords.tensors)) {
    if (layer.tensorArguments.includes(name)) {
      tensors[name] = refs.map((ref) => (ref === null ? null : inputs.push(ref) - 1));
    } else if (name === "mask" && isMaskTrace(refs)) {
      tracedMask = true;
    } else {
      context.report({
        layer: entry.name,
        className: entry.className,
        problem: `the tensor argument "${name}" is not supported yet`,
      });
    }
  }
  return {
    inputs,
    arguments: { positional: node.keywords.positional, tensors, constants: node.keywords.constants, op: node.op },
    tracedMask,
  };
}
