/** The activation functions ONNX recurrent ops name, as kerasless activations. */
import { elementwise, getActivation, type Activation } from "../../kernels/activations.js";

export type CellActivation = Activation;

/**
 * ONNX `clip`: the activation of its argument bounded to [-clip, clip] (the usual function when
 * clip is infinite). Its own name keeps the cells off the written-out and fused gate paths.
 */
export function clippedActivation(activation: Activation, clip: number): Activation {
  if (clip === Infinity) return activation;
  return {
    name: `${activation.name} of its input clipped to ${clip}`,
    elementwise: true,
    outputDim: (d) => d,
    apply(src, srcOffset, dst, dstOffset, rows, lastDim) {
      const n = rows * lastDim;
      for (let i = 0; i < n; i++) {
        const x = src[srcOffset + i];
        dst[dstOffset + i] = x < -clip ? -clip : x > clip ? clip : x;
      }
      activation.apply(dst, dstOffset, dst, dstOffset, rows, lastDim);
    },
  };
}

/**
 * The activation `name` (case-insensitive, as onnxruntime reads it) with its alpha/beta taken
 * from the node's lists in order, only by the functions that have them; null when unknown.
 * The usual ones are Keras' own objects, so the cells' written-out and WebAssembly paths apply.
 */
export function onnxActivation(
  name: string,
  nextAlpha: () => number | undefined,
  nextBeta: () => number | undefined,
): Activation | null {
  const take = (next: () => number | undefined, fallback: number): number => next() ?? fallback;
  const lower = name.toLowerCase();
  switch (lower) {
    case "sigmoid":
    case "tanh":
    case "relu":
    case "softsign":
    case "softplus":
      return getActivation(lower, 2)!;
    case "hardsigmoid": {
      const alpha = take(nextAlpha, 0.2);
      const beta = take(nextBeta, 0.5);
      if (alpha === Math.fround(0.2) && beta === 0.5) return getActivation("hard_sigmoid", 2)!;
      return elementwise(`HardSigmoid(${alpha}, ${beta})`, (x) => Math.max(0, Math.min(1, alpha * x + beta)));
    }
    case "leakyrelu": {
      const alpha = take(nextAlpha, 0.01);
      return elementwise(`LeakyRelu(${alpha})`, (x) => (x < 0 ? alpha * x : x));
    }
    case "thresholdedrelu": {
      const alpha = take(nextAlpha, 1);
      return elementwise(`ThresholdedRelu(${alpha})`, (x) => (x > alpha ? x : 0));
    }
    case "elu": {
      const alpha = take(nextAlpha, 1);
      return elementwise(`Elu(${alpha})`, (x) => (x < 0 ? alpha * Math.expm1(x) : x));
    }
    case "scaledtanh": {
      const alpha = take(nextAlpha, 1);
      const beta = take(nextBeta, 1);
      return elementwise(`ScaledTanh(${alpha}, ${beta})`, (x) => alpha * Math.tanh(beta * x));
    }
    case "affine": {
      const alpha = take(nextAlpha, 1);
      const beta = take(nextBeta, 0);
      return elementwise(`Affine(${alpha}, ${beta})`, (x) => alpha * x + beta);
    }
    default:
      return null;
  }
}
