/**
 * Depthwise and separable convolutions over 1 or 2 spatial axes: DepthwiseConv1D/2D,
 * SeparableConv1D/2D. A depthwise convolution is the grouped convolution of src/kernels/conv with
 * one group per input channel (depth_multiplier filters each, Keras' depthwise_kernel
 * [...kernel_size, channels, depth_multiplier] is that kernel's layout as it is); a separable one
 * follows it with a 1x1 convolution to `filters`.
 */
import type { Activation } from "../kernels/activations.js";
import { planConvolution, type ConvCall, type Convolution } from "../kernels/conv/index.js";
import type { ConfigReader } from "./config.js";
import { CONVOLUTION_NOTES, SpatialConvolution } from "./convolutional-nd.js";
import type { WeightSpec } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";

export class DepthwiseConv extends SpatialConvolution {
  readonly depthMultiplier: number;

  constructor(reader: ConfigReader, rank: number, paddings: readonly string[] = ["valid", "same"]) {
    super(reader, rank, paddings);
    this.depthMultiplier = reader.positiveInt("depth_multiplier", 1);
    // tf_keras' depthwise layers inherit Conv's `groups` (saved as 1) and never use it.
    if (reader.context.kerasMajor === 2) reader.ignore("groups");
  }

  protected get outChannels(): number {
    return this.inputChannels * this.depthMultiplier;
  }

  protected weightSpecsFor(channels: number): WeightSpec[] {
    return [
      { name: "depthwise_kernel", shape: [...this.kernelSize, channels, this.depthMultiplier] },
      ...(this.useBias ? [{ name: "bias", shape: [channels * this.depthMultiplier] }] : []),
    ];
  }

  /** One group per input channel: Keras' depthwise_kernel is that grouped kernel's layout as it is. */
  protected override get forwardGroups(): number {
    return this.inputChannels;
  }
}

export class SeparableConv extends DepthwiseConv {
  readonly filters: number;
  protected override readonly fusesAffine = false;

  constructor(reader: ConfigReader, rank: number, paddings: readonly string[]) {
    super(reader, rank, paddings);
    this.filters = reader.positiveInt("filters");
  }

  protected override get outChannels(): number {
    return this.filters;
  }

  protected override weightSpecsFor(channels: number): WeightSpec[] {
    const middle = channels * this.depthMultiplier;
    return [
      { name: "depthwise_kernel", shape: [...this.kernelSize, channels, this.depthMultiplier] },
      { name: "pointwise_kernel", shape: [...this.kernelSize.map(() => 1), middle, this.filters] },
      ...(this.useBias ? [{ name: "bias", shape: [this.filters] }] : []),
    ];
  }

  /** The depthwise convolution into a workspace (grown to the largest call), then the 1x1 one. */
  protected override plan([depthwise, pointwise, bias]: Float32Array[], epilogue: Activation | null): Convolution {
    const C = this.inputChannels;
    const middle = C * this.depthMultiplier;
    const first = planConvolution(this.convShape(C, C, middle), depthwise, null, null);
    const ones = this.kernelSize.map(() => 1);
    const pointShape = {
      kernel: ones,
      strides: ones,
      dilations: ones,
      groups: 1,
      inChannels: middle,
      outChannels: this.filters,
    };
    const second = planConvolution(pointShape, pointwise, this.useBias ? bias : null, epilogue);
    const zeros = ones.map(() => 0);
    let workspace = new Float32Array(0);
    const [firstHeld, secondHeld] = [first.held, second.held];
    return {
      ...(firstHeld !== undefined && secondHeld !== undefined ? { held: () => [firstHeld()[0], ...secondHeld()] } : {}),
      backend: second.backend,
      reason: `depthwise ${first.backend}, then pointwise ${second.reason}`,
      shape: this.convShape(1, C, this.filters),
      run: (x: Float32Array, call: ConvCall, y: Float32Array) => {
        let positions = call.batch;
        for (const d of call.output) positions *= d;
        if (workspace.length < positions * middle) workspace = new Float32Array(positions * middle);
        first.run(x, call, workspace);
        second.run(workspace, { batch: call.batch, input: call.output, output: call.output, padsBegin: zeros }, y);
      },
    };
  }
}

const layer = family("convolutional-depthwise");
const options =
  "padding `valid`/`same`, `strides`, `dilation_rate`, `depth_multiplier`, " +
  "`channels_last`/`channels_first`, `use_bias`" +
  CONVOLUTION_NOTES;

export const convolutionalDepthwiseLayers: LayerDefinition[] = [
  layer("DepthwiseConv1D", options, (r) => new DepthwiseConv(r, 1)),
  layer("DepthwiseConv2D", options, (r) => new DepthwiseConv(r, 2)),
  layer(
    "SeparableConv1D",
    `${options.replace("`same`", "`same`/`causal` (tf_keras)")}`,
    (r) => new SeparableConv(r, 1, ["valid", "same", "causal"]),
  ),
  layer("SeparableConv2D", options, (r) => new SeparableConv(r, 2, ["valid", "same"])),
];
