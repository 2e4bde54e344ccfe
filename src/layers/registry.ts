/**
 * The single source of which Keras classes kerasless runs, keyed by Keras `class_name`.
 * The docs' supported-layers table is generated from this list (npm run docs:layers).
 */
import { fuseEpilogues } from "../graph/fuse.js";
import { activationLayers } from "./activation-layers.js";
import { attentionLayers } from "./attention.js";
import { convolutionalLayers } from "./convolutional.js";
import { convolutionalDepthwiseLayers } from "./convolutional-depthwise.js";
import { convolutionalNdLayers } from "./convolutional-nd.js";
import { convolutionalRecurrentLayers } from "./convolutional-recurrent.js";
import { coreLayers } from "./core.js";
import { cudnnLayers } from "./cudnn.js";
import { embeddingLayers } from "./embedding.js";
import { mergeLayers } from "./merge.js";
import { normalizationLayers } from "./normalization.js";
import { opLayers } from "./op-layers.js";
import { poolingLayers } from "./pooling.js";
import { preprocessingLayers } from "./preprocessing.js";
import { recurrentLayers } from "./recurrent.js";
import { layerRegistry, modelDefinitions, type LayerDefinition, type LayerRegistry } from "./registry-types.js";
import { reshapingLayers } from "./reshaping.js";
import { wrapperLayers } from "./wrappers.js";

export { MODEL_CLASSES, type LayerDefinition, type LayerRegistry } from "./registry-types.js";

const definitions: readonly LayerDefinition[] = [
  ...modelDefinitions,
  ...coreLayers,
  ...activationLayers,
  ...reshapingLayers,
  ...embeddingLayers,
  ...mergeLayers,
  ...recurrentLayers,
  ...convolutionalLayers,
  ...convolutionalNdLayers,
  ...convolutionalDepthwiseLayers,
  ...convolutionalRecurrentLayers,
  ...poolingLayers,
  ...preprocessingLayers,
  ...normalizationLayers,
  ...wrapperLayers,
  ...cudnnLayers,
  ...attentionLayers,
];

/** Every layer family and the op layers: what the main entry points run. */
export const fullRegistry: LayerRegistry = layerRegistry("kerasless", definitions, opLayers, fuseEpilogues);

export function findLayerDefinition(className: string): LayerDefinition | undefined {
  return fullRegistry.find(className);
}

export function supportedLayers(): readonly LayerDefinition[] {
  return definitions;
}
