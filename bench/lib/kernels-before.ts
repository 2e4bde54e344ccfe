/**
 * The layer loops as they were before src/kernels/gemm and src/kernels/conv (commit 88d88a3), kept
 * only so that bench/kernels.ts can time old and new side by side in one process.
 */

/** Conv1D: per output step, a float64 accumulator over the taps (channels_last, groups). */
export function conv1dBefore(
  x: Float32Array,
  kernel: Float32Array,
  bias: Float32Array | null,
  o: { batch: number; length: number; cin: number; f: number; k: number; s: number; d: number; groups: number },
  outLength: number,
  padLeft: number,
  out: Float32Array,
): void {
  const { batch, length, cin, f, groups } = o;
  const acc = new Float64Array(f);
  const groupIn = cin / groups;
  const groupOut = f / groups;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < outLength; t++) {
      if (bias === null) acc.fill(0);
      else for (let j = 0; j < f; j++) acc[j] = bias[j];
      for (let j = 0; j < o.k; j++) {
        const pos = t * o.s - padLeft + j * o.d;
        if (pos < 0 || pos >= length) continue;
        const xRow = (b * length + pos) * cin;
        for (let g = 0; g < groups; g++) {
          for (let c = 0; c < groupIn; c++) {
            const xv = x[xRow + g * groupIn + c];
            const wRow = (j * groupIn + c) * f + g * groupOut;
            for (let q = 0; q < groupOut; q++) acc[g * groupOut + q] += xv * kernel[wRow + q];
          }
        }
      }
      const outRow = (b * outLength + t) * f;
      for (let q = 0; q < f; q++) out[outRow + q] = acc[q];
    }
  }
}

/** Conv1DTranspose: per input step and tap, a dot product per output channel. */
export function conv1dTransposeBefore(
  x: Float32Array,
  kernel: Float32Array,
  bias: Float32Array | null,
  o: { batch: number; length: number; cin: number; f: number; k: number; s: number },
  outLength: number,
  padLeft: number,
  out: Float32Array,
): void {
  const { batch, length, cin, f } = o;
  const acc = new Float64Array(outLength * f);
  for (let b = 0; b < batch; b++) {
    if (bias === null) acc.fill(0);
    else for (let p = 0; p < outLength; p++) for (let q = 0; q < f; q++) acc[p * f + q] = bias[q];
    const xBase = b * length * cin;
    for (let i = 0; i < length; i++) {
      for (let j = 0; j < o.k; j++) {
        const p = i * o.s + j - padLeft;
        if (p < 0 || p >= outLength) continue;
        const wBase = j * f * cin;
        for (let q = 0; q < f; q++) {
          let sum = 0;
          for (let c = 0; c < cin; c++) sum += x[xBase + i * cin + c] * kernel[wBase + q * cin + c];
          acc[p * f + q] += sum;
        }
      }
    }
    out.set(acc, b * outLength * f);
  }
}
