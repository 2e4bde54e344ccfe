/**
 * kerasless/recurrent: the core entry point with only the layer families of sequence models
 * (src/layers/registry-recurrent.ts), for browser bundles that need no convolutions. A model
 * using another layer is refused at load by name, as an unsupported layer is.
 * @module kerasless/recurrent
 */
import { fetchBytes, makeLoadModel } from "./api.js";
import type { NamedBytes } from "./format/artifact.js";
import type { LayerDefinition } from "./layers/registry-types.js";
import { recurrentRegistry } from "./layers/registry-recurrent.js";
import { loadFromBytesWith, type LoadBytesOptions } from "./load-with.js";
import type { Model } from "./model.js";

export * from "./exports-common.js";

const load = loadFromBytesWith(recurrentRegistry);

/** Loads a model from bytes (synchronous), with the layers of this entry point. */
export function loadModelFromBytes(model: NamedBytes, weights?: NamedBytes, options: LoadBytesOptions = {}): Model {
  return load(model, weights, options);
}

/** The layer classes this entry point runs. */
export function supportedLayers(): readonly LayerDefinition[] {
  return recurrentRegistry.layers;
}

/** Loads a `.keras`, legacy `.h5`, or `model.json` (+ `options.weights`) model whose layers this entry runs. */
export const loadModel = makeLoadModel(fetchBytes, loadModelFromBytes);
