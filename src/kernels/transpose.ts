/** out = x transposed so that out axis i is x axis perm[i]; row-major, any rank. */
export function transpose<T extends Float32Array | Int32Array>(
  x: T,
  shape: readonly number[],
  perm: readonly number[],
  out: T,
): void {
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  let stride = 1;
  for (let a = rank - 1; a >= 0; a--) {
    inStrides[a] = stride;
    stride *= shape[a];
  }
  const outShape = perm.map((p) => shape[p]);
  const strideOfOut = perm.map((p) => inStrides[p]);
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = x[source];
    // Advance the output index like an odometer, tracking the matching source offset.
    for (let a = rank - 1; a >= 0; a--) {
      index[a]++;
      source += strideOfOut[a];
      if (index[a] < outShape[a]) break;
      source -= strideOfOut[a] * outShape[a];
      index[a] = 0;
    }
  }
}
