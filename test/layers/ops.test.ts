/** Op layers (src/layers/ops/): tf.keras TFOpLambda / SlicingOpLambda and Keras 3 op nodes against Keras. */
import { matchesKeras } from "../helpers.js";

// The fixture cases of this family, against Keras (more checks below).
matchesKeras(["op_elementwise_math", "op_lstm_head", "op_reductions_shapes", "op_slicing_arithmetic"]);
