/**
 * Normalizations by the input's own moments, computed at each call over groups of elements:
 * LayerNormalization (over the given axes), GroupNormalization (channel groups) and
 * UnitNormalization (L2 norm), RMSNormalization (root mean square). Statistics are computed in float64.
 */
import { formatShape, sizeOf } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import { BroadcastIndexCache, broadcastIndex, keepAxes, reduceAxes, resolveAxes, sameDims } from "./axes.js";
import type { ConfigReader } from "./config.js";
import { knownDim, type Mask, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import {
  readScaleOptions,
  scaleSpecs,
  scaleWeights,
  type ScaleOptions,
  type ScaleWeights,
} from "./normalization-scale.js";
import { AxesLayer, SameShapeLayer } from "./pointwise.js";

/**
 * Statistics over groups of elements: for each element, which group it belongs to and which
 * parameter (gamma/beta position) applies to it. Shared by the layer and group normalizations.
 */
interface Grouping {
  group: Int32Array;
  groups: number;
  param: Int32Array;
}

/** Per-group statistics, reused from call to call while the group count stays. */
class Moments {
  mean = new Float64Array(0);
  variance = new Float64Array(0);
  total = new Float64Array(0);

  sized(groups: number): this {
    if (this.mean.length !== groups) {
      this.mean = new Float64Array(groups);
      this.variance = new Float64Array(groups);
      this.total = new Float64Array(groups);
    } else {
      this.mean.fill(0);
      this.variance.fill(0);
      this.total.fill(0);
    }
    return this;
  }
}

/**
 * Per-group mean and (biased) variance into `moments`, optionally weighted (Keras 2's masked
 * group normalization).
 */
function groupMoments(
  data: ArrayLike<number>,
  grouping: Grouping,
  weights: Float64Array | null,
  moments: Moments,
): Moments {
  const { group, groups } = grouping;
  const { mean, variance, total } = moments.sized(groups);
  for (let i = 0; i < data.length; i++) {
    const w = weights === null ? 1 : weights[i];
    mean[group[i]] += w * data[i];
    total[group[i]] += w;
  }
  // divide_no_nan, as tf.nn.weighted_moments divides (a group without weight has mean 0, variance 0)
  for (let g = 0; g < groups; g++) mean[g] = total[g] === 0 ? 0 : mean[g] / total[g];
  for (let i = 0; i < data.length; i++) {
    const w = weights === null ? 1 : weights[i];
    const d = data[i] - mean[group[i]];
    variance[group[i]] += w * d * d;
  }
  for (let g = 0; g < groups; g++) variance[g] = total[g] === 0 ? 0 : variance[g] / total[g];
  return moments;
}

/**
 * out = (x - mean) * rsqrt(variance + epsilon) * gamma + beta per group and parameter position
 * (overwrites moments.variance).
 */
function normalizeGroups(
  data: ArrayLike<number>,
  out: Float32Array | Int32Array,
  grouping: Grouping,
  moments: Moments,
  epsilon: number,
  { gamma, beta }: ScaleWeights,
  subtractMean: boolean,
): void {
  const { group, param } = grouping;
  const inv = moments.variance;
  for (let g = 0; g < inv.length; g++) inv[g] = 1 / Math.sqrt(inv[g] + epsilon);
  for (let i = 0; i < data.length; i++) {
    const g = group[i];
    const p = param[i];
    const scaled = (subtractMean ? data[i] - moments.mean[g] : data[i]) * inv[g] * (gamma === null ? 1 : gamma[p]);
    out[i] = beta === null ? scaled : scaled + beta[p];
  }
}

/**
 * LayerNormalization over one or several axes; Keras 3's rms_scaling divides by
 * sqrt(variance + epsilon) without centering.
 */
export class LayerNormalization extends AxesLayer {
  protected readonly timeAxisReason = "normalizes over the time axis";
  readonly options: ScaleOptions;
  readonly rmsScaling: boolean;
  private gammaBeta: ScaleWeights = { gamma: null, beta: null };
  private readonly groupIndex = new BroadcastIndexCache((shape) => reduceAxes(shape, this.axes));
  private readonly paramIndex = new BroadcastIndexCache((shape) => keepAxes(shape, this.axes));
  private lastGrouping: Grouping | null = null;
  private readonly moments = new Moments();

  constructor(reader: ConfigReader) {
    super(reader, [-1]);
    this.options = readScaleOptions(reader);
    this.rmsScaling = reader.bool("rms_scaling", false);
  }

  private get hasGamma(): boolean {
    return this.options.scale || this.rmsScaling;
  }

  private get hasBeta(): boolean {
    return this.options.center && !this.rmsScaling;
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.resolveAxesFor(input);
    // The weights' shape lists the axes in the order Keras keeps them: Keras 3 sorts the values as
    // written (negative ones first), Keras 2 keeps the written order. Either way the values are
    // laid out over the axes in ascending order, as both reshape them onto the input.
    const listed = this.kerasMajor === 3 ? [...this.axis].sort((a, b) => a - b) : this.axis;
    const shape = listed.map((a) => knownDim(this, input, a < 0 ? a + input.length : a));
    this.declareWeights(scaleSpecs(this.hasGamma, this.hasBeta, shape));
    return [input];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    this.gammaBeta = scaleWeights(this.hasGamma, this.hasBeta, weights);
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const grouping = this.grouping(x.shape);
    const moments = groupMoments(x.data, grouping, null, this.moments);
    const { epsilon } = this.options;
    normalizeGroups(x.data, outputs[0].data, grouping, moments, epsilon, this.gammaBeta, !this.rmsScaling);
    return true;
  }

  private grouping(shape: readonly number[]): Grouping {
    const group = this.groupIndex.get(this, shape);
    const param = this.paramIndex.get(this, shape);
    if (this.lastGrouping === null || this.lastGrouping.group !== group || this.lastGrouping.param !== param) {
      const inner = this.axes.reduce((n, a) => n * shape[a], 1);
      this.lastGrouping = { group, groups: inner === 0 ? 0 : sizeOf(shape) / inner, param };
    }
    return this.lastGrouping;
  }
}

/**
 * GroupNormalization: channels (on `axis`) split into `groups`; mean and variance per sample and
 * group over all other non-batch axes. Keras 2 weights the statistics by the incoming mask,
 * broadcast against the input; Keras 3 ignores masks here.
 */
export class GroupNormalization extends SameShapeLayer {
  readonly groups: number;
  readonly axis: number;
  readonly options: ScaleOptions;
  private readonly kerasMajor: 2 | 3;
  private channelAxis = 0;
  private groupCount = 0;
  private gammaBeta: ScaleWeights = { gamma: null, beta: null };
  private cache: { shape: readonly number[]; grouping: Grouping } | null = null;
  private readonly moments = new Moments();

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.groups = reader.int("groups", 32);
    if (this.groups < 1 && this.groups !== -1)
      throw this.error("E_CONFIG", `groups=${this.groups} is neither positive nor -1`);
    this.axis = reader.int("axis", -1);
    this.options = readScaleOptions(reader);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    [this.channelAxis] = resolveAxes(this, [this.axis], input.length);
    this.inputRank = input.length;
    const channels = knownDim(this, input, this.channelAxis);
    this.groupCount = this.groups === -1 ? channels : this.groups;
    if (channels < this.groupCount || channels % this.groupCount !== 0) {
      throw this.error("E_CONFIG", `${channels} channels cannot be split into ${this.groupCount} groups`);
    }
    this.declareWeights(scaleSpecs(this.options.scale, this.options.center, [channels]));
    return [input];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    this.gammaBeta = scaleWeights(this.options.scale, this.options.center, weights);
  }

  override streamBehaviour(): StreamBehaviour {
    // Every axis but the batch and the channels is reduced, so a time axis always is.
    return this.pointwiseUnlessTime(true, "normalizes over the time axis");
  }

  override callInto(inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const grouping = this.grouping(x.shape);
    const mask = this.kerasMajor === 2 ? (masks[0] ?? null) : null;
    const weights = mask === null ? null : this.maskWeights(mask, x.shape);
    const moments = groupMoments(x.data, grouping, weights, this.moments);
    normalizeGroups(x.data, outputs[0].data, grouping, moments, this.options.epsilon, this.gammaBeta, true);
    return true;
  }

  /** Keras 2 broadcasts the mask to the input's shape (right-aligned) and uses it as weights. */
  private maskWeights(mask: Mask, shape: readonly number[]): Float64Array {
    const index = broadcastIndex(shape, mask.shape);
    if (index === null) {
      const shapes = `the incoming mask ${formatShape(mask.shape)} to the input shape ${formatShape(shape)}`;
      throw this.error("E_INPUT_SHAPE", `Keras 2 broadcasts ${shapes}, which fails (in Keras too)`);
    }
    const weights = new Float64Array(index.length);
    for (let i = 0; i < index.length; i++) weights[i] = mask.data[index[i]];
    return weights;
  }

  private grouping(shape: readonly number[]): Grouping {
    if (this.cache !== null && sameDims(this.cache.shape, shape)) return this.cache.grouping;
    const channels = shape[this.channelAxis];
    const perGroup = channels / this.groupCount;
    const inner = sizeOf(shape.slice(this.channelAxis + 1));
    const sample = sizeOf(shape.slice(1));
    const size = sizeOf(shape);
    const group = new Int32Array(size);
    const param = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const c = Math.floor(i / inner) % channels;
      param[i] = c;
      group[i] = Math.floor(i / sample) * this.groupCount + Math.floor(c / perGroup);
    }
    const grouping = { group, groups: shape[0] * this.groupCount, param };
    this.cache = { shape: [...shape], grouping };
    return grouping;
  }
}

