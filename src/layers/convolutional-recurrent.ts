/**
 * Convolutional recurrent layers: ConvLSTM1D, ConvLSTM2D, ConvLSTM3D. What every recurrent layer
 * does (initial_state, stateful, masks, go_backwards, return_sequences / return_state, streaming)
 * is RecurrentLayer's; the cell, an LSTM whose products are convolutions, is
 * kernels/recurrent/conv-lstm.ts. Each step's input is [...spatial, channels] (channels_first:
 * [channels, ...spatial]), and so are the states, with `filters` channels.
 */
import {
  convLstmGeometry,
  createConvLstmKernel,
  statePositions,
  type ConvLstmGeometry,
  type ConvLstmSpec,
} from "../kernels/recurrent/conv-lstm.js";
import type { KerasCellWeights } from "../kernels/recurrent/cell.js";
import type { RecurrentKernel } from "../kernels/recurrent/driver.js";
import { formatShape } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { readConvOptions, type ConvOptions } from "./convolutional-nd.js";
import { knownDim, type Mask, type Shape } from "./layer.js";
import { RecurrentLayer } from "./recurrent.js";
import { family, type LayerDefinition } from "./registry-types.js";

export class ConvLSTM extends RecurrentLayer {
  protected readonly stateCount = 2;
  protected readonly gateCount = 4;
  readonly rank: number;
  readonly conv: ConvOptions;
  /** The cell as the first call built it (Keras fixes the spatial sizes then too). */
  private cell: { spec: ConvLstmSpec; geometry: ConvLstmGeometry } | null = null;
  /** The spatial position of each state value, for masks per position. */
  private positionOf: Int32Array = new Int32Array(0);

  constructor(reader: ConfigReader, rank: number) {
    super(reader, true, reader.positiveInt("filters"));
    this.rank = rank;
    this.conv = readConvOptions(reader, rank, ["valid", "same"]);
    // unit_forget_bias only initializes the forget gate's bias: the file holds the trained bias.
  }

  get filters(): number {
    return this.units;
  }

  /** x is [batch, time, ...spatial, channels] (channels_first: [batch, time, channels, ...spatial]). */
  protected override buildCell(x: Shape): number[] {
    this.expectRank(x, this.rank + 3);
    const { channelsFirst, kernelSize, strides, dilations, padding } = this.conv;
    const channels = knownDim(this, x, channelsFirst ? 2 : this.rank + 2);
    const spatial = channelsFirst ? x.slice(3) : x.slice(2, this.rank + 2);
    if (spatial.some((d) => d === null))
      throw this.error("E_CONFIG", `needs the spatial sizes of its input (as Keras does), got ${formatShape(x)}`);
    const input = spatial as number[];
    const built = this.cell?.spec;
    if (built !== undefined && (built.inChannels !== channels || built.input.some((d, a) => d !== input[a]))) {
      const step = (sizes: readonly number[], c: number) => formatShape(channelsFirst ? [c, ...sizes] : [...sizes, c]);
      throw this.error(
        "E_INPUT_SHAPE",
        `was built for steps of shape ${step(built.input, built.inChannels)}, now called with ${step(input, channels)}`,
      );
    }
    const { activation, recurrentActivation } = this.options;
    const F = this.units;
    const spec: ConvLstmSpec = {
      filters: F,
      inChannels: channels,
      input,
      kernel: kernelSize,
      strides,
      dilations,
      padding: padding === "same" ? "same" : "valid",
      channelsFirst,
      activation,
      recurrentActivation: recurrentActivation!,
    };
    const geometry = convLstmGeometry(spec);
    if ("emptyAxis" in geometry) {
      const a = geometry.emptyAxis;
      throw this.error(
        "E_INPUT_SHAPE",
        `an input of ${input[a]} on spatial axis ${a} is smaller than the kernel's span`,
      );
    }
    this.cell = { spec, geometry };
    this.declareWeights([
      { name: "kernel", shape: [...kernelSize, channels, 4 * F] },
      { name: "recurrent_kernel", shape: [...kernelSize, F, 4 * F] },
      ...(this.options.useBias ? [{ name: "bias", shape: [4 * F] }] : []),
    ]);
    return channelsFirst ? [F, ...geometry.output] : [...geometry.output, F];
  }

  protected createKernel(weights: KerasCellWeights): RecurrentKernel {
    const { spec, geometry } = this.cell!;
    const positions = geometry.output.reduce((p, d) => p * d, 1);
    this.positionOf = statePositions(spec.filters, positions, spec.channelsFirst);
    return createConvLstmKernel(spec, geometry, weights);
  }

  /**
   * Keras applies a mask of [batch, time, ...spatial] (Masking on frames) position by position,
   * where its spatial sizes are the output's (otherwise TensorFlow fails); channels_first masks
   * (Masking then reduces a spatial axis) are refused.
   */
  protected override maskPositions(mask: Mask): Int32Array | null {
    if (mask.shape.length === 2) return null;
    const { output } = this.cell!.geometry;
    const spatial = mask.shape.slice(2);
    if (this.conv.channelsFirst || spatial.length !== output.length || spatial.some((d, a) => d !== output[a])) {
      throw this.error(
        "E_UNSUPPORTED",
        `gets a mask of shape ${formatShape(mask.shape)}; masks are per step ([batch, time]) or, with ` +
          `channels_last, per position of the output ${formatShape([null, null, ...output])}, as Keras applies them`,
      );
    }
    return this.positionOf;
  }

  /** The convolutions' way of running, and why (for summaries). */
  get backend(): string {
    return this.kernel?.plan.backend ?? "not loaded";
  }
}

const layer = family("convolutional-recurrent");
const options =
  "`filters`, `kernel_size`, padding `valid`/`same`, `strides`, `dilation_rate`, " +
  "`channels_last`/`channels_first`, `activation`, `recurrent_activation`, `use_bias`, " +
  "`return_sequences`, `return_state`, `go_backwards`, `stateful`, `initial_state`, masks, streaming; " +
  "not `strides` > 1 together with `dilation_rate` > 1 (Keras refuses it)";

export const convolutionalRecurrentLayers: LayerDefinition[] = [
  layer("ConvLSTM1D", options, (r) => new ConvLSTM(r, 1)),
  layer("ConvLSTM2D", options, (r) => new ConvLSTM(r, 2)),
  layer("ConvLSTM3D", options, (r) => new ConvLSTM(r, 3)),
];
