/**
 * The single source of which Keras classes kerasless runs, keyed by Keras `class_name`.
 * The docs' supported-layers table is generated from this list (npm run docs:layers).
 */
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
import { poolingLayers } from "./pooling.js";
import { preprocessingLayers } from "./preprocessing.js";
import { recurrentLayers } from "./recurrent.js";
import type { LayerDefinition } from "./registry-types.js";
import { reshapingLayers } from "./reshaping.js";
import { wrapperLayers } from "./wrappers.js";

export type { LayerDefinition } from "./registry-types.js";

/** Model classes that can appear as layers (nested models); the graph builder runs them. */
export const MODEL_CLASSES = ["Sequential", "Functional", "Model"] as const;

const modelDefinitions: LayerDefinition[] = MODEL_CLASSES.map((className) => ({
  className,
  family: "models",
  summary: "top-level or nested inside another model",
  create: null,
}));

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

const byClassName = new Map(definitions.map((d) => [d.className, d]));

export function findLayerDefinition(className: string): LayerDefinition | undefined {
  return byClassName.get(className);
}

export function supportedLayers(): readonly LayerDefinition[] {
  return definitions;
}
