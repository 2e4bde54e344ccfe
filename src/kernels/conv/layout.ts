/**
 * channels_first convolutions: [batch, channels, ...spatial] in and out, around a channels_last
 * Convolution. The input is transposed into a workspace, the convolution runs, and its output
 * is transposed back; the workspaces grow to the largest call seen and are then reused.
 */
import { positions, type ConvCall } from "./geometry.js";
import type { Convolution } from "./index.js";

/** out[b, j, i] = x[b, i, j] for x of shape [batch, rows, cols]. */
export function transposeBatched(x: Float32Array, batch: number, rows: number, cols: number, out: Float32Array): void {
  for (let b = 0; b < batch; b++) {
    const base = b * rows * cols;
    for (let i = 0; i < rows; i++) {
      const from = base + i * cols;
      for (let j = 0; j < cols; j++) out[base + j * rows + i] = x[from + j];
    }
  }
}

/** `conv` taking and giving channels_first tensors. */
export function channelsFirst(conv: Convolution): Convolution {
  let input = new Float32Array(0);
  let output = new Float32Array(0);
  const { inChannels: C, outChannels: F } = conv.shape;
  const held = conv.held;
  return {
    backend: conv.backend,
    reason: conv.reason,
    shape: conv.shape,
    ...(held !== undefined ? { held } : {}),
    run: (x: Float32Array, call: ConvCall, y: Float32Array) => {
      const inSize = positions(call.input);
      const outSize = positions(call.output);
      if (input.length < call.batch * inSize * C) input = new Float32Array(call.batch * inSize * C);
      if (output.length < call.batch * outSize * F) output = new Float32Array(call.batch * outSize * F);
      transposeBatched(x, call.batch, C, inSize, input);
      conv.run(input, call, output);
      transposeBatched(output, call.batch, outSize, F, y);
    },
  };
}
