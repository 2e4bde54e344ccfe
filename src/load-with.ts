/** From file bytes to a runnable, fully validated Model, with the layers of a given registry. */
import { KeraslessError } from "./errors.js";
import { readArtifact, type NamedBytes, type ReadOptions } from "./format/artifact.js";
import { loadWeights } from "./format/weights.js";
import { graphFromConfig } from "./graph/create.js";
import type { LayerRegistry } from "./layers/registry-types.js";
import { Model } from "./model.js";
import { onnxFrontEnd } from "./onnx/front-end.js";
import { isHdf5 } from "./io/hdf5/index.js";
import { isZip } from "./io/zip.js";

export interface LoadBytesOptions extends ReadOptions {
  /** An ONNX model's external data files, by the `location` the model gives (bytes only). */
  externalData?: Record<string, Uint8Array>;
}

/** loadModelFromBytes as an entry point provides it. */
export type LoadFromBytes = (model: NamedBytes, weights?: NamedBytes, options?: LoadBytesOptions) => Model;

/** loadModelFromBytes running the layers of `registry`. */
export function loadFromBytesWith(registry: LayerRegistry): LoadFromBytes {
  return (model, weights, options = {}) => {
    const { bytes, name } = model;
    if (onnxFrontEnd?.accepts(bytes, name) && !isZip(bytes) && !isHdf5(bytes)) {
      if (weights !== undefined)
        throw new KeraslessError("E_INPUT", "an ONNX model takes no weights file", { file: name });
      return onnxFrontEnd.load(bytes, name, options.externalData);
    }
    const artifact = readArtifact(model, weights, options);
    try {
      const graph = graphFromConfig(artifact.modelConfig, artifact.kerasMajor, registry);
      loadWeights(graph, artifact.weights);
      registry.fuse?.(graph);
      return new Model(graph, artifact);
    } catch (e) {
      if (e instanceof KeraslessError) throw e.inFile(artifact.file);
      throw e;
    }
  };
}
