/**
 * Convolutions over 2 or 3 spatial axes: Conv2D, Conv3D, Conv2DTranspose, Conv3DTranspose
 * (channels_last and channels_first), on src/kernels/conv. SpatialConvolution holds what every
 * convolution layer of any rank shares (the options, the input and output layout, the
 * activation); convolutional-depthwise.ts builds on it too.
 */
import { KeraslessError } from "../errors.js";
import type { Activation } from "../kernels/activations.js";
import { choicePlan, type KernelPlan } from "../kernels/plan.js";
import type { ChannelAffine } from "../kernels/epilogue.js";
import {
  channelsFirst,
  convOutputSize,
  kerasPads,
  planConvolution,
  planTransposedConvolution,
  span,
  type ConvShape,
  type Convolution,
} from "../kernels/conv/index.js";
import { Tensor } from "../tensor.js";
import { describe, type ConfigReader } from "./config.js";
import { applyActivation, describeBackend, toFloat32 } from "./core.js";
import { Layer, knownDim, type Shape } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";
import type { WeightSpec } from "./layer.js";

/** A size per spatial axis from an int (every axis) or a list of `rank` ints, each >= `min`. */
export function perAxis(reader: ConfigReader, key: string, rank: number, fallback: number, min = 1): number[] {
  const v = reader.raw(key) ?? fallback;
  const values = typeof v === "number" ? new Array<number>(rank).fill(v) : v;
  if (
    !Array.isArray(values) ||
    values.length !== rank ||
    !values.every((d) => typeof d === "number" && Number.isInteger(d) && d >= min)
  ) {
    const problem = `config "${key}" should be ${rank} integer(s) >= ${min}, got ${describe(v)}`;
    throw new KeraslessError("E_CONFIG", `layer "${reader.layerName}" (${reader.className}): ${problem}`, {
      layer: reader.layerName,
    });
  }
  return values as number[];
}

/** The options of a convolution over `rank` spatial axes, as every convolution layer reads them. */
export interface ConvOptions {
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly dilations: number[];
  readonly padding: "valid" | "same" | "causal";
  readonly channelsFirst: boolean;
}

/** kernel_size, strides, dilation_rate, padding (one of `paddings`) and data_format. */
export function readConvOptions(
  reader: ConfigReader,
  rank: number,
  paddings: readonly string[],
  kernelKey = "kernel_size",
): ConvOptions {
  const kernelSize = perAxis(reader, kernelKey, rank, 1);
  const strides = perAxis(reader, "strides", rank, 1);
  const dilations = perAxis(reader, "dilation_rate", rank, 1);
  const padding = reader.string("padding", "valid").toLowerCase();
  if (!paddings.includes(padding))
    reader.unsupported(`padding=${describe(padding)} is not supported (Keras allows ${paddings.join(", ")})`);
  if (strides.some((s) => s > 1) && dilations.some((d) => d > 1))
    reader.unsupported("strides > 1 together with dilation_rate > 1 is not supported (TensorFlow refuses it too)");
  return {
    kernelSize,
    strides,
    dilations,
    padding: padding === "same" || padding === "causal" ? padding : "valid",
    channelsFirst: reader.dataFormat() === "channels_first",
  };
}

/** Per-axis geometry of one call: output sizes and the zero padding before each axis. */
export interface CallGeometry {
  output: number[];
  padsBegin: number[];
}

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/**
 * A convolution layer of any spatial rank: reads kernel_size, strides, dilation_rate, padding,
 * data_format, activation and use_bias, lays inputs out for the kernel and applies the
 * activation as Keras does (fused per channels_last row; on the last axis otherwise, which is a
 * spatial axis for channels_first, as in Keras).
 */
export abstract class SpatialConvolution extends Layer {
  readonly rank: number;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly dilations: number[];
  readonly padding: "valid" | "same" | "causal";
  readonly channelsFirst: boolean;
  readonly activation: Activation;
  readonly useBias: boolean;
  protected inputChannels = 0;
  private conv: Convolution | null = null;
  override readonly freshOutputs = true;

