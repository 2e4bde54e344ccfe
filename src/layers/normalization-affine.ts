/**
 * Normalizations that are a fixed affine map per position at inference, y = x · a + b with a and b
 * known at load time: BatchNormalization (moving statistics), Normalization (adapted or given
 * mean and variance) and Rescaling. Statistics are combined in float64.
 */
import type { ChannelAffine } from "../kernels/epilogue.js";
import { formatShape } from "../tensor.js";
import type { Tensor } from "../tensor.js";
import { BroadcastIndexCache, broadcastIndex, keepAxes } from "./axes.js";
import type { ConfigReader } from "./config.js";
import { knownDim, type Masks, type Shape, type StreamBehaviour, type WeightSpec } from "./layer.js";
import { readScaleOptions, scaleSpecs, scaleWeights, type ScaleOptions } from "./normalization-scale.js";
import { AxesLayer, SameShapeLayer } from "./pointwise.js";

/** BatchNormalization at inference: y = (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta. */
export class BatchNormalization extends AxesLayer {
  protected readonly timeAxisReason = "normalizes with statistics per time step";
  override readonly freshOutputs = true;
  override readonly inPlace = true;
  readonly options: ScaleOptions;
  readonly renorm: boolean;
  /** y = x * multiplier[p] + offset[p], p the element's position along the normalized axes. */
  private multiplier = new Float64Array(0);
  private offset = new Float64Array(0);
  private readonly index = new BroadcastIndexCache((shape) => keepAxes(shape, this.axes));

  constructor(reader: ConfigReader) {
    super(reader, [-1]);
    this.options = readScaleOptions(reader);
    this.renorm = reader.bool("renorm", false);
    // Keras 2 shifts `axis` in the saved config when virtual batches are used; tf_keras itself
    // cannot rebuild such a layer.
    if (reader.has("virtual_batch_size")) reader.unsupported("virtual_batch_size is not supported");
    // How the moving statistics are updated while training, and on which devices.
    reader.ignore("momentum", "renorm_clipping", "renorm_momentum", "synchronized", "fused", "adjustment");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    if (this.kerasMajor === 3 && this.axis.length !== 1)
      throw this.error("E_CONFIG", `Keras 3 takes one axis, got ${formatShape(this.axis)}`);
    this.resolveAxesFor(input);
    const dims = this.axes.map((a) => knownDim(this, input, a));
    // Keras 2 keeps several axes as a full-rank broadcast shape; one axis is a vector in both versions.
    const paramShape = this.axes.length === 1 ? dims : input.map((_, i) => (this.axes.includes(i) ? input[i]! : 1));
    const specs: WeightSpec[] = scaleSpecs(this.options.scale, this.options.center, paramShape);
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
    const { gamma, beta } = scaleWeights(this.options.scale, this.options.center, weights);
    const [mean, variance] = weights.slice(this.trainableSpecCount);
    const { epsilon } = this.options;
    this.multiplier = new Float64Array(mean.length);
    this.offset = new Float64Array(mean.length);
    for (let p = 0; p < mean.length; p++) {
      const inv = (1 / Math.sqrt(variance[p] + epsilon)) * (gamma === null ? 1 : gamma[p]);
      this.multiplier[p] = inv;
      this.offset[p] = (beta === null ? 0 : beta[p]) - mean[p] * inv;
    }
  }

  channelAffine(): ChannelAffine | null {
    if (this.axes.length !== 1 || this.axes[0] !== this.inputRank - 1) return null;
    return { scale: Float32Array.from(this.multiplier), shift: Float32Array.from(this.offset) };
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const data = x.data;
    const out = outputs[0].data;
    const last = x.shape.length - 1;
    if (this.axes.length === 1 && this.axes[0] === last) {
      const n = x.shape[last];
      const { multiplier, offset } = this;
      for (let row = 0; row < out.length; row += n)
        for (let p = 0; p < n; p++) out[row + p] = data[row + p] * multiplier[p] + offset[p];
    } else {
      const index = this.index.get(this, x.shape);
      for (let i = 0; i < out.length; i++) out[i] = data[i] * this.multiplier[index[i]] + this.offset[index[i]];
    }
    return true;
  }
}

