/**
 * Pooling over the steps of a sequence: MaxPooling1D, AveragePooling1D (windows; padding valid or
 * same) and GlobalMaxPooling1D, GlobalAveragePooling1D (whole sequence; the average honours masks).
 * Inputs are [batch, steps, channels], or [batch, channels, steps] with channels_first.
 */
import { Tensor, toFloat32 } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { single } from "./convolutional.js";
import { Layer, type Mask, type Masks, type Shape } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";

/** Sizes of a 3D input and the element strides of its step and channel axes. */
function layoutOf(
  shape: readonly number[],
  channelsFirst: boolean,
): { batch: number; steps: number; channels: number; step: number; channel: number } {
  const [batch, d1, d2] = shape;
  return channelsFirst
    ? { batch, steps: d2, channels: d1, step: 1, channel: d2 }
    : { batch, steps: d1, channels: d2, step: d2, channel: 1 };
}

/**
 * MaxPooling1D and AveragePooling1D. As in TensorFlow, `same` padding never enters a window:
 * averages count real steps only.
 */
export class Pooling1D extends Layer {
  readonly mode: "max" | "average";
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: "valid" | "same";
  readonly channelsFirst: boolean;

  constructor(reader: ConfigReader, mode: "max" | "average") {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.mode = mode;
    this.poolSize = single(reader, "pool_size", 2);
    this.strides = reader.has("strides") ? single(reader, "strides", this.poolSize) : this.poolSize;
    const padding = reader.string("padding", "valid").toLowerCase();
    if (padding !== "valid" && padding !== "same")
      reader.unsupported(`padding=${JSON.stringify(padding)} is not supported (Keras allows "valid" and "same")`);
    this.padding = padding === "same" ? "same" : "valid";
    this.channelsFirst = reader.dataFormat() === "channels_first";
  }

  private geometry(steps: number): { outSteps: number; padLeft: number } {
    if (this.padding === "valid") {
      const outSteps = Math.floor((steps - this.poolSize) / this.strides) + 1;
      if (outSteps < 1)
        throw this.error(
          "E_INPUT_SHAPE",
          `a pool of ${this.poolSize} does not fit in ${steps} steps with padding "valid"`,
        );
      return { outSteps, padLeft: 0 };
    }
    const outSteps = Math.ceil(steps / this.strides);
    return { outSteps, padLeft: Math.floor(Math.max((outSteps - 1) * this.strides + this.poolSize - steps, 0) / 2) };
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, 3);
    this.declareWeights([]);
    const stepsAxis = this.channelsFirst ? 2 : 1;
    const steps = input[stepsAxis];
    const out = [...input];
    out[stepsAxis] = steps === null ? null : this.geometry(steps).outSteps;
    return [out];
  }

  call([x]: Tensor[]): Tensor[] {
    const { batch, steps, channels, step, channel } = layoutOf(x.shape, this.channelsFirst);
    const { outSteps, padLeft } = this.geometry(steps);
    const data = toFloat32(x);
    const out = new Float32Array(batch * outSteps * channels);
    const outStep = this.channelsFirst ? 1 : channels;
    const outChannel = this.channelsFirst ? outSteps : 1;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < outSteps; t++) {
        const start = Math.max(t * this.strides - padLeft, 0);
        const end = Math.min(t * this.strides - padLeft + this.poolSize, steps);
        for (let c = 0; c < channels; c++) {
          const base = b * steps * channels + c * channel;
          let result: number;
          if (this.mode === "max") {
            result = -Infinity;
            for (let s = start; s < end; s++) {
              const v = data[base + s * step];
              if (v > result || Number.isNaN(v)) result = v;
            }
          } else {
            let sum = 0;
            for (let s = start; s < end; s++) sum += data[base + s * step];
            result = sum / (end - start);
          }
          out[b * outSteps * channels + t * outStep + c * outChannel] = result;
        }
      }
    }
    const shape = this.channelsFirst ? [batch, channels, outSteps] : [batch, outSteps, channels];
    return [new Tensor(shape, out)];
  }
}

/**
 * GlobalMaxPooling1D and GlobalAveragePooling1D: reduce the steps axis. Only the average supports
 * masks (in both Keras versions): it averages the unmasked steps, and its output carries no mask.
 */
