/** Dense, Activation, Masking and the inference identities (src/layers/core.ts): the fixture cases, against Keras. */
import { matchesKeras } from "../helpers.js";

matchesKeras([
  "dense_activations",
  "dropout_family",
  "masking_lstm",
  "robust_nonfinite_activations",
  "robust_nonfinite_activations_keras3",
  "robust_nonfinite_dense",
]);
