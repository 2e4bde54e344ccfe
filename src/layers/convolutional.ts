/**
 * Convolutions over sequences [batch, steps, channels]: Conv1D (padding valid, same or causal;
 * strides, dilation, groups) and Conv1DTranspose (valid/same, strides, output_padding).
 */
import { KeraslessError } from "../errors.js";
import type { Activation } from "../kernels/activations.js";
import { gemm } from "../kernels/gemm/index.js";
import { choicePlan, type KernelPlan } from "../kernels/plan.js";
import {
  convOutputSize,
  kerasPads,
  planConvolution,
  planTransposedConvolution,
  span,
  type Convolution,
} from "../kernels/conv/index.js";
import type { ConvShape } from "../kernels/conv/geometry.js";
import { Tensor } from "../tensor.js";
import { describe, type ConfigReader } from "./config.js";
import { applyActivation, describeBackend, toFloat32 } from "./core.js";
import { Layer, knownDim, type LayerStream, type Shape, type StreamBehaviour, type WeightSpec } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

/** A 1D size given as an int or a one-element list (Keras stores tuples), at least `min`. */
export function single(reader: ConfigReader, key: string, fallback: number, min = 1): number {
  const v = reader.raw(key);
  if (Array.isArray(v)) {
    if (v.length !== 1 || typeof v[0] !== "number" || !Number.isInteger(v[0]) || v[0] < min) {
      throw new KeraslessError(
        "E_CONFIG",
        `layer "${reader.layerName}" (${reader.className}): ` +
          `config "${key}" should be one integer >= ${min}, got ${describe(v)}`,
        { layer: reader.layerName },
      );
    }
    return v[0];
  }
  const n = reader.int(key, fallback);
  if (n < min)
    throw new KeraslessError(
      "E_CONFIG",
      `layer "${reader.layerName}" (${reader.className}): config "${key}" should be an integer >= ${min}, got ${n}`,
      { layer: reader.layerName },
    );
  return n;
}

/**
 * What Conv1D and Conv1DTranspose read and run alike: filters, kernel_size, strides, activation
 * and use_bias (channels_last only), the weights declared for the input's channels, and the call
 * on src/kernels/conv with the activation fused when it keeps the width.
 */
abstract class SequenceConvolution extends Layer {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly activation: Activation;
  readonly useBias: boolean;
  protected inputChannels = 0;
  private conv: Convolution | null = null;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.filters = reader.positiveInt("filters");
    this.kernelSize = single(reader, "kernel_size", 1);
    this.strides = single(reader, "strides", 1);
    reader.ignore("conv_op"); // tf_keras: how TensorFlow's op is called
    this.activation = reader.activation("activation", "linear");
    this.useBias = reader.bool("use_bias", true);
    reader.allowOnly("data_format", ["channels_last"]);
  }

  /** Weight specs for `channels` input channels (after checking them). */
  protected abstract weightSpecsFor(channels: number): WeightSpec[];
  /** Output length and left padding for an input of `length` steps (throws when Keras would). */
  protected abstract geometry(length: number): { outLength: number; padLeft: number };
  /** The convolution of the loaded weights, `epilogue` fused. */
  protected abstract plan(kernel: Float32Array, bias: Float32Array | null, epilogue: Activation | null): Convolution;

  /** The kernel shape of this layer's convolution with `dilation` and `groups`. */
  protected convShape(dilation: number, groups: number): ConvShape {
    return {
      kernel: [this.kernelSize],
      strides: [this.strides],
      dilations: [dilation],
      groups,
      inChannels: this.inputChannels,
      outChannels: this.filters,
    };
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, 3);
    const channels = knownDim(this, input, 2);
    this.inputChannels = channels;
    this.declareWeights(this.weightSpecsFor(channels));
    const steps = input[1] === null ? null : this.geometry(input[1]).outLength;
    return [[input[0], steps, this.activation.outputDim(this.filters)]];
  }

  protected override weightsLoaded([kernel, bias]: Float32Array[]): void {
    this.conv = this.plan(kernel, this.useBias ? bias : null, this.keepsWidth() ? this.activation : null);
  }

  /** The convolution's way of running, and why (kernelPlans, inspect --kernels). */
  override kernelPlan(): KernelPlan | null {
    return choicePlan(this.conv);
  }

  /** The convolution's way of running, and why (for summaries). */
  get backend(): string {
    return describeBackend(this.kernelPlan());
  }

  protected keepsWidth(): boolean {
    return this.activation.outputDim(this.filters) === this.filters;
  }

  call([x]: Tensor[]): Tensor[] {
    const [batch, length] = x.shape;
    const { outLength, padLeft } = this.geometry(length);
    if (this.conv === null) throw this.error("E_CONFIG", "is called before its weights are loaded");
    const out = new Float32Array(batch * outLength * this.filters);
    this.conv.run(toFloat32(x), { batch, input: [length], output: [outLength], padsBegin: [padLeft] }, out);
    const shape = [batch, outLength, this.filters];
    return [this.keepsWidth() ? new Tensor(shape, out) : applyActivation(this.activation, out, shape)];
  }
}

