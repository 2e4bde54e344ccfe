/** Merge layers (src/layers/merge.ts): the fixture cases, against Keras. */
import { matchesKeras } from "../helpers.js";

matchesKeras(["masking_merge", "merge_broadcast", "merge_layers"]);
