/** Conv2D, Conv3D, Conv2DTranspose, Conv3DTranspose: the fixture cases against Keras, and load-time checks. */
import { test } from "node:test";
import { matchesKeras } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

test("Conv2D options that Keras and TensorFlow refuse are named in the one load error", () => {
  rejects(
    () =>
      loadEdited("conv2d_variants", (layers) => {
        layerNamed(layers, "valid").config.padding = "causal";
        layerNamed(layers, "same_strides").config.dilation_rate = [2, 2];
      }),
    "E_UNSUPPORTED",
    new RegExp(
      String.raw`layer "valid" \(Conv2D\): padding="causal" is not supported[\s\S]*` +
        String.raw`layer "same_strides" \(Conv2D\): strides > 1 together with dilation_rate > 1`,
    ),
  );
});

test("Conv2D/Conv3D shapes and sizes are checked at load time", () => {
  rejects(
    () => loadEdited("conv2d_variants", (layers) => void (layerNamed(layers, "valid").config.kernel_size = [3, 3, 3])),
    "E_CONFIG",
    /layer "valid" \(Conv2D\): config "kernel_size" should be 2 integer\(s\) >= 1, got \[3,3,3\]/,
  );
  rejects(
    () => loadEdited("conv2d_variants", (layers) => void (layerNamed(layers, "groups_3").config.groups = 2)),
    "E_CONFIG",
    /filters=6 is not divisible by groups=2|3 input channels are not divisible by groups=2/,
  );
  rejects(
    () => loadEdited("conv3d_variants", (layers) => void (layerNamed(layers, "valid").config.kernel_size = [5, 2, 2])),
    "E_INPUT_SHAPE",
    /layer "valid" \(Conv3D\): an input of 4 on spatial axis 0 is smaller than the kernel's span/,
  );
});

test("a transposed convolution's output that does not convolve back to its input is refused at load time", () => {
  rejects(
    () =>
      loadEdited(
        "conv_transpose_2d3d",
        (layers) => void (layerNamed(layers, "t2_output_padding").config.output_padding = [2, 1]),
      ),
    "E_CONFIG",
    /output_padding=2 must be smaller than strides=2/,
  );
  rejects(
    () =>
      loadEdited(
        "conv_transpose_2d3d",
        (layers) => void (layerNamed(layers, "t2_same_strides").config.output_padding = [0, 0]),
      ),
    "E_INPUT_SHAPE",
    /"t2_same_strides" \(Conv2DTranspose\): an output of 2 on spatial axis 1 does not convolve back to the input's 3/,
  );
});

// The fixture cases of this family, against Keras.
matchesKeras([
  "conv2d_variants",
  "conv3d_variants",
  "conv_transpose_2d3d",
  "conv_transpose_dilated",
  "conv_channels_first",
  "small_image_cnn",
]);