export class Conv1D extends SequenceConvolution {
  readonly dilation: number;
  readonly groups: number;
  readonly padding: "valid" | "same" | "causal";
  private kernel: Float32Array = new Float32Array(0);
  private bias: Float32Array | null = null;

  constructor(reader: ConfigReader) {
    super(reader);
    this.dilation = single(reader, "dilation_rate", 1);
    this.groups = reader.positiveInt("groups", 1);
    reader.refuseAdapters();
    const padding = reader.string("padding", "valid").toLowerCase();
    if (padding !== "valid" && padding !== "same" && padding !== "causal")
      reader.unsupported(`padding=${JSON.stringify(padding)} is not supported`);
    this.padding = padding === "same" || padding === "causal" ? padding : "valid";
    if (this.strides > 1 && this.dilation > 1)
      reader.unsupported("strides > 1 together with dilation_rate > 1 is not supported by Keras either");
    if (this.filters % this.groups !== 0)
      throw this.error("E_CONFIG", `filters=${this.filters} is not divisible by groups=${this.groups}`);
  }

  protected geometry(length: number): { outLength: number; padLeft: number } {
    const pads = kerasPads(this.padding, length, this.kernelSize, this.strides, this.dilation);
    const outLength = convOutputSize(length, this.kernelSize, this.strides, this.dilation, pads.begin, pads.end);
    return { outLength, padLeft: pads.begin };
  }

  protected weightSpecsFor(channels: number): WeightSpec[] {
    if (channels % this.groups !== 0)
      throw this.error("E_CONFIG", `${channels} input channels are not divisible by groups=${this.groups}`);
    return [
      { name: "kernel", shape: [this.kernelSize, channels / this.groups, this.filters] },
      ...(this.useBias ? [{ name: "bias", shape: [this.filters] }] : []),
    ];
  }

  /** Keeps the weights too: a stream adds its taps itself (openStream). */
  protected override weightsLoaded(weights: Float32Array[]): void {
    this.kernel = weights[0];
    this.bias = this.useBias ? weights[1] : null;
    super.weightsLoaded(weights);
  }

  protected plan(kernel: Float32Array, bias: Float32Array | null, epilogue: Activation | null): Convolution {
    return planConvolution(this.convShape(this.dilation, this.groups), kernel, bias, epilogue);
  }

  /** y[yOffset..] += x[xRow..] · kernel tap j, for every group (one output row). */
  private addTap(x: Float32Array, xRow: number, j: number, y: Float32Array, yOffset: number): void {
    const groupIn = this.inputChannels / this.groups;
    const groupOut = this.filters / this.groups;
    const f = this.filters;
    for (let g = 0; g < this.groups; g++) {
      const w = j * groupIn * f + g * groupOut;
      gemm(
        x,
        xRow + g * groupIn,
        groupIn,
        this.kernel,
        w,
        f,
        y,
        yOffset + g * groupOut,
        f,
        1,
        groupIn,
        groupOut,
        null,
        true,
      );
    }
  }

  override streamBehaviour(): StreamBehaviour {
    if (this.padding !== "causal")
      return {
        kind: "refused",
        reason: `needs the whole sequence (padding "${this.padding}"; only causal convolutions stream)`,
      };
    if (this.strides !== 1)
      return { kind: "refused", reason: "has strides > 1, so it does not give one output per step" };
    if (!this.keepsWidth()) return { kind: "refused", reason: `activation ${this.activation.name} changes the width` };
    return { kind: "stateful", outputsHaveTime: [true], open: (batch) => this.openStream(batch) };
  }

  /**
   * A causal convolution sees the current step and the span - 1 before it: a ring buffer keeps
   * those input rows (zeros before the first step, as causal padding gives).
   */
  private openStream(batch: number): LayerStream {
    const width = span(this.kernelSize, this.dilation);
    const cin = this.inputChannels;
    const f = this.filters;
    const ring = new Float32Array(batch * width * cin);
    // The slot the next step writes; a Float32Array so that getState() carries it too.
    const head = new Float32Array(1);
    const output = new Tensor([batch, 1, f], new Float32Array(batch * f));
    const y = output.data as Float32Array;
    const outputs = [output];
    return {
      state: [ring, head],
      step: (inputs) => {
        const data = toFloat32(inputs[0]);
        const now = head[0];
        for (let b = 0; b < batch; b++) {
          const base = b * width;
          for (let c = 0; c < cin; c++) ring[(base + now) * cin + c] = data[b * cin + c];
          if (this.bias === null) y.fill(0, b * f, (b + 1) * f);
          else y.set(this.bias, b * f);
          for (let j = 0; j < this.kernelSize; j++) {
            const back = width - 1 - j * this.dilation; // how many steps before now tap j reads
            this.addTap(ring, (base + ((now - back + width) % width)) * cin, j, y, b * f);
          }
        }
        this.activation.apply(y, 0, y, 0, batch, f);
        head[0] = (now + 1) % width;
        return outputs;
      },
      reset: () => {
        ring.fill(0);
        head[0] = 0;
      },
    };
  }
}

