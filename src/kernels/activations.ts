/**
 * Keras' built-in activations, by the name a config uses.
 *
 * Values are computed in float64 and stored to float32. One definition depends on the Keras
 * version that wrote the file: `hard_sigmoid` is clip(0.2x + 0.5) in Keras 2 / tf.keras and
 * clip(x/6 + 0.5) in Keras 3 (and Keras 3's hard_silu is built on the latter).
 */

export type KerasMajor = 2 | 3;
export type Buffer = Float32Array | Float64Array;

export interface Activation {
  readonly name: string;
  /** True when each output depends on its own input only (usable inside recurrent cells). */
  readonly elementwise: boolean;
  /** The function of one value, for elementwise activations (references and tests read it). */
  readonly scalar?: (x: number) => number;
  /** Size of the last axis after the activation (only `glu` halves it). */
  outputDim(lastDim: number): number;
  /**
   * Applies the activation to `rows` rows of `lastDim` values at `src[srcOffset..]`, writing
   * `rows * outputDim(lastDim)` values to `dst[dstOffset..]`. `src` and `dst` may be the same
   * buffer at the same offset when outputDim(lastDim) === lastDim.
   */
  apply(src: Buffer, srcOffset: number, dst: Buffer, dstOffset: number, rows: number, lastDim: number): void;
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/**
 * The logistic function, the one definition every path shares (activation layers, the recurrent
 * cells' TypeScript passes and their references). In float64 the plain form needs no guard: for
 * very negative x, exp(-x) is Infinity and the result 0, as the float32 result would be.
 */
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const clip01 = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x);
const hardSigmoidKeras2 = (x: number): number => clip01(0.2 * x + 0.5);
const hardSigmoidKeras3 = (x: number): number => clip01(x / 6 + 0.5);

/** erf to double precision: Maclaurin series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6.5) return x > 0 ? 1 : -1;
  // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated bottom-up.
  let fraction = ax;
  for (let k = 120; k >= 1; k--) fraction = ax + k / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / fraction;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/** An elementwise activation: `scalar`, its function of one value, and `apply`, its loop over rows. */
function elementwiseActivation(name: string, scalar: (x: number) => number, apply: Activation["apply"]): Activation {
  return { name, elementwise: true, scalar, outputDim: (d) => d, apply };
}

/** The activation applying `f` to each value (also how ONNX ops name their parametrised ones). */
export function elementwise(name: string, f: (x: number) => number): Activation {
  return elementwiseActivation(name, f, (src, srcOffset, dst, dstOffset, rows, lastDim) => {
    const n = rows * lastDim;
    for (let i = 0; i < n; i++) dst[dstOffset + i] = f(src[srcOffset + i]);
  });
}

// The activations recurrent cells and dense heads use most get their loops written out: a
// shared loop calling a per-activation function cannot inline it, which costs time and boxes
// every result (an allocation per value, which streaming must not do).
const linear = elementwiseActivation(
  "linear",
  (x) => x,
  (src, srcOffset, dst, dstOffset, rows, lastDim) => {
    if (src === dst && srcOffset === dstOffset) return;
    const n = rows * lastDim;
    for (let i = 0; i < n; i++) dst[dstOffset + i] = src[srcOffset + i];
  },
);

const tanh = elementwiseActivation("tanh", Math.tanh, (src, srcOffset, dst, dstOffset, rows, lastDim) => {
  const n = rows * lastDim;
  for (let i = 0; i < n; i++) dst[dstOffset + i] = Math.tanh(src[srcOffset + i]);
});

const sigmoidActivation = elementwiseActivation("sigmoid", sigmoid, (src, srcOffset, dst, dstOffset, rows, lastDim) => {
  const n = rows * lastDim;
  for (let i = 0; i < n; i++) dst[dstOffset + i] = sigmoid(src[srcOffset + i]);
});

const relu = elementwiseActivation(
  "relu",
  (x) => (x <= 0 ? 0 : x),
  (src, srcOffset, dst, dstOffset, rows, lastDim) => {
    const n = rows * lastDim;
    for (let i = 0; i < n; i++) {
      const x = src[srcOffset + i];
      dst[dstOffset + i] = x <= 0 ? 0 : x; // NaN stays NaN, as in Keras
    }
  },
);

/** An activation computed over each row of the last axis (softmax and its relatives). */
function rowwise(name: string, f: (src: Buffer, s: number, dst: Buffer, d: number, n: number) => void): Activation {
  return {
    name,
    elementwise: false,
    outputDim: (d) => d,
    apply(src, srcOffset, dst, dstOffset, rows, lastDim) {
      for (let r = 0; r < rows; r++) f(src, srcOffset + r * lastDim, dst, dstOffset + r * lastDim, lastDim);
    },
  };
}

function rowMax(src: Buffer, s: number, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (src[s + i] > max) max = src[s + i];
  return max;
}

