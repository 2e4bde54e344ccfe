/** LSTM, GRU, SimpleRNN (src/layers/recurrent.ts): the fixture cases, against Keras. */
import { matchesKeras } from "../helpers.js";

matchesKeras([
  "gru_initial_state",
  "gru_options",
  "gru_reset_after",
  "gru_reset_before",
  "keras2_hard_sigmoid_gru",
  "lstm_activations",
  "lstm_autoencoder",
  "lstm_default",
  "lstm_dropout",
  "lstm_go_backwards",
  "lstm_initial_state",
  "lstm_no_bias",
  "lstm_return_sequences",
  "lstm_return_state",
  "masking_return_state",
  "robust_nonfinite_gru_simplernn",
  "robust_nonfinite_lstm",
  "seq2seq_lstm",
  "simplernn_default",
  "simplernn_initial_state",
  "simplernn_options",
  "stateful_lstm",
  "stateful_sequential",
]);
