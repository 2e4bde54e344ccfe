/**
 * Dense products, row-major. Each output row is accumulated in a float64 scratch row and stored
 * once, which keeps results within float32 rounding of Keras' and reads `b` contiguously.
 */

/**
 * out[m, :] = bias + a[m, :] · b for m < rows, where a is [rows, inner] at `aOffset`,
 * b is [inner, cols], bias is [cols] (or null) and out is [rows, cols] at `outOffset`.
 * `scratch` must hold at least `cols` values.
 */
export function matmulBias(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
  outOffset: number,
  rows: number,
  inner: number,
  cols: number,
  scratch: Float64Array,
): void {
  for (let m = 0; m < rows; m++) {
    if (bias === null) scratch.fill(0, 0, cols);
    else for (let n = 0; n < cols; n++) scratch[n] = bias[n];
    const aRow = aOffset + m * inner;
    for (let k = 0; k < inner; k++) {
      const av = a[aRow + k];
      const bRow = k * cols;
      for (let n = 0; n < cols; n++) scratch[n] += av * b[bRow + n];
    }
    const outRow = outOffset + m * cols;
    for (let n = 0; n < cols; n++) out[outRow + n] = scratch[n];
  }
}

/**
 * acc[0..cols) += v · b[:, colOffset .. colOffset+cols), where v is `inner` values at `vOffset`
 * and b is [inner, stride]. Used by recurrent cells for h · recurrentKernel.
 */
export function vecMatAccumulate(
  v: Float32Array | Float64Array,
  vOffset: number,
  b: Float32Array,
  stride: number,
  colOffset: number,
  inner: number,
  cols: number,
  acc: Float64Array,
  accOffset: number,
): void {
  for (let k = 0; k < inner; k++) {
    const vk = v[vOffset + k];
    const bRow = k * stride + colOffset;
    for (let n = 0; n < cols; n++) acc[accOffset + n] += vk * b[bRow + n];
  }
}
