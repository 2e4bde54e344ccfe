/**
 * TensorFlow's ScaleAndTranslate resampling, the op tf.image.resize runs for "lanczos3",
 * "lanczos5", "gaussian" and "mitchellcubic", and for "bilinear" (triangle kernel) and "bicubic"
 * (Keys cubic) with antialias=true: per axis, every output pixel is a normalized weighted sum of
 * the input pixels under the kernel (widened by the downscaling factor when antialiasing), rows
 * first, then columns, in float32 as its CPU kernel computes it.
 */
import { Tensor } from "../tensor.js";

const f32 = Math.fround;
const FLT_MIN = 1.1754943508222875e-38;

/** A sampling kernel: its radius and its value at a distance, in float32. */
interface SamplingKernel {
  readonly radius: number;
  value(x: number): number;
}

function lanczos(radius: number): SamplingKernel {
  const pi = f32(3.14159265359);
  return {
    radius,
    value: (v) => {
      const x = Math.abs(v);
      if (x > radius) return 0;
      if (x <= 1e-3) return 1;
      const a = f32(Math.sin(f32(pi * x)));
      const b = f32(Math.sin(f32(f32(pi * x) / radius)));
      return f32(f32(f32(radius * a) * b) / f32(f32(f32(pi * pi) * x) * x));
    },
  };
}

export const SAMPLING_KERNELS: Readonly<Record<string, SamplingKernel>> = {
  triangle: { radius: 1, value: (v) => (Math.abs(v) < 1 ? f32(1 - Math.abs(v)) : 0) },
  keyscubic: {
    radius: 2,
    value: (v) => {
      const x = Math.abs(v);
      if (x >= 2) return 0;
      if (x >= 1) return f32(f32(f32(f32(f32(f32(-0.5 * x) + 2.5) * x) - 4) * x) + 2);
      return f32(f32(f32(f32(f32(1.5 * x) - 2.5) * x) * x) + 1);
    },
  },
  mitchellcubic: {
    radius: 2,
    value: (v) => {
      const x = Math.abs(v);
      if (x >= 2) return 0;
      if (x >= 1) return f32(f32(f32(f32(f32(f32(f32(-7 / 18) * x) + 2) * x) - f32(10 / 3)) * x) + f32(16 / 9));
      return f32(f32(f32(f32(f32(f32(7 / 6) * x) - 2) * x) * x) + f32(8 / 9));
    },
  },
  lanczos3: lanczos(3),
  lanczos5: lanczos(5),
  // sigma = radius / 3 = 0.5; the exponent is computed in double (TF writes 2.0 * sigma * sigma).
  gaussian: {
    radius: 1.5,
    value: (v) => {
      const x = Math.abs(v);
      return x >= 1.5 ? 0 : f32(Math.exp(f32(-x * x) / (2 * 0.5 * 0.5)));
    },
  },
};

/** Per output pixel along one axis: the first input pixel and `size` weights (zeros past the span). */
interface Spans {
  readonly size: number;
  readonly starts: Int32Array;
  readonly weights: Float32Array;
}

function computeSpans(kernel: SamplingKernel, outSize: number, inSize: number, antialias: boolean): Spans {
  const scale = f32(outSize / inSize);
  const invScale = f32(1 / scale);
  // Downscaling widens the kernel (a low-pass filter); upscaling only interpolates.
  const kernelScale = antialias ? Math.max(invScale, 1) : 1;
  const reach = f32(kernel.radius * kernelScale);
  const size = Math.min(2 * Math.ceil(reach) + 1, inSize);
  const starts = new Int32Array(outSize);
  const weights = new Float32Array(size * outSize);
  const inverseKernelScale = f32(1 / kernelScale);
  const taps: number[] = [];
  for (let x = 0; x < outSize; x++) {
    const sample = f32(f32(x + 0.5) * invScale);
    // No sample outside the source image: an empty span.
    if (sample < 0 || sample > inSize) continue;
    const first = Math.ceil(f32(f32(sample - reach) - 0.5));
    const last = Math.floor(f32(f32(sample + reach) - 0.5));
    const start = Math.min(Math.max(first, 0), inSize - 1);
    const end = Math.min(Math.max(last, 0), inSize - 1) + 1;
    let total = 0;
    taps.length = 0;
    for (let source = start; source < end; source++) {
      const weight = kernel.value(f32(f32(f32(source + 0.5) - sample) * inverseKernelScale));
      total = f32(total + weight);
      taps.push(weight);
    }
    if (Math.abs(total) >= 1000 * FLT_MIN) {
      const inverse = f32(1 / total);
      taps.forEach((w, j) => (weights[x * size + j] = f32(w * inverse)));
    }
    starts[x] = start;
  }
  return { size, starts, weights };
}

/**
 * out[o, y, x, c] over an [outer, h, w, inner] view (channels last: outer = batch, inner =
 * channels; channels first: outer = batch * channels, inner = 1).
 */
export function scaleAndTranslate(
  x: Tensor,
  channelsFirst: boolean,
  outH: number,
  outW: number,
  kernel: SamplingKernel,
  antialias: boolean,
): Tensor {
  const [batch, d1, d2, d3] = x.shape;
  const [h, w, c] = channelsFirst ? [d2, d3, d1] : [d1, d2, d3];
  const [outer, inner] = channelsFirst ? [batch * c, 1] : [batch, c];
  const rows = computeSpans(kernel, outH, h, antialias);
  const cols = computeSpans(kernel, outW, w, antialias);
  const data = x.data;
  const rowLength = w * inner;
  const middle = new Float32Array(outH * rowLength);
  const out = new Float32Array(outer * outH * outW * inner);
  for (let o = 0; o < outer; o++) {
    const image = o * h * rowLength;
    middle.fill(0);
    for (let y = 0; y < outH; y++) {
      const start = rows.starts[y];
      const span = Math.min(start + rows.size, h) - start;
      for (let j = 0; j < span; j++) {
        const weight = rows.weights[y * rows.size + j];
        const from = image + (start + j) * rowLength;
        for (let k = 0; k < rowLength; k++)
          middle[y * rowLength + k] = f32(middle[y * rowLength + k] + f32(weight * data[from + k]));
      }
    }
    for (let y = 0; y < outH; y++) {
      for (let ox = 0; ox < outW; ox++) {
        const start = cols.starts[ox];
        const span = Math.min(start + cols.size, w) - start;
        const dst = ((o * outH + y) * outW + ox) * inner;
        for (let j = 0; j < span; j++) {
          const weight = cols.weights[ox * cols.size + j];
          const from = y * rowLength + (start + j) * inner;
          for (let i = 0; i < inner; i++) out[dst + i] = f32(out[dst + i] + f32(weight * middle[from + i]));
        }
      }
    }
  }
  return new Tensor(channelsFirst ? [batch, c, outH, outW] : [batch, outH, outW, c], out);
}
