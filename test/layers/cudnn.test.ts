/** CuDNNLSTM / CuDNNGRU from Keras 2 files (src/layers/cudnn.ts): the fixture cases, against Keras. */
import { matchesKeras } from "../helpers.js";

matchesKeras(["cudnn_bidirectional", "cudnn_options", "cudnn_stack"]);