  constructor(reader: ConfigReader, rank: number, paddings: readonly string[], kernelKey = "kernel_size") {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.rank = rank;
    const options = readConvOptions(reader, rank, paddings, kernelKey);
    this.kernelSize = options.kernelSize;
    this.strides = options.strides;
    this.dilations = options.dilations;
    this.padding = options.padding;
    this.channelsFirst = options.channelsFirst;
    this.activation = reader.activation("activation", "linear");
    this.useBias = reader.bool("use_bias", true);
    if (this.channelsFirst && this.activation.outputDim(4) !== 4)
      reader.unsupported(`activation ${this.activation.name} with channels_first halves a spatial axis`);
    reader.refuseAdapters();
    reader.ignore("conv_op"); // tf_keras: how TensorFlow's op is called
  }

  /** Filters of the output. */
  protected abstract get outChannels(): number;
  /** Weight specs for `channels` input channels (after checking them). */
  protected abstract weightSpecsFor(channels: number): WeightSpec[];
  /**
   * Groups of the forward convolution plan() runs by default (kernel [...kernel_size, in / groups,
   * outChannels]): Conv2D's `groups`, one per input channel for a depthwise convolution.
   */
  protected get forwardGroups(): number {
    return 1;
  }

  /**
   * The channels_last convolution of the loaded weights, `epilogue` fused, after `affine` when
   * given (only asked of layers whose `fusesAffine` is true): by default the forward convolution
   * of `forwardGroups`, with bias when the layer uses one.
   */
  protected plan(
    [kernel, bias]: Float32Array[],
    epilogue: Activation | null,
    affine?: ChannelAffine | null,
  ): Convolution {
    const shape = this.convShape(this.forwardGroups, this.inputChannels, this.outChannels);
    return planConvolution(shape, kernel, this.useBias ? bias : null, epilogue, undefined, affine);
  }

  /** Whether plan() takes an affine map (src/graph/fuse.ts may then fuse a BatchNormalization in). */
  protected readonly fusesAffine: boolean = true;
  /** Zeros a ZeroPadding layer before it leaves to this layer's kernel (src/graph/fuse.ts), per spatial axis. */
  private absorbed: { readonly begin: readonly number[]; readonly end: readonly number[] } | null = null;

  /** The kernel shape of a plain convolution of this layer's options. */
  protected convShape(groups: number, inChannels: number, outChannels: number): ConvShape {
    return {
      kernel: this.kernelSize,
      strides: this.strides,
      dilations: this.dilations,
      groups,
      inChannels,
      outChannels,
    };
  }

  /**
   * Output sizes and pads for the input's spatial sizes (throws when Keras would): by default
   * Keras' paddings (valid, same, causal) as explicit pads, per axis.
   */
  protected geometry(input: readonly number[]): CallGeometry {
    const output: number[] = [];
    const padsBegin: number[] = [];
    input.forEach((n, a) => {
      const [k, s, d] = [this.kernelSize[a], this.strides[a], this.dilations[a]];
      const pads = kerasPads(this.padding, n, k, s, d);
      const size = convOutputSize(n, k, s, d, pads.begin, pads.end);
      if (size <= 0)
        throw this.error("E_INPUT_SHAPE", `an input of ${n} on spatial axis ${a} is smaller than the kernel's span`);
      output.push(size);
      padsBegin.push(pads.begin);
    });
    return { output, padsBegin };
  }

