/**
 * Normalization layers: BatchNormalization (moving statistics), LayerNormalization,
 * GroupNormalization, UnitNormalization, and the preprocessing layers Normalization (adapted or
 * given mean and variance) and Rescaling. Statistics are computed in float64.
 */
import { KeraslessError } from "../errors.js";
import { Tensor, formatShape, sizeOf } from "../tensor.js";
import { describe, isObject, type ConfigReader } from "./config.js";
import {
  Layer,
  POINTWISE,
  knownDim,
  type Mask,
  type Masks,
  type Shape,
  type StreamBehaviour,
  type WeightSpec,
} from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

/**
 * For every element of a tensor of `shape`, the flat index of the value that `source` (of shape
 * `sourceShape`, right-aligned, each size 1 or equal) supplies to it under broadcasting. Null when
 * the shapes do not broadcast.
 */
export function broadcastIndex(shape: readonly number[], sourceShape: readonly number[]): Int32Array | null {
  const rank = shape.length;
  const offset = rank - sourceShape.length;
  if (offset < 0) return null;
  // The source stride of each target axis (0 where the source repeats).
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let k = sourceShape.length - 1; k >= 0; k--) {
    const d = sourceShape[k];
    if (d !== 1 && d !== shape[k + offset]) return null;
    if (d !== 1) strides[k + offset] = stride;
    stride *= d;
  }
  const size = sizeOf(shape);
  const out = new Int32Array(size);
  if (size === 0) return out;
  const coord = new Array<number>(rank).fill(0);
  let index = 0;
  for (let i = 0; i < size; i++) {
    out[i] = index;
    for (let d = rank - 1; d >= 0; d--) {
      index += strides[d];
      if (++coord[d] < shape[d]) break;
      index -= strides[d] * shape[d];
      coord[d] = 0;
    }
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * broadcastIndex for one input shape at a time, kept while calls bring the same shape (so that
 * streaming steps reuse it without allocating).
 */
class IndexCache {
  private shape: readonly number[] = [];
  private value: Int32Array | null = null;

  constructor(private readonly sourceShapeFor: (shape: readonly number[]) => readonly number[]) {}

  get(layer: Layer, shape: readonly number[]): Int32Array {
    if (this.value === null || !sameShape(shape, this.shape)) {
      const source = this.sourceShapeFor(shape);
      const index = broadcastIndex(shape, source);
      if (index === null)
        throw layer.error(
          "E_INPUT_SHAPE",
          `values of shape ${formatShape(source)} do not broadcast to the input shape ${formatShape(shape)}`,
        );
      this.shape = [...shape];
      this.value = index;
    }
    return this.value;
  }
}

/**
 * Layers computed on each position of a sequence on its own: pointwise under streaming when they
 * take no statistics or parameters along the time axis (axis 1 of an input of rank 3 or more).
 */
function pointwiseUnlessTime(inputRank: number, usesTimeAxis: boolean, reason: string): StreamBehaviour {
  return inputRank < 3 || !usesTimeAxis ? POINTWISE : { kind: "refused", reason };
}

/** The shape with every axis not in `axes` set to 1. */
function keepAxes(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? d : 1));
}

/** `axis` as Keras accepts it (an int or a list of ints), as given. */
function readAxisList(reader: ConfigReader, key: string, fallback: number[]): number[] {
  const v = reader.raw(key);
  if (v === undefined || v === null) return fallback;
  if (typeof v === "number" && Number.isInteger(v)) return [v];
  if (Array.isArray(v) && v.every((a) => typeof a === "number" && Number.isInteger(a))) return v as number[];
  throw new KeraslessError(
    "E_CONFIG",
    `layer "${reader.layerName}" (${reader.className}): config "${key}" should be an integer or a list of integers, got ${describe(v)}`,
    { layer: reader.layerName },
  );
}

/** Axes made non-negative for `rank` and sorted; out of range, duplicate or batch axes are config errors. */
function resolveAxes(layer: Layer, axes: readonly number[], rank: number): number[] {
  const resolved = axes.map((a) => (a < 0 ? a + rank : a));
  if (resolved.some((a) => a < 1 || a >= rank) || new Set(resolved).size !== resolved.length) {
    throw layer.error("E_CONFIG", `axis ${formatShape(axes)} is not a set of non-batch axes of a rank-${rank} input`);
  }
  return resolved.sort((a, b) => a - b);
}