export class GlobalPooling1D extends Layer {
  readonly mode: "max" | "average";
  readonly keepdims: boolean;
  readonly channelsFirst: boolean;
  override readonly supportsMasking: boolean;
  private readonly kerasMajor: 2 | 3;

  constructor(reader: ConfigReader, mode: "max" | "average") {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.mode = mode;
    this.keepdims = reader.bool("keepdims", false);
    this.channelsFirst = reader.dataFormat() === "channels_first";
    this.supportsMasking = mode === "average";
    this.kerasMajor = reader.context.kerasMajor;
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, 3);
    this.declareWeights([]);
    const channels = input[this.channelsFirst ? 1 : 2];
    if (!this.keepdims) return [[input[0], channels]];
    return [this.channelsFirst ? [input[0], channels, 1] : [input[0], 1, channels]];
  }

  override computeMask(): (Mask | null)[] {
    return [null];
  }

  call([x]: Tensor[], masks: Masks): Tensor[] {
    const { batch, steps, channels, step, channel } = layoutOf(x.shape, this.channelsFirst);
    const data = toFloat32(x);
    const mask = this.mode === "average" ? (masks[0] ?? null) : null;
    const keep = mask === null ? null : this.stepMask(mask, batch, steps);
    const out = new Float32Array(batch * channels);
    for (let b = 0; b < batch; b++) {
      let count = steps;
      if (keep !== null) {
        count = 0;
        for (let s = 0; s < steps; s++) count += keep[b * steps + s];
      }
      for (let c = 0; c < channels; c++) {
        const base = b * steps * channels + c * channel;
        let result: number;
        if (this.mode === "max") {
          result = -Infinity;
          for (let s = 0; s < steps; s++) {
            const v = data[base + s * step];
            if (v > result || Number.isNaN(v)) result = v;
          }
        } else if (keep === null) {
          let sum = 0;
          for (let s = 0; s < steps; s++) sum += data[base + s * step];
          result = sum / steps;
        } else {
          let sum = 0;
          for (let s = 0; s < steps; s++) {
            const v = data[base + s * step];
            // Keras 3 selects the unmasked values (where); Keras 2 multiplies by the mask, so a
            // masked Inf or NaN still poisons its sum there.
            if (keep[b * steps + s] === 1) sum += v;
            else if (this.kerasMajor === 2) sum += v * 0;
          }
          result = sum / count; // an entirely masked row gives 0/0 = NaN, as in Keras
        }
        out[b * channels + c] = result;
      }
    }
    const shape = !this.keepdims ? [batch, channels] : this.channelsFirst ? [batch, channels, 1] : [batch, 1, channels];
    return [new Tensor(shape, out)];
  }

  /**
   * The mask as one 0/1 per [batch, step]. Keras expands the mask on the channels axis and
   * broadcasts it, so its last axis always lines up with the steps.
   */
  private stepMask(mask: Mask, batch: number, steps: number): Uint8Array {
    if (mask.shape.length !== 2 || mask.shape[0] !== batch || mask.shape[1] !== steps) {
      const problem = `the incoming mask has shape [${mask.shape.join(", ")}], which does not broadcast over`;
      throw this.error("E_INPUT_SHAPE", `${problem} ${steps} steps of ${batch} sequences (Keras fails here too)`);
    }
    return mask.data;
  }
}

const layer = family("pooling");
const layout = "`channels_last`/`channels_first`";

export const poolingLayers: LayerDefinition[] = [
  layer(
    "MaxPooling1D",
    `\`pool_size\`, \`strides\`, padding \`valid\`/\`same\`, ${layout}`,
    (r) => new Pooling1D(r, "max"),
  ),
  layer(
    "AveragePooling1D",
    `\`pool_size\`, \`strides\`, padding \`valid\`/\`same\` (padding not counted, as in TensorFlow), ${layout}`,
    (r) => new Pooling1D(r, "average"),
  ),
  layer(
    "GlobalMaxPooling1D",
    `\`keepdims\`, ${layout}; masks are dropped, as Keras drops them`,
    (r) => new GlobalPooling1D(r, "max"),
  ),
  layer(
    "GlobalAveragePooling1D",
    `\`keepdims\`, ${layout}; with a mask, the average of the unmasked steps (as Keras)`,
    (r) => new GlobalPooling1D(r, "average"),
  ),
];