/**
 * Conv1DTranspose: the adjoint of a Conv1D whose output has this layer's input length, as
 * TensorFlow's conv1d_transpose computes it. Kernel [kernel_size, filters, input channels].
 */
export class Conv1DTranspose extends SequenceConvolution {
  readonly padding: "valid" | "same";
  /** null: Keras infers the output length. */
  readonly outputPadding: number | null;

  constructor(reader: ConfigReader) {
    super(reader);
    this.outputPadding = reader.has("output_padding") ? single(reader, "output_padding", 0, 0) : null;
    const padding = reader.string("padding", "valid").toLowerCase();
    if (padding !== "valid" && padding !== "same")
      reader.unsupported(`padding=${describe(padding)} is not supported (Keras allows "valid" and "same")`);
    this.padding = padding === "same" ? "same" : "valid";
    // TensorFlow's plain CPU kernels refuse channels_first and dilation ("only supports NHWC",
    // "do not yet support dilation rates larger than 1"): the fixture generator has no reference
    // for them, so they are not run here.
    const dilation = single(reader, "dilation_rate", 1);
    if (dilation !== 1)
      reader.unsupported(
        `dilation_rate=${dilation} is not supported (TensorFlow's reference CPU kernels refuse it too)`,
      );
    reader.allowOnly("groups", [1]); // Keras 2 configs carry the groups option of Conv1D
    if (this.outputPadding !== null && this.outputPadding >= this.strides) {
      throw this.error("E_CONFIG", `output_padding=${this.outputPadding} must be smaller than strides=${this.strides}`);
    }
  }

  /**
   * The output length Keras asks TensorFlow for, given `length` input steps, and the left padding
   * of the forward convolution this transposes. TensorFlow requires that forward convolution, run
   * on the output length, to give back the input length; otherwise Keras fails too.
   */
  protected geometry(length: number): { outLength: number; padLeft: number } {
    const k = this.kernelSize;
    let outLength: number;
    if (this.padding === "valid")
      outLength = (length - 1) * this.strides + k + (this.outputPadding ?? Math.max(k, this.strides) - k);
    else if (this.outputPadding === null) outLength = length * this.strides;
    else outLength = (length - 1) * this.strides + (k % 2) + this.outputPadding;
    const forward =
      this.padding === "valid" ? Math.floor((outLength - k) / this.strides) + 1 : Math.ceil(outLength / this.strides);
    if (forward !== length) {
      throw this.error(
        "E_INPUT_SHAPE",
        `an output of ${outLength} steps does not convolve back to the ${length} input steps ` +
          `(kernel_size ${this.kernelSize}, strides ${this.strides}, padding "${this.padding}", ` +
          `output_padding ${this.outputPadding}); TensorFlow refuses this too`,
      );
    }
    const padLeft =
      this.padding === "valid" ? 0 : Math.floor(Math.max((length - 1) * this.strides + k - outLength, 0) / 2);
    return { outLength, padLeft };
  }

  protected weightSpecsFor(channels: number): WeightSpec[] {
    return [
      { name: "kernel", shape: [this.kernelSize, this.filters, channels] },
      ...(this.useBias ? [{ name: "bias", shape: [this.filters] }] : []),
    ];
  }

  protected plan(kernel: Float32Array, bias: Float32Array | null, epilogue: Activation | null): Convolution {
    return planTransposedConvolution(this.convShape(1, 1), kernel, bias, epilogue);
  }
}

export const convolutionalLayers: LayerDefinition[] = [
  {
    className: "Conv1D",
    family: "convolutional",
    summary: "padding `valid`/`same`/`causal`, `strides`, `dilation_rate`, `groups`, `channels_last`",
    create: (r) => new Conv1D(r),
  },
  {
    className: "Conv1DTranspose",
    family: "convolutional",
    summary:
      "padding `valid`/`same`, `strides`, `output_padding`, `use_bias`, `channels_last`; " +
      "not `dilation_rate` > 1 or `channels_first` " +
      "(TensorFlow's plain CPU kernels refuse both, so there is no reference)",
    create: (r) => new Conv1DTranspose(r),
  },
];
