/** ReLU, LeakyReLU, ELU, PReLU, Softmax (src/layers/activation-layers.ts): the fixture cases, against Keras. */
import { matchesKeras } from "../helpers.js";

matchesKeras(["activation_layers", "robust_nonfinite_activation_layers"]);
