/** From file bytes to a runnable, fully validated Model (runtime-independent). */
import { KeraslessError } from "./errors.js";
import { readArtifact, type NamedBytes, type ReadOptions } from "./format/artifact.js";
import { loadWeights } from "./format/weights.js";
import { graphFromConfig } from "./graph/create.js";
import { Model } from "./model.js";

export { MAX_VALUES_PER_SAMPLE } from "./graph/limits.js";

export function loadModelFromBytes(model: NamedBytes, weights?: NamedBytes, options: ReadOptions = {}): Model {
  const artifact = readArtifact(model, weights, options);
  try {
    const graph = graphFromConfig(artifact.modelConfig, artifact.kerasMajor);
    loadWeights(graph, artifact.weights);
    return new Model(graph, artifact);
  } catch (e) {
    if (e instanceof KeraslessError) throw e.inFile(artifact.file);
    throw e;
  }
}
