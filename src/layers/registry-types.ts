import type { ConfigReader } from "./config.js";
import type { Layer } from "./layer.js";
import type { GraphView } from "../graph/types.js";

/** One entry of the layer registry: how a Keras `class_name` becomes a runnable layer. */
export interface LayerDefinition {
  readonly className: string;
  /** Which source file / docs section the layer belongs to. */
  readonly family: string;
  /** What is supported, for the generated docs table. */
  readonly summary: string;
  /** null for classes the graph builder handles itself (InputLayer, models). */
  readonly create: ((reader: ConfigReader) => Layer) | null;
}

/**
 * The registry line of one class of `family`:
 * `const layer = family("merge"); layer("Add", "inputs of equal shape", (r) => ...)`.
 */
export function family(
  name: string,
): (className: string, summary: string, create: LayerDefinition["create"]) => LayerDefinition {
  return (className, summary, create) => ({ className, family: name, summary, create });
}

/** Model classes that can appear as layers (nested models); the graph builder runs them. */
export const MODEL_CLASSES = ["Sequential", "Functional", "Model"] as const;

/**
 * The classes (and op layers) one entry point runs. The full registry (registry.ts) holds every
 * family; registry-recurrent.ts a subset, so that a bundle importing it leaves the other
 * families' code out. The graph builder takes the registry it is given, never imports one.
 */
export interface LayerRegistry {
  /** The entry point that uses it ("kerasless", "kerasless/recurrent"), for messages. */
  readonly entry: string;
  /** Every class, models first. */
  readonly layers: readonly LayerDefinition[];
  find(className: string): LayerDefinition | undefined;
  /** Creates op layers (TFOpLambda, Keras 3 op nodes); null: this registry leaves them out. */
  readonly opLayer: OpLayerFactory | null;
  /**
   * Fuses layers into the kernels of the ones before them once the weights are loaded
   * (src/graph/fuse.ts); null: this registry's layers have nothing to fuse (no convolutions).
   */
  readonly fuse: ((graph: GraphView) => void) | null;
}

/**
 * The layer running op `op` (a TFOpLambda `function` without "tf.", or a Keras 3 op class) as
 * layer `name` of class `className`; undefined when kerasless does not run that op.
 */
export type OpLayerFactory = (
  format: "tf" | "keras",
  op: string,
  name: string,
  className: string,
  label: string,
) => Layer | undefined;

/** The model classes' registry lines (every registry starts with them). */
export const modelDefinitions: readonly LayerDefinition[] = MODEL_CLASSES.map((className) => ({
  className,
  family: "models",
  summary: "top-level or nested inside another model",
  create: null,
}));

/** A registry of `layers` (models first) for the entry point named `entry`. */
export function layerRegistry(
  entry: string,
  layers: readonly LayerDefinition[],
  opLayer: OpLayerFactory | null,
  fuse: ((graph: GraphView) => void) | null = null,
): LayerRegistry {
  const byClassName = new Map(layers.map((d) => [d.className, d]));
  return { entry, layers, find: (className) => byClassName.get(className), opLayer, fuse };
}