/** Per-group sums of x² over the reduced axes, in a buffer reused while the group count stays. */
class SquareSums {
  private sums = new Float64Array(0);

  over(data: ArrayLike<number>, group: Int32Array, groups: number): Float64Array {
    if (this.sums.length !== groups) this.sums = new Float64Array(groups);
    const sums = this.sums.fill(0);
    for (let i = 0; i < data.length; i++) sums[group[i]] += data[i] * data[i];
    return sums;
  }
}

/** How many elements each group reduced over `axes` holds. */
function groupSize(shape: readonly number[], axes: readonly number[]): number {
  let inner = 1;
  for (let k = 0; k < axes.length; k++) inner *= shape[axes[k]];
  return inner;
}

/**
 * UnitNormalization: x / ||x||_2 over `axis` (Keras 3 bounds 1/||x|| by 1e12, Keras 2 bounds
 * ||x||^2 below by 1e-12).
 */
export class UnitNormalization extends AxesLayer {
  protected readonly timeAxisReason = "normalizes over the time axis";
  private readonly groupIndex = new BroadcastIndexCache((shape) => reduceAxes(shape, this.axes));
  private readonly squareSums = new SquareSums();

  constructor(reader: ConfigReader) {
    super(reader, [-1]);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.resolveAxesFor(input);
    this.declareWeights([]);
    return [input];
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const group = this.groupIndex.get(this, x.shape);
    const inner = groupSize(x.shape, this.axes);
    const squares = this.squareSums.over(x.data, group, inner === 0 ? 0 : x.size / inner);
    for (let g = 0; g < squares.length; g++) {
      const s = squares[g];
      squares[g] = this.kerasMajor === 3 ? Math.min(1 / Math.sqrt(s), 1e12) : 1 / Math.sqrt(Math.max(s, 1e-12));
    }
    const data = x.data;
    const out = outputs[0].data;
    for (let i = 0; i < data.length; i++) out[i] = data[i] * squares[group[i]];
    return true;
  }
}

