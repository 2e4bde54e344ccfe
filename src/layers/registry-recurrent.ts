/**
 * The recurrent subset of the registry, for the `kerasless/recurrent` entry point: the layer
 * families of recurrent sequence models (LSTM, GRU, SimpleRNN and their CuDNN forms, Bidirectional
 * and TimeDistributed, Embedding and masking, Dense heads, activations, merges, normalization).
 * A bundle that imports this registry and not registry.ts leaves out convolutions, pooling,
 * reshaping, image preprocessing, attention and op layers (their files are never imported), to
 * stay under the 60 KB gzip budget scripts/build-browser.ts checks.
 */
import { activationLayers } from "./activation-layers.js";
import { coreLayers } from "./core.js";
import { cudnnLayers } from "./cudnn.js";
import { embeddingLayers } from "./embedding.js";
import { mergeLayers } from "./merge.js";
import { normalizationLayers } from "./normalization.js";
import { recurrentLayers } from "./recurrent.js";
import { layerRegistry, modelDefinitions, type LayerRegistry } from "./registry-types.js";
import { wrapperLayers } from "./wrappers.js";

export const recurrentRegistry: LayerRegistry = layerRegistry(
  "kerasless/recurrent",
  [
    ...modelDefinitions,
    ...coreLayers,
    ...activationLayers,
    ...embeddingLayers,
    ...mergeLayers,
    ...recurrentLayers,
    ...normalizationLayers,
    ...wrapperLayers,
    ...cudnnLayers,
  ],
  null,
);