  private get fuses(): boolean {
    return !this.channelsFirst && this.activation.outputDim(this.outChannels) === this.outChannels;
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, this.rank + 2);
    const channels = knownDim(this, input, this.channelsFirst ? 1 : this.rank + 1);
    this.inputChannels = channels;
    this.declareWeights(this.weightSpecsFor(channels));
    const spatial = this.channelsFirst ? input.slice(2) : input.slice(1, this.rank + 1);
    let output: (number | null)[] = spatial.map(() => null);
    if (spatial.every((d) => d !== null)) output = this.geometry(spatial as number[]).output;
    const F = this.outChannels;
    if (this.channelsFirst) return [[input[0], F, ...output]];
    return [[input[0], ...output, this.activation.outputDim(F)]];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    const conv = this.plan(weights, this.fuses ? this.activation : null);
    this.conv = this.channelsFirst ? channelsFirst(conv) : conv;
    if (conv.held !== undefined) this.releaseLoadedWeights();
  }

  override getWeights(): Float32Array[] {
    return this.conv?.held?.() ?? super.getWeights();
  }

  /** The convolution's way of running, and why (kernelPlans, inspect --kernels). */
  override kernelPlan(): KernelPlan | null {
    return choicePlan(this.conv);
  }

  absorbPads(begin: readonly number[], end: readonly number[]): boolean {
    if (this.channelsFirst || this.absorbed !== null) return false;
    this.absorbed = { begin, end };
    return true;
  }

  /** Plans again with `affine` and `activation` in the kernel's stores (channels_last, no activation of its own). */
  fuseEpilogue(affine: ChannelAffine | null, activation: Activation | null): boolean {
    if (this.conv === null || this.channelsFirst || this.activation.name !== "linear") return false;
    if (affine !== null && !this.fusesAffine) return false;
    this.conv = this.plan(this.getWeights(), activation, affine);
    if (this.conv.held !== undefined) this.releaseLoadedWeights();
    return true;
  }

  /** The convolution's way of running, and why (for summaries). */
  get backend(): string {
    return describeBackend(this.kernelPlan());
  }

  call([x]: Tensor[]): Tensor[] {
    if (this.conv === null) throw this.error("E_CONFIG", "is called before its weights are loaded");
    const batch = x.shape[0];
    const input = this.channelsFirst ? x.shape.slice(2) : x.shape.slice(1, this.rank + 1);
    const absorbed = this.absorbed;
    // With absorbed zeros, the geometry is the padded input's; the kernel reads zeros outside x.
    const { output, padsBegin } = this.geometry(
      absorbed === null ? input : input.map((n, a) => n + absorbed.begin[a] + absorbed.end[a]),
    );
    const pads = absorbed === null ? padsBegin : padsBegin.map((p, a) => p + absorbed.begin[a]);
    const F = this.outChannels;
    const out = new Float32Array(batch * product(output) * F);
    this.conv.run(toFloat32(x), { batch, input, output, padsBegin: pads }, out);
    const shape = this.channelsFirst ? [batch, F, ...output] : [batch, ...output, F];
    return [this.fuses ? new Tensor(shape, out) : applyActivation(this.activation, out, shape)];
  }
}

/** Conv2D / Conv3D: kernel [...kernel_size, channels / groups, filters]. */
export class ConvND extends SpatialConvolution {
  readonly filters: number;
  readonly groups: number;

  constructor(reader: ConfigReader, rank: number) {
    super(reader, rank, ["valid", "same"]);
    this.filters = reader.positiveInt("filters");
    this.groups = reader.positiveInt("groups", 1);
    if (this.filters % this.groups !== 0)
      throw this.error("E_CONFIG", `filters=${this.filters} is not divisible by groups=${this.groups}`);
  }

  protected get outChannels(): number {
    return this.filters;
  }

  protected weightSpecsFor(channels: number): WeightSpec[] {
    if (channels % this.groups !== 0)
      throw this.error("E_CONFIG", `${channels} input channels are not divisible by groups=${this.groups}`);
    return [
      { name: "kernel", shape: [...this.kernelSize, channels / this.groups, this.filters] },
      ...(this.useBias ? [{ name: "bias", shape: [this.filters] }] : []),
    ];
  }

  protected override get forwardGroups(): number {
    return this.groups;
  }
}

/**
 * Conv2DTranspose / Conv3DTranspose: the adjoint of the convolution whose output has this
 * layer's input size, as TensorFlow's conv_transpose computes it. Kernel [...kernel_size,
 * filters, channels].
 */
export class ConvNDTranspose extends SpatialConvolution {
  readonly filters: number;
  /** null: Keras infers the output sizes. */
  readonly outputPadding: number[] | null;