/** Weight specs of scale/offset-style layers, with Keras' trainable split for the summary. */
abstract class NormalizationBase extends Layer {
  override readonly supportsMasking: boolean = true;
  /** Rank of the input the layer was built for. */
  protected inputRank = 0;
  /** How many leading weight specs are trainable (the rest are statistics). */
  protected trainableSpecCount = 0;

  override paramCounts(): { trainable: number; nonTrainable: number } {
    const sizes = this.weightSpecs.map((w) => sizeOf(w.shape));
    const trainable = sizes.slice(0, this.trainableSpecCount).reduce((a, b) => a + b, 0);
    const rest = sizes.slice(this.trainableSpecCount).reduce((a, b) => a + b, 0);
    return this.trainable ? { trainable, nonTrainable: rest } : { trainable: 0, nonTrainable: trainable + rest };
  }
}

/** BatchNormalization at inference: y = (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta. */
export class BatchNormalization extends NormalizationBase {
  readonly axis: number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly renorm: boolean;
  private readonly kerasMajor: 2 | 3;
  private axes: number[] = [];
  /** y = x * multiplier[p] + offset[p], p the element's position along the normalized axes. */
  private multiplier = new Float64Array(0);
  private offset = new Float64Array(0);
  private readonly index = new IndexCache((shape) => keepAxes(shape, this.axes));

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.axis = readAxisList(reader, "axis", [-1]);
    this.epsilon = reader.number("epsilon", 1e-3);
    this.center = reader.bool("center", true);
    this.scale = reader.bool("scale", true);
    this.renorm = reader.bool("renorm", false);
    // Keras 2 shifts `axis` in the saved config when virtual batches are used; tf_keras itself cannot rebuild such a layer.
    if (reader.has("virtual_batch_size")) reader.unsupported("virtual_batch_size is not supported");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    if (this.kerasMajor === 3 && this.axis.length !== 1)
      throw this.error("E_CONFIG", `Keras 3 takes one axis, got ${formatShape(this.axis)}`);
    this.axes = resolveAxes(this, this.axis, input.length);
    this.inputRank = input.length;
    const dims = this.axes.map((a) => knownDim(this, input, a));
    // Keras 2 keeps several axes as a full-rank broadcast shape; one axis is a vector in both versions.
    const paramShape = this.axes.length === 1 ? dims : input.map((_, i) => (this.axes.includes(i) ? input[i]! : 1));
    const specs: WeightSpec[] = [];
    if (this.scale) specs.push({ name: "gamma", shape: paramShape });
    if (this.center) specs.push({ name: "beta", shape: paramShape });
    this.trainableSpecCount = specs.length;
    specs.push({ name: "moving_mean", shape: paramShape }, { name: "moving_variance", shape: paramShape });
    // Batch renormalization only changes training; at inference it uses the moving statistics too.
    if (this.renorm)
      specs.push(
        { name: "moving_stddev", shape: paramShape },
        { name: "renorm_mean", shape: paramShape },
        { name: "renorm_stddev", shape: paramShape },
      );
    this.declareWeights(specs);
    return [input];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    let k = 0;
    const gamma = this.scale ? weights[k++] : null;
    const beta = this.center ? weights[k++] : null;
    const mean = weights[k++];
    const variance = weights[k++];
    this.multiplier = new Float64Array(mean.length);
    this.offset = new Float64Array(mean.length);
    for (let p = 0; p < mean.length; p++) {
      const inv = (1 / Math.sqrt(variance[p] + this.epsilon)) * (gamma === null ? 1 : gamma[p]);
      this.multiplier[p] = inv;
      this.offset[p] = (beta === null ? 0 : beta[p]) - mean[p] * inv;
    }
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    return pointwiseUnlessTime(this.inputRank, this.axes.includes(1), "normalizes with statistics per time step");
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const y = outputs[0];
    const data = x.data;
    const out = y.data;
    const last = x.shape.length - 1;
    if (this.axes.length === 1 && this.axes[0] === last) {
      const n = x.shape[last];
      for (let i = 0; i < out.length; i++) {
        const p = i % n;
        out[i] = data[i] * this.multiplier[p] + this.offset[p];
      }
    } else {
      const index = this.index.get(this, x.shape);
      for (let i = 0; i < out.length; i++) out[i] = data[i] * this.multiplier[index[i]] + this.offset[index[i]];
    }
    return true;
  }
}

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