type NumberArray = { shape: number[]; values: Float64Array };

/**
 * Normalization (preprocessing): (x - mean) / max(sqrt(variance), 1e-7) per position along `axis`,
 * or the inverse. Mean and variance come from the config when given, else from the adapted
 * weights (mean, variance, count).
 */
export class Normalization extends AxesLayer {
  protected readonly timeAxisReason = "has a mean and variance per time step";
  override readonly supportsMasking: boolean;
  readonly invert: boolean;
  private readonly given: { mean: NumberArray; variance: NumberArray } | null;
  private mean = new Float64Array(0);
  private divisor = new Float64Array(0);
  private readonly index = new BroadcastIndexCache((shape) => keepAxes(shape, this.axes));

  constructor(reader: ConfigReader) {
    super(reader, []);
    this.supportsMasking = reader.context.kerasMajor === 3; // tf_keras' preprocessing layers drop masks
    this.invert = reader.bool("invert", false);
    const mean = reader.numberArray("mean");
    const variance = reader.numberArray("variance");
    if ((mean === null) !== (variance === null))
      throw this.error("E_CONFIG", "has only one of mean and variance in its config");
    this.given = mean === null || variance === null ? null : { mean, variance };
    this.trainableSpecCount = 0;
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.resolveAxesFor(input);
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
    if (index === null) {
      const shapes = `${formatShape(shape)} does not broadcast to the normalized axes' shape ${formatShape(kept)}`;
      throw this.error("E_CONFIG", `the ${which} of shape ${shapes}`);
    }
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

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const data = x.data;
    const out = outputs[0].data;
    const index = this.index.get(this, x.shape);
    if (this.invert)
      for (let i = 0; i < out.length; i++) out[i] = this.mean[index[i]] + data[i] * this.divisor[index[i]];
    else for (let i = 0; i < out.length; i++) out[i] = (data[i] - this.mean[index[i]]) / this.divisor[index[i]];
    return true;
  }
}

/** Rescaling: x * scale + offset, each a number or an array broadcast against the input (numpy rules). */
export class Rescaling extends SameShapeLayer {
  override readonly supportsMasking: boolean;
  private readonly scale: NumberArray;
  private readonly offset: NumberArray;
  private readonly scaleIndex = new BroadcastIndexCache(() => this.scale.shape);
  private readonly offsetIndex = new BroadcastIndexCache(() => this.offset.shape);

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.supportsMasking = reader.context.kerasMajor === 3; // tf_keras' Rescaling drops masks
    const scale = reader.numberArray("scale");
    if (scale === null) throw this.error("E_CONFIG", 'has no "scale" in its config');
    // Keras casts both to float32 before using them.
    this.scale = { shape: scale.shape, values: scale.values.map(Math.fround) };
    const offset = reader.numberArray("offset") ?? { shape: [], values: Float64Array.of(0) };
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

  override streamBehaviour(): StreamBehaviour {
    // Scale or offset vary along the time axis when their size there (right-aligned) is not 1.
    const varies = ({ shape }: NumberArray): boolean => (shape[shape.length - this.inputRank + 1] ?? 1) !== 1;
    return this.pointwiseUnlessTime(varies(this.scale) || varies(this.offset), "scales each time step differently");
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const data = x.data;
    const out = outputs[0].data;
    const scale = this.scaleIndex.get(this, x.shape);
    const offset = this.offsetIndex.get(this, x.shape);
    for (let i = 0; i < out.length; i++)
      out[i] = Math.fround(data[i] * this.scale.values[scale[i]]) + this.offset.values[offset[i]];
    return true;
  }
}
