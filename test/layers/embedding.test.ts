/** Embedding (src/layers/embedding.ts), and its masks through the layers after it: the fixture cases, against Keras. */
import { matchesKeras } from "../helpers.js";

matchesKeras([
  "embedding_attention",
  "embedding_bidir",
  "embedding_lstm",
  "embedding_mask_zero",
  "embedding_mha",
  "embedding_td",
]);
