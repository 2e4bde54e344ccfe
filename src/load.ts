/** From file bytes to a runnable, fully validated Model (runtime-independent). */
import { KeraslessError } from "./errors.js";
import { readArtifact, type NamedBytes, type ReadOptions } from "./format/artifact.js";
import { loadWeights } from "./format/weights.js";
import { parseModelConfig } from "./graph/config.js";
import { Graph, ModelLayer } from "./graph/graph.js";
import type { Problem } from "./layers/layer.js";
import { Model } from "./model.js";
import { onnxFrontEnd } from "./onnx/front-end.js";
import { isHdf5 } from "./io/hdf5.js";
import { isZip } from "./io/zip.js";

export interface LoadBytesOptions extends ReadOptions {
  /** An ONNX model's external data files, by the `location` the model gives (bytes only). */
  externalData?: Record<string, Uint8Array>;
}

export function loadModelFromBytes(model: NamedBytes, weights?: NamedBytes, options: LoadBytesOptions = {}): Model {
  const { bytes, name } = model;
  if (onnxFrontEnd?.accepts(bytes, name) && !isZip(bytes) && !isHdf5(bytes)) {
    if (weights !== undefined)
      throw new KeraslessError("E_INPUT", "an ONNX model takes no weights file", { file: name });
    return onnxFrontEnd.load(bytes, name, options.externalData);
  }
  const artifact = readArtifact(model, weights, options);
  try {
    const problems: Problem[] = [];
    const spec = parseModelConfig(artifact.modelConfig);
    const graph = new Graph(spec, { kerasMajor: artifact.kerasMajor, report: (p) => problems.push(p) });
    if (problems.length > 0) throw unsupportedError(problems);
    graph.build();
    checkOutputSizes(graph);
    loadWeights(graph, artifact.weights);
    return new Model(graph, artifact);
  } catch (e) {
    if (e instanceof KeraslessError) throw e.inFile(artifact.file);
    throw e;
  }
}

/**
 * Most values one sample may produce at any layer output (512 MiB of float32): a config can
 * declare sizes (RepeatVector n, padding, upsampling) that no input could make fit in memory.
 */
export const MAX_VALUES_PER_SAMPLE = 2 ** 27;

function checkOutputSizes(graph: Graph): void {
  for (const call of graph.calls) {
    for (const shape of call.outputShapes) {
      const perSample = shape.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);
      if (perSample > MAX_VALUES_PER_SAMPLE) {
        const problem = `its output shape [${shape.map((d) => d ?? "None").join(", ")}] holds ${perSample} values per sample, more than kerasless allows (${MAX_VALUES_PER_SAMPLE})`;
        throw new KeraslessError("E_LIMIT", `layer "${call.layer.name}" (${call.layer.className}): ${problem}`, {
          layer: call.layer.name,
        });
      }
    }
    if (call.layer instanceof ModelLayer) checkOutputSizes(call.layer.graph);
  }
}

/** One error listing every unsupported part of the model. */
function unsupportedError(problems: Problem[]): KeraslessError {
  const lines = problems.map((p) => `layer "${p.layer}" (${p.className}): ${p.problem}`);
  const head =
    problems.length === 1
      ? "the model uses 1 unsupported feature"
      : `the model uses ${problems.length} unsupported features`;
  return new KeraslessError("E_UNSUPPORTED", `${head}: ${lines.join("; ")}`, { layer: problems[0].layer });
}
