import type { ConfigReader } from "./config.js";
import type { Layer } from "./layer.js";

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
