/**
 * What the normalizations with a learned scale and shift share: the `epsilon`, `center` (beta)
 * and `scale` (gamma) options, and the gamma, beta weights that come first in their weight lists.
 */
import type { ConfigReader } from "./config.js";
import type { WeightSpec } from "./layer.js";

export interface ScaleOptions {
  readonly epsilon: number;
  /** A learned shift, beta. */
  readonly center: boolean;
  /** A learned scale, gamma. */
  readonly scale: boolean;
}

export function readScaleOptions(reader: ConfigReader): ScaleOptions {
  return {
    epsilon: reader.number("epsilon", 1e-3),
    center: reader.bool("center", true),
    scale: reader.bool("scale", true),
  };
}

/** gamma then beta, each when the layer has it. */
export function scaleSpecs(gamma: boolean, beta: boolean, shape: readonly number[]): WeightSpec[] {
  const specs: WeightSpec[] = [];
  if (gamma) specs.push({ name: "gamma", shape });
  if (beta) specs.push({ name: "beta", shape });
  return specs;
}

export interface ScaleWeights {
  readonly gamma: Float32Array | null;
  readonly beta: Float32Array | null;
}

/** The loaded gamma and beta, in scaleSpecs' order. */
export function scaleWeights(gamma: boolean, beta: boolean, weights: readonly Float32Array[]): ScaleWeights {
  return { gamma: gamma ? weights[0] : null, beta: beta ? weights[gamma ? 1 : 0] : null };
}