  constructor(reader: ConfigReader, rank: number) {
    super(reader, rank, ["valid", "same"]);
    this.filters = reader.positiveInt("filters");
    this.outputPadding = reader.has("output_padding") ? perAxis(reader, "output_padding", rank, 0, 0) : null;
    reader.allowOnly("groups", [1]); // Keras 2 configs carry the groups option of the convolutions
    this.outputPadding?.forEach((p, a) => {
      if (p >= this.strides[a])
        throw this.error("E_CONFIG", `output_padding=${p} must be smaller than strides=${this.strides[a]}`);
    });
  }

  protected get outChannels(): number {
    return this.filters;
  }

  protected weightSpecsFor(channels: number): WeightSpec[] {
    return [
      { name: "kernel", shape: [...this.kernelSize, this.filters, channels] },
      ...(this.useBias ? [{ name: "bias", shape: [this.filters] }] : []),
    ];
  }

  /**
   * The output size Keras asks TensorFlow for on each axis, and the begin pad of the forward
   * convolution it transposes. TensorFlow requires that forward convolution, run on the output
   * size, to give back the input size; otherwise Keras fails too.
   */
  protected override geometry(input: readonly number[]): CallGeometry {
    const output: number[] = [];
    const padsBegin: number[] = [];
    input.forEach((n, a) => {
      const [k, s] = [span(this.kernelSize[a], this.dilations[a]), this.strides[a]];
      const extra = this.outputPadding?.[a] ?? null;
      let size: number;
      if (this.padding === "valid") size = (n - 1) * s + k + (extra ?? Math.max(k, s) - k);
      else size = extra === null ? n * s : (n - 1) * s + (k % 2) + extra;
      const forward = this.padding === "valid" ? Math.floor((size - k) / s) + 1 : Math.ceil(size / s);
      if (forward !== n) {
        throw this.error(
          "E_INPUT_SHAPE",
          `an output of ${size} on spatial axis ${a} does not convolve back to the input's ${n} ` +
            `(padding "${this.padding}", output_padding ${describe(this.outputPadding)}); TensorFlow refuses this too`,
        );
      }
      output.push(size);
      padsBegin.push(this.padding === "valid" ? 0 : Math.floor(Math.max((n - 1) * s + k - size, 0) / 2));
    });
    return { output, padsBegin };
  }

  protected override readonly fusesAffine = false;

  /** A transposed convolution's pads crop its output: it cannot read its input as padded. */
  override absorbPads(): boolean {
    return false;
  }

  protected override plan([kernel, bias]: Float32Array[], epilogue: Activation | null): Convolution {
    const shape = this.convShape(1, this.inputChannels, this.filters);
    return planTransposedConvolution(shape, kernel, this.useBias ? bias : null, epilogue);
  }
}

const layer = family("convolutional-nd");
const options = "padding `valid`/`same`, `strides`, `dilation_rate`, `channels_last`/`channels_first`, `use_bias`";
/**
 * What every convolution layer here shares. Keras' channels_first convolutions (and Keras 3's
 * dilated transposed ones) run on TensorFlow's oneDNN CPU kernels only: their references come
 * from TensorFlow with oneDNN on (tools/fixtures/cases_conv_vision.py).
 */
export const CONVOLUTION_NOTES =
  "; every activation (with channels_first on the last axis, a spatial one, as Keras applies it); " +
  "not `strides` > 1 together with `dilation_rate` > 1 (TensorFlow refuses it)";
const transposeOptions = `${options.replace("`use_bias`", "`output_padding`, `use_bias`")}`;

export const convolutionalNdLayers: LayerDefinition[] = [
  layer("Conv2D", `${options}, \`groups\`${CONVOLUTION_NOTES}`, (r) => new ConvND(r, 2)),
  layer("Conv3D", `${options}, \`groups\`${CONVOLUTION_NOTES}`, (r) => new ConvND(r, 3)),
  layer("Conv2DTranspose", `${transposeOptions}${CONVOLUTION_NOTES}`, (r) => new ConvNDTranspose(r, 2)),
  layer(
    "Conv3DTranspose",
    `${transposeOptions} (tf_keras ignores and does not save \`dilation_rate\`; Keras 3 applies it)` +
      CONVOLUTION_NOTES,
    (r) => new ConvNDTranspose(r, 3),
  ),
];
