/**
 * Output sizes: what one sample may produce at any layer output, checked at load time on the
 * shapes the config gives and again at run time on the shapes the inputs give (a `None` size is
 * only known then: an upsampling over a `None` time axis grows with the input).
 */
import { KeraslessError } from "../errors.js";
import type { Layer, Shape } from "../layers/layer.js";
import { formatShape } from "../tensor.js";
import type { GraphView } from "./types.js";

/**
 * Most values one sample may produce at any layer output (512 MiB of float32): a config can
 * declare sizes (RepeatVector n, padding, upsampling) that no input could make fit in memory.
 */
export const MAX_VALUES_PER_SAMPLE = 2 ** 27;

/** Values per sample of a shape (batch axis excluded), with unknown sizes counted as 1. */
export function valuesPerSample(shape: Shape): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) n *= shape[i] ?? 1;
  return n;
}

/** Refuses an output shape holding more than MAX_VALUES_PER_SAMPLE values per sample. */
export function checkOutputSize(layer: Layer, shape: Shape, when: string): void {
  const perSample = valuesPerSample(shape);
  if (perSample > MAX_VALUES_PER_SAMPLE) {
    throw new KeraslessError(
      "E_LIMIT",
      `layer "${layer.name}" (${layer.className}): its output shape ${formatShape(shape)}${when} ` +
        `holds ${perSample} values per sample, more than kerasless allows (${MAX_VALUES_PER_SAMPLE})`,
      { layer: layer.name },
    );
  }
}

/**
 * The output shapes of every call for concrete model input shapes, each checked against
 * MAX_VALUES_PER_SAMPLE before anything is allocated. Layers compute them as at load time
 * (Layer.outputShapesFor); nested models recurse into their own graph.
 */
export function outputShapesFor(graph: GraphView, inputShapes: readonly Shape[]): Shape[] {
  const { calls, inputIndex } = graph;
  const shapes: Shape[][] = new Array(calls.length);
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    if (inputIndex[i] >= 0) {
      shapes[i] = [inputShapes[inputIndex[i]]];
      continue;
    }
    const inputs = call.inputs.map(([producer, tensor]) => shapes[producer][tensor]);
    let out: Shape[];
    try {
      out = call.layer.outputShapesFor(inputs, call.arguments);
    } catch (e) {
      // A shape problem that only concrete sizes show (a Reshape that does not divide, merged
      // sequences of different lengths) is a problem of these inputs, not of the file.
      if (e instanceof KeraslessError && (e.code === "E_CONFIG" || e.code === "E_UNSUPPORTED"))
        throw new KeraslessError("E_INPUT_SHAPE", `for these inputs, ${e.problem}`, { layer: e.layer, cause: e });
      throw e;
    }
    for (const shape of out) checkOutputSize(call.layer, shape, " for these inputs");
    shapes[i] = out;
  }
  return graph.outputSources.map(({ call, tensor }) => shapes[call][tensor]);
}
