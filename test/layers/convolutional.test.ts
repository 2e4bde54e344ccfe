/** Convolution layers: the fixture cases against Keras, and Conv1DTranspose config checks. */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

test("Conv1DTranspose reports dilation and channels_first, which TensorFlow's CPU kernels refuse", () => {
  rejects(
    () =>
      loadEdited("conv1d_transpose_variants", (layers) => {
        layerNamed(layers, "valid").config.dilation_rate = [2];
        layerNamed(layers, "same_s2").config.data_format = "channels_first";
      }),
    "E_UNSUPPORTED",
    new RegExp(
      /layer "valid" \(Conv1DTranspose\): dilation_rate=2 is not supported[\s\S]*/.source +
        /layer "same_s2" \(Conv1DTranspose\): data_format="channels_first"/.source,
    ),
  );
});

test("a Conv1DTranspose output that does not convolve back to its input length is refused at load time", () => {
  // same padding, kernel 2, stride 1, output_padding 0: 5 output steps for 6 input steps (TensorFlow aborts).
  rejects(
    () =>
      loadEdited(
        "conv1d_transpose_variants",
        (layers) => void (layerNamed(layers, "same_even_kernel").config.output_padding = [0]),
      ),
    "E_INPUT_SHAPE",
    /layer "same_even_kernel" \(Conv1DTranspose\): an output of 5 steps does not convolve back to the 6 input steps/,
  );
  rejects(
    () =>
      loadEdited(
        "conv1d_transpose_variants",
        (layers) => void (layerNamed(layers, "same_s2").config.output_padding = [2]),
      ),
    "E_CONFIG",
    /output_padding=2 must be smaller than strides=2/,
  );
});

// The fixture cases of this family, against Keras.
matchesKeras(["conv1d_transpose_variants", "conv_lstm_forecaster", "conv_transpose_autoencoder"]);