const softmax = rowwise("softmax", (src, s, dst, d, n) => {
  const max = rowMax(src, s, n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(src[s + i] - max);
  for (let i = 0; i < n; i++) dst[d + i] = Math.exp(src[s + i] - max) / sum;
});

const logSoftmax = rowwise("log_softmax", (src, s, dst, d, n) => {
  const max = rowMax(src, s, n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(src[s + i] - max);
  const logSum = Math.log(sum);
  for (let i = 0; i < n; i++) dst[d + i] = src[s + i] - max - logSum;
});

/**
 * sparsemax as Keras computes it. Keras' threshold is (sum of the cumulative sums over the
 * support - 1) / k, on every backend; that equals the textbook sparsemax only when the support
 * has one element, but it is what Keras models were trained and evaluated with.
 */
const sparsemax = rowwise("sparsemax", (src, s, dst, d, n) => {
  const sorted = Array.from({ length: n }, (_, i) => src[s + i]).sort((a, b) => b - a);
  let cumulative = 0;
  let supportCumulativeSum = 0;
  let support = 0;
  for (let k = 1; k <= n; k++) {
    cumulative += sorted[k - 1];
    if (sorted[k - 1] - (cumulative - 1) / k > 0) {
      support++;
      supportCumulativeSum += cumulative;
    }
  }
  const tau = (supportCumulativeSum - 1) / support;
  for (let i = 0; i < n; i++) dst[d + i] = Math.max(src[s + i] - tau, 0);
});

/** glu: splits the last axis into halves a and b and returns a * sigmoid(b). */
const glu: Activation = {
  name: "glu",
  elementwise: false,
  outputDim: (d) => d / 2,
  apply(src, srcOffset, dst, dstOffset, rows, lastDim) {
    const half = lastDim / 2;
    for (let r = 0; r < rows; r++) {
      const s = srcOffset + r * lastDim;
      const d = dstOffset + r * half;
      for (let i = 0; i < half; i++) dst[d + i] = src[s + i] * sigmoid(src[s + half + i]);
    }
  },
};

function commonActivations(): Activation[] {
  return [
    linear,
    relu,
    elementwise("relu6", (x) => (x <= 0 ? 0 : x >= 6 ? 6 : x)),
    elementwise("leaky_relu", (x) => (x >= 0 ? x : 0.2 * x)),
    elementwise("elu", (x) => (x > 0 ? x : Math.expm1(x))),
    elementwise("celu", (x) => (x >= 0 ? x : Math.expm1(x))),
    elementwise("selu", (x) => (x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * Math.expm1(x))),
    elementwise("softplus", softplus),
    elementwise("softsign", (x) => x / (Math.abs(x) + 1)),
    elementwise("squareplus", (x) => (x + Math.sqrt(x * x + 4)) / 2),
    elementwise("soft_shrink", (x) => (x > 0.5 ? x - 0.5 : x < -0.5 ? x + 0.5 : 0)),
    elementwise("hard_shrink", (x) => (Math.abs(x) > 0.5 ? x : 0)),
    elementwise("sparse_plus", (x) => (x <= -1 ? 0 : x >= 1 ? x : ((x + 1) * (x + 1)) / 4)),
    elementwise("silu", (x) => x * sigmoid(x)),
    elementwise("swish", (x) => x * sigmoid(x)),
    elementwise("gelu", (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))),
    tanh,
    elementwise("tanh_shrink", (x) => x - Math.tanh(x)),
    elementwise("hard_tanh", (x) => (x < -1 ? -1 : x > 1 ? 1 : x)),
    sigmoidActivation,
    elementwise("sparse_sigmoid", (x) => (x <= -1 ? 0 : x >= 1 ? 1 : 0.5 * (x + 1))),
    elementwise("log_sigmoid", (x) => -softplus(-x)),
    elementwise("exponential", Math.exp),
    elementwise("mish", (x) => x * Math.tanh(softplus(x))),
    softmax,
    logSoftmax,
    sparsemax,
    glu,
  ];
}

const KERAS3 = new Map<string, Activation>(
  [
    ...commonActivations(),
    elementwise("hard_sigmoid", hardSigmoidKeras3),
    elementwise("hard_silu", (x) => x * hardSigmoidKeras3(x)),
    elementwise("hard_swish", (x) => x * hardSigmoidKeras3(x)),
  ].map((a) => [a.name, a]),
);

const KERAS2 = new Map<string, Activation>(
  [...commonActivations(), elementwise("hard_sigmoid", hardSigmoidKeras2)].map((a) => [a.name, a]),
);

/** The activation a file written by Keras `major` means by `name`, or undefined if it has none. */
export function getActivation(name: string, major: KerasMajor): Activation | undefined {
  return (major === 2 ? KERAS2 : KERAS3).get(name);
}

export function activationNames(major: KerasMajor): string[] {
  return [...(major === 2 ? KERAS2 : KERAS3).keys()].sort();
}