/** out = (x - mean) * rsqrt(variance + epsilon) * gamma + beta per group and parameter (overwrites moments.variance). */
function normalizeGroups(
  data: ArrayLike<number>,
  out: Float32Array | Int32Array,
  grouping: Grouping,
  moments: Moments,
  epsilon: number,
  gamma: Float32Array | null,
  beta: Float32Array | null,
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

/** LayerNormalization over one or several axes; Keras 3's rms_scaling divides by sqrt(variance + epsilon) without centering. */
export class LayerNormalization extends NormalizationBase {
  readonly axis: number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly rmsScaling: boolean;
  private readonly kerasMajor: 2 | 3;
  private axes: number[] = [];
  private gamma: Float32Array | null = null;
  private beta: Float32Array | null = null;
  private readonly groupIndex = new IndexCache((shape) => shape.map((d, i) => (this.axes.includes(i) ? 1 : d)));
  private readonly paramIndex = new IndexCache((shape) => keepAxes(shape, this.axes));
  private lastGrouping: Grouping | null = null;
  private readonly moments = new Moments();

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.axis = readAxisList(reader, "axis", [-1]);
    this.epsilon = reader.number("epsilon", 1e-3);
    this.center = reader.bool("center", true);
    this.scale = reader.bool("scale", true);
    this.rmsScaling = reader.bool("rms_scaling", false);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.axes = resolveAxes(this, this.axis, input.length);
    this.inputRank = input.length;
    // The weights' shape lists the axes in the order Keras keeps them: Keras 3 sorts the values as
    // written (negative ones first), Keras 2 keeps the written order. Either way the values are
    // laid out over the axes in ascending order, as both reshape them onto the input.
    const listed = this.kerasMajor === 3 ? [...this.axis].sort((a, b) => a - b) : this.axis;
    const shape = listed.map((a) => knownDim(this, input, a < 0 ? a + input.length : a));
    const specs: WeightSpec[] = [];
    if (this.scale || this.rmsScaling) specs.push({ name: "gamma", shape });
    if (this.center && !this.rmsScaling) specs.push({ name: "beta", shape });
    this.trainableSpecCount = specs.length;
    this.declareWeights(specs);
    return [input];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    let k = 0;
    this.gamma = this.scale || this.rmsScaling ? weights[k++] : null;
    this.beta = this.center && !this.rmsScaling ? weights[k++] : null;
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    return pointwiseUnlessTime(this.inputRank, this.axes.includes(1), "normalizes over the time axis");
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const y = outputs[0];
    const grouping = this.grouping(x.shape);
    const moments = groupMoments(x.data, grouping, null, this.moments);
    normalizeGroups(x.data, y.data, grouping, moments, this.epsilon, this.gamma, this.beta, !this.rmsScaling);
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
export class GroupNormalization extends NormalizationBase {
  readonly groups: number;
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly kerasMajor: 2 | 3;
  private channelAxis = 0;
  private groupCount = 0;
  private gamma: Float32Array | null = null;
  private beta: Float32Array | null = null;
  private cache: { shape: readonly number[]; grouping: Grouping } | null = null;
  private readonly moments = new Moments();

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.groups = reader.int("groups", 32);
    if (this.groups < 1 && this.groups !== -1)
      throw this.error("E_CONFIG", `groups=${this.groups} is neither positive nor -1`);
    this.axis = reader.int("axis", -1);
    this.epsilon = reader.number("epsilon", 1e-3);
    this.center = reader.bool("center", true);
    this.scale = reader.bool("scale", true);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    [this.channelAxis] = resolveAxes(this, [this.axis], input.length);
    this.inputRank = input.length;
    const channels = knownDim(this, input, this.channelAxis);
    this.groupCount = this.groups === -1 ? channels : this.groups;
    if (channels < this.groupCount || channels % this.groupCount !== 0) {
      throw this.error("E_CONFIG", `${channels} channels cannot be split into ${this.groupCount} groups`);
    }
    const specs: WeightSpec[] = [];
    if (this.scale) specs.push({ name: "gamma", shape: [channels] });
    if (this.center) specs.push({ name: "beta", shape: [channels] });
    this.trainableSpecCount = specs.length;
    this.declareWeights(specs);
    return [input];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    let k = 0;
    this.gamma = this.scale ? weights[k++] : null;
    this.beta = this.center ? weights[k++] : null;
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    // Every axis but the batch and the channels is reduced, so a time axis always is.
    return pointwiseUnlessTime(this.inputRank, true, "normalizes over the time axis");
  }

  override callInto(inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const y = outputs[0];
    const grouping = this.grouping(x.shape);
    const mask = this.kerasMajor === 2 ? (masks[0] ?? null) : null;
    const moments = groupMoments(
      x.data,
      grouping,
      mask === null ? null : this.maskWeights(mask, x.shape),
      this.moments,
    );
    normalizeGroups(x.data, y.data, grouping, moments, this.epsilon, this.gamma, this.beta, true);
    return true;
  }

  /** Keras 2 broadcasts the mask to the input's shape (right-aligned) and uses it as weights. */
  private maskWeights(mask: Mask, shape: readonly number[]): Float64Array {
    const index = broadcastIndex(shape, mask.shape);
    if (index === null) {
      throw this.error(
        "E_INPUT_SHAPE",
        `Keras 2 broadcasts the incoming mask ${formatShape(mask.shape)} to the input shape ${formatShape(shape)}, which fails (in Keras too)`,
      );
    }
    const weights = new Float64Array(index.length);
    for (let i = 0; i < index.length; i++) weights[i] = mask.data[index[i]];
    return weights;
  }

  private grouping(shape: readonly number[]): Grouping {
    if (this.cache !== null && sameShape(this.cache.shape, shape)) return this.cache.grouping;
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

/** UnitNormalization: x / ||x||_2 over `axis` (Keras 3 bounds 1/||x|| by 1e12, Keras 2 bounds ||x||^2 below by 1e-12). */
export class UnitNormalization extends Layer {
  override readonly supportsMasking = true;
  readonly axis: number[];
  private readonly kerasMajor: 2 | 3;
  private axes: number[] = [];
  private inputRank = 0;
  private readonly groupIndex = new IndexCache((shape) => shape.map((d, i) => (this.axes.includes(i) ? 1 : d)));
  private squares = new Float64Array(0);

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.axis = readAxisList(reader, "axis", [-1]);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.axes = resolveAxes(this, this.axis, input.length);
    this.inputRank = input.length;
    this.declareWeights([]);
    return [input];
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    return pointwiseUnlessTime(this.inputRank, this.axes.includes(1), "normalizes over the time axis");
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const y = outputs[0];
    const group = this.groupIndex.get(this, x.shape);
    let inner = 1;
    for (let k = 0; k < this.axes.length; k++) inner *= x.shape[this.axes[k]];
    const groups = inner === 0 ? 0 : x.size / inner;
    if (this.squares.length !== groups) this.squares = new Float64Array(groups);
    const squares = this.squares.fill(0);
    const data = x.data;
    for (let i = 0; i < data.length; i++) squares[group[i]] += data[i] * data[i];
    for (let g = 0; g < groups; g++) {
      const s = squares[g];
      squares[g] = this.kerasMajor === 3 ? Math.min(1 / Math.sqrt(s), 1e12) : 1 / Math.sqrt(Math.max(s, 1e-12));
    }
    const out = y.data;
    for (let i = 0; i < data.length; i++) out[i] = data[i] * squares[group[i]];
    return true;
  }
}

/** Numbers in a config value: a number, nested lists, or Keras 3's serialized numpy array. */
function readNumberArray(reader: ConfigReader, key: string): { shape: number[]; values: Float64Array } | null {
  let v = reader.raw(key);
  if (v === undefined || v === null) return null;
  if (isObject(v) && v.class_name === "__numpy__" && isObject(v.config)) v = v.config.value;
  const shape: number[] = [];
  for (let level: unknown = v; Array.isArray(level); level = level[0]) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const values: number[] = [];
  const walk = (node: unknown, depth: number): boolean => {
    if (depth === shape.length) {
      if (typeof node !== "number" || !Number.isFinite(node)) return false;
      values.push(node);
      return true;
    }
    return Array.isArray(node) && node.length === shape[depth] && node.every((child) => walk(child, depth + 1));
  };
  if (!walk(v, 0)) {
    throw new KeraslessError(
      "E_CONFIG",
      `layer "${reader.layerName}" (${reader.className}): config "${key}" should be a number or a rectangular array of numbers, got ${describe(v)}`,
      { layer: reader.layerName },
    );
  }
  return { shape, values: Float64Array.from(values) };
}

/**
 * Normalization (preprocessing): (x - mean) / max(sqrt(variance), 1e-7) per position along `axis`,
 * or the inverse. Mean and variance come from the config when given, else from the adapted
 * weights (mean, variance, count).
 */
export class Normalization extends NormalizationBase {
  override readonly supportsMasking: boolean;
  readonly axis: number[];
  readonly invert: boolean;
  private readonly given: {
    mean: { shape: number[]; values: Float64Array };
    variance: { shape: number[]; values: Float64Array };
  } | null;
  private axes: number[] = [];
  private mean = new Float64Array(0);
  private divisor = new Float64Array(0);
  private readonly index = new IndexCache((shape) => keepAxes(shape, this.axes));

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.supportsMasking = reader.context.kerasMajor === 3; // tf_keras' preprocessing layers drop masks
    this.axis = readAxisList(reader, "axis", []);
    this.invert = reader.bool("invert", false);
    const mean = readNumberArray(reader, "mean");
    const variance = readNumberArray(reader, "variance");
    if ((mean === null) !== (variance === null))
      throw this.error("E_CONFIG", "has only one of mean and variance in its config");
    this.given = mean === null || variance === null ? null : { mean, variance };
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.axes = resolveAxes(this, this.axis, input.length);
    this.inputRank = input.length;
    const kept = this.axes.map((a) => knownDim(this, input, a));
    if (this.given === null) {
      this.declareWeights([
        { name: "mean", shape: kept },
        { name: "variance", shape: kept },
        { name: "count", shape: [] },
      ]);
    } else {
      this.declareWeights([]);
      this.useStatistics(this.broadcastGiven("mean", kept), this.broadcastGiven("variance", kept));
    }
    return [input];
  }

  /** A mean or variance from the config, broadcast (numpy rules) to the kept axes' shape. */
  private broadcastGiven(which: "mean" | "variance", kept: number[]): Float64Array {
    const { shape, values } = this.given![which];
    const index = broadcastIndex(kept, shape);
    if (index === null)
      throw this.error(
        "E_CONFIG",
        `the ${which} of shape ${formatShape(shape)} does not broadcast to the normalized axes' shape ${formatShape(kept)}`,
      );
    return Float64Array.from(index, (k) => values[k]);
  }

  protected override weightsLoaded([mean, variance]: Float32Array[]): void {
    this.useStatistics(Float64Array.from(mean), Float64Array.from(variance));
  }

  private useStatistics(mean: Float64Array, variance: Float64Array): void {
    // Keras holds mean and variance in float32; the divisor is max(sqrt(variance), epsilon 1e-7).
    this.mean = mean.map(Math.fround);
    this.divisor = variance.map((v) => Math.max(Math.sqrt(Math.fround(v)), 1e-7));
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    return pointwiseUnlessTime(this.inputRank, this.axes.includes(1), "has a mean and variance per time step");
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const y = outputs[0];
    const data = x.data;
    const out = y.data;
    const index = this.index.get(this, x.shape);
    if (this.invert)
      for (let i = 0; i < out.length; i++) out[i] = this.mean[index[i]] + data[i] * this.divisor[index[i]];
    else for (let i = 0; i < out.length; i++) out[i] = (data[i] - this.mean[index[i]]) / this.divisor[index[i]];
    return true;
  }
}

/** Rescaling: x * scale + offset, each a number or an array broadcast against the input (numpy rules). */
export class Rescaling extends Layer {
  override readonly supportsMasking: boolean;
  private readonly scale: { shape: number[]; values: Float64Array };
  private readonly offset: { shape: number[]; values: Float64Array };
  private readonly scaleIndex = new IndexCache(() => this.scale.shape);
  private readonly offsetIndex = new IndexCache(() => this.offset.shape);
  private inputRank = 0;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.supportsMasking = reader.context.kerasMajor === 3; // tf_keras' Rescaling drops masks
    const scale = readNumberArray(reader, "scale");
    if (scale === null) throw this.error("E_CONFIG", 'has no "scale" in its config');
    // Keras casts both to float32 before using them.
    this.scale = { shape: scale.shape, values: scale.values.map(Math.fround) };
    const offset = readNumberArray(reader, "offset") ?? { shape: [], values: Float64Array.of(0) };
    this.offset = { shape: offset.shape, values: offset.values.map(Math.fround) };
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([]);
    this.inputRank = input.length;
    for (const { shape } of [this.scale, this.offset]) {
      // The output keeps the input's shape, so scale and offset may only broadcast into it.
      const offset = input.length - shape.length;
      if (offset < 0 || shape.some((d, k) => d !== 1 && input[k + offset] !== null && input[k + offset] !== d)) {
        throw this.error(
          "E_CONFIG",
          `scale/offset of shape ${formatShape(shape)} do not broadcast to the input shape ${formatShape(input)}`,
        );
      }
    }
    return [input];
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    // Scale or offset vary along the time axis when their size there (right-aligned) is not 1.
    const varies = ({ shape }: { shape: number[] }): boolean => (shape[shape.length - this.inputRank + 1] ?? 1) !== 1;
    return pointwiseUnlessTime(
      this.inputRank,
      varies(this.scale) || varies(this.offset),
      "scales each time step differently",
    );
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const y = outputs[0];
    const data = x.data;
    const out = y.data;
    const scale = this.scaleIndex.get(this, x.shape);
    const offset = this.offsetIndex.get(this, x.shape);
    for (let i = 0; i < out.length; i++)
      out[i] = Math.fround(data[i] * this.scale.values[scale[i]]) + this.offset.values[offset[i]];
    return true;
  }
}

