/**
 * Softmax (or log-softmax) along one axis of a row-major tensor seen as [outer, n, inner]: the
 * Keras Softmax layer's (any axis) and ONNX Softmax/LogSoftmax's. The largest value of each
 * slice is subtracted first (Math.max: a NaN in the slice makes it all NaN, as in TensorFlow).
 */
export function softmaxAlong(
  src: ArrayLike<number>,
  dst: Float32Array,
  outer: number,
  n: number,
  inner: number,
  log: boolean,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let max = -Infinity;
      for (let i = 0; i < n; i++) max = Math.max(max, src[base + i * inner]);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += Math.exp(src[base + i * inner] - max);
      const logSum = Math.log(sum);
      for (let i = 0; i < n; i++) {
        const shifted = src[base + i * inner] - max;
        dst[base + i * inner] = log ? shifted - logSum : Math.exp(shifted) / sum;
      }
    }
  }
}
