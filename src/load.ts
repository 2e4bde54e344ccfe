/** From file bytes to a runnable, fully validated Model (runtime-independent), with every layer family. */
import type { NamedBytes } from "./format/artifact.js";
import { fullRegistry } from "./layers/registry.js";
import { loadFromBytesWith, type LoadBytesOptions } from "./load-with.js";
import type { Model } from "./model.js";

export { MAX_VALUES_PER_SAMPLE } from "./graph/limits.js";
export type { LoadBytesOptions } from "./load-with.js";

const load = loadFromBytesWith(fullRegistry);

export function loadModelFromBytes(model: NamedBytes, weights?: NamedBytes, options: LoadBytesOptions = {}): Model {
  return load(model, weights, options);
}
