/**
 * Models as layers (src/graph/): several inputs and outputs, nested models, shared layers; the
 * fixture cases, against Keras.
 */
import { matchesKeras } from "../helpers.js";

matchesKeras(["multi_io", "nested_models", "nested_sequential", "shared_dense_ranks", "shared_layers"]);