/**
 * RMSNormalization (Keras 3.9+): x * rsqrt(mean(x²) + epsilon) * scale, the mean over `axis`.
 * The scale has the sizes of the normalized axes (in sorted order) and multiplies in as NumPy
 * broadcasts it: against the input's last axes, whichever axes were normalized.
 */
export class RMSNormalization extends AxesLayer {
  protected readonly timeAxisReason = "normalizes over the time axis";
  readonly epsilon: number;
  private scaleShape: number[] = [];
  private scale: Float32Array = new Float32Array(0);
  private readonly groupIndex = new BroadcastIndexCache((shape) => reduceAxes(shape, this.axes));
  private readonly scaleIndex = new BroadcastIndexCache(() => this.scaleShape);
  private readonly squareSums = new SquareSums();

  constructor(reader: ConfigReader) {
    super(reader, [-1]);
    this.epsilon = reader.number("epsilon", 1e-6);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.resolveAxesFor(input);
    const sorted = [...this.axis].sort((a, b) => a - b);
    this.scaleShape = sorted.map((a) => knownDim(this, input, a < 0 ? a + input.length : a));
    const offset = input.length - this.scaleShape.length;
    for (let k = 0; k < this.scaleShape.length; k++) {
      const size = input[k + offset];
      if (this.scaleShape[k] !== 1 && size !== null && size !== this.scaleShape[k]) {
        const scale = `the scale ${formatShape(this.scaleShape)}`;
        const into = `the last axes of the input ${formatShape(input)}`;
        throw this.error("E_CONFIG", `${scale} does not broadcast against ${into}, as Keras multiplies it in`);
      }
    }
    this.declareWeights([{ name: "scale", shape: this.scaleShape }]);
    return [input];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    this.scale = weights[0];
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const group = this.groupIndex.get(this, x.shape);
    const scaleAt = this.scaleIndex.get(this, x.shape);
    const inner = groupSize(x.shape, this.axes);
    const inverseRms = this.squareSums.over(x.data, group, inner === 0 ? 0 : x.size / inner);
    for (let g = 0; g < inverseRms.length; g++) inverseRms[g] = 1 / Math.sqrt(inverseRms[g] / inner + this.epsilon);
    const data = x.data;
    const out = outputs[0].data;
    for (let i = 0; i < data.length; i++) out[i] = data[i] * inverseRms[group[i]] * this.scale[scaleAt[i]];
    return true;
  }
}