export const normalizationLayers: LayerDefinition[] = [
  {
    className: "BatchNormalization",
    family: "normalization",
    summary:
      "moving statistics; `axis` (Keras 2: lists too), `epsilon`, `center`, `scale`, `renorm`; not `virtual_batch_size`",
    create: (r) => new BatchNormalization(r),
  },
  {
    className: "LayerNormalization",
    family: "normalization",
    summary: "`axis` (int or list), `epsilon`, `center`, `scale`, Keras 3 `rms_scaling`",
    create: (r) => new LayerNormalization(r),
  },
  {
    className: "GroupNormalization",
    family: "normalization",
    summary: "`groups` (-1 = instance norm), `axis`, `epsilon`, `center`, `scale`; Keras 2's mask weighting",
    create: (r) => new GroupNormalization(r),
  },
  {
    className: "UnitNormalization",
    family: "normalization",
    summary: "`axis` (int or list), each version's epsilon bound",
    create: (r) => new UnitNormalization(r),
  },
  {
    className: "Normalization",
    family: "normalization",
    summary: "adapted weights or `mean`/`variance` in the config (broadcast), `axis` (int, list or None), `invert`",
    create: (r) => new Normalization(r),
  },
  {
    className: "Rescaling",
    family: "normalization",
    summary:
      "`scale`, `offset`: numbers or arrays broadcast over the input (as under Keras' default `image_data_format`, channels_last)",
    create: (r) => new Rescaling(r),
  },
];
