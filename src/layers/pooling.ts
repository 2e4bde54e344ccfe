/**
 * Pooling over 1, 2 or 3 spatial axes: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D (windows; padding
 * valid or same) and GlobalMax/GlobalAveragePooling1D/2D/3D (every position; the 1D average honours
 * masks). Inputs are [batch, ...spatial, channels], or [batch, channels, ...spatial] with
 * channels_first.
 */
import { Tensor, toFloat32 } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, type Mask, type Masks, type Shape } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";
import { intTuple, spatialAxes, withSpatial } from "./spatial.js";

/**
 * MaxPooling1D/2D/3D and AveragePooling1D/2D/3D. As in TensorFlow, `same` padding never enters a
 * window: averages count real positions only.
 */
export class Pooling extends Layer {
  readonly mode: "max" | "average";
  readonly rank: number;
  readonly poolSize: number[];
  readonly strides: number[];
  readonly padding: "valid" | "same";
  readonly channelsFirst: boolean;
  /** The windows of the last input size seen (the size is normally fixed at load). */
  private cachedWindows: { key: string; start: Int32Array; positions: Int32Array } | null = null;

  constructor(reader: ConfigReader, mode: "max" | "average", rank: number) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.mode = mode;
    this.rank = rank;
    this.poolSize = intTuple(reader, "pool_size", rank, 2);
    this.strides = reader.has("strides") ? intTuple(reader, "strides", rank, 1) : this.poolSize;
    const padding = reader.string("padding", "valid").toLowerCase();
    if (padding !== "valid" && padding !== "same")
      reader.unsupported(`padding=${JSON.stringify(padding)} is not supported (Keras allows "valid" and "same")`);
    this.padding = padding === "same" ? "same" : "valid";
    this.channelsFirst = reader.dataFormat() === "channels_first";
  }

  /** Output size and padding before the first position, along spatial axis `a`. */
  private geometry(a: number, size: number): { out: number; padBefore: number } {
    const pool = this.poolSize[a];
    const stride = this.strides[a];
    if (this.padding === "valid") {
      const out = Math.floor((size - pool) / stride) + 1;
      if (out < 1) {
        const what = this.rank === 1 ? `${size} steps` : `size ${size} of spatial axis ${a + 1}`;
        throw this.error("E_INPUT_SHAPE", `a pool of ${pool} does not fit in ${what} with padding "valid"`);
      }
      return { out, padBefore: 0 };
    }
    const out = Math.ceil(size / stride);
    return { out, padBefore: Math.floor(Math.max((out - 1) * stride + pool - size, 0) / 2) };
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, this.rank + 2);
    this.declareWeights([]);
    const sizes = spatialAxes(this.rank, this.channelsFirst).map((axis, a) => {
      const size = input[axis];
      return size === null ? null : this.geometry(a, size).out;
    });
    return [withSpatial(input, this.channelsFirst, sizes)];
  }

  call([x]: Tensor[]): Tensor[] {
    const axes = spatialAxes(this.rank, this.channelsFirst);
    const inSizes = axes.map((axis) => x.shape[axis]);
    const geometry = inSizes.map((size, a) => this.geometry(a, size));
    const outSizes = geometry.map((g) => g.out);
    const batch = x.shape[0];
    const channels = x.shape[this.channelsFirst ? 1 : this.rank + 1];
    const inPlane = inSizes.reduce((p, d) => p * d, 1);
    const outPlane = outSizes.reduce((p, d) => p * d, 1);
    // Element strides of a spatial position and of a channel, in the input and the output.
    const [inStep, inChannel] = this.channelsFirst ? [1, inPlane] : [channels, 1];
    const [outStep, outChannel] = this.channelsFirst ? [1, outPlane] : [channels, 1];
    const key = inSizes.join(",");
    if (this.cachedWindows?.key !== key) this.cachedWindows = { key, ...this.windows(inSizes, geometry) };
    const windows = this.cachedWindows;
    const data = toFloat32(x);
    const out = new Float32Array(batch * channels * outPlane);
    for (let b = 0; b < batch; b++) {
      for (let p = 0; p < outPlane; p++) {
        const first = windows.start[p];
        const last = windows.start[p + 1];
        for (let c = 0; c < channels; c++) {
          const base = b * inPlane * channels + c * inChannel;
          let result: number;
          if (this.mode === "max") {
            result = -Infinity;
            for (let k = first; k < last; k++) {
              const v = data[base + windows.positions[k] * inStep];
              if (v > result || Number.isNaN(v)) result = v;
            }
          } else {
            let sum = 0;
            for (let k = first; k < last; k++) sum += data[base + windows.positions[k] * inStep];
            result = sum / (last - first);
          }
          out[b * outPlane * channels + p * outStep + c * outChannel] = result;
        }
      }
    }
    return [new Tensor(withSpatial(x.shape, this.channelsFirst, outSizes) as number[], out)];
  }

  /**
   * The input positions (flat spatial indices) of every output position's window, clipped to the
   * input: output p reads positions[start[p] .. start[p + 1]).
   */
  private windows(
    inSizes: number[],
    geometry: { out: number; padBefore: number }[],
  ): { start: Int32Array; positions: Int32Array } {
    // per axis, per output index: the clipped input range
    const ranges = geometry.map(({ out, padBefore }, a) =>
      Array.from({ length: out }, (_, t) => {
        const from = t * this.strides[a] - padBefore;
        return [Math.max(from, 0), Math.min(from + this.poolSize[a], inSizes[a])];
      }),
    );
    // A window is the product of its per-axis ranges; build them axis by axis (row-major order).
    let windows: number[][] = [[0]];
    for (let a = 0; a < this.rank; a++) {
      const next: number[][] = [];
      for (const window of windows)
        for (const [from, to] of ranges[a]) {
          const flat: number[] = [];
          for (const base of window) for (let i = from; i < to; i++) flat.push(base * inSizes[a] + i);
          next.push(flat);
        }
      windows = next;
    }
    const start = new Int32Array(windows.length + 1);
    windows.forEach((w, p) => (start[p + 1] = start[p] + w.length));
    return { start, positions: Int32Array.from(windows.flat()) };
  }
}

/**
 * GlobalMax/GlobalAveragePooling1D/2D/3D: reduce the spatial axes. Only the 1D average supports
 * masks (in both Keras versions): it averages the unmasked steps, and its output carries no mask.
 */
export class GlobalPooling extends Layer {
  readonly mode: "max" | "average";
  readonly rank: number;
  readonly keepdims: boolean;
  readonly channelsFirst: boolean;
  override readonly supportsMasking: boolean;
  private readonly kerasMajor: 2 | 3;

  constructor(reader: ConfigReader, mode: "max" | "average", rank: number) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.mode = mode;
    this.rank = rank;
    this.keepdims = reader.bool("keepdims", false);
    this.channelsFirst = reader.dataFormat() === "channels_first";
    this.supportsMasking = mode === "average" && rank === 1;
    this.kerasMajor = reader.context.kerasMajor;
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, this.rank + 2);
    this.declareWeights([]);
    return [this.outputShape(input)];
  }

  private outputShape(input: Shape): (number | null)[] {
    const channels = input[this.channelsFirst ? 1 : this.rank + 1];
    if (!this.keepdims) return [input[0], channels];
    const ones = new Array<number>(this.rank).fill(1);
    return this.channelsFirst ? [input[0], channels, ...ones] : [input[0], ...ones, channels];
  }

  override computeMask(): (Mask | null)[] {
    return [null];
  }

  call([x]: Tensor[], masks: Masks): Tensor[] {
    const batch = x.shape[0];
    const channels = x.shape[this.channelsFirst ? 1 : this.rank + 1];
    const steps = batch * channels === 0 ? 0 : x.size / (batch * channels); // spatial positions
    // element strides of a position and of a channel
    const [step, channel] = this.channelsFirst ? [1, steps] : [channels, 1];
    const data = toFloat32(x);
    const mask = this.supportsMasking ? (masks[0] ?? null) : null;
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
    return [new Tensor(this.outputShape(x.shape) as number[], out)];
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

const windowed = `\`pool_size\`, \`strides\`, padding \`valid\`/\`same\``;
const notCounted = "(padding not counted, as in TensorFlow)";
const globalMax = `\`keepdims\`, ${layout}; masks are dropped, as Keras drops them`;
const globalAverage = `\`keepdims\`, ${layout}`;

export const poolingLayers: LayerDefinition[] = [
  layer("MaxPooling1D", `${windowed}, ${layout}`, (r) => new Pooling(r, "max", 1)),
  layer("MaxPooling2D", `${windowed}, ${layout}`, (r) => new Pooling(r, "max", 2)),
  layer("MaxPooling3D", `${windowed}, ${layout}`, (r) => new Pooling(r, "max", 3)),
  layer("AveragePooling1D", `${windowed} ${notCounted}, ${layout}`, (r) => new Pooling(r, "average", 1)),
  layer("AveragePooling2D", `${windowed} ${notCounted}, ${layout}`, (r) => new Pooling(r, "average", 2)),
  layer("AveragePooling3D", `${windowed} ${notCounted}, ${layout}`, (r) => new Pooling(r, "average", 3)),
  layer("GlobalMaxPooling1D", globalMax, (r) => new GlobalPooling(r, "max", 1)),
  layer("GlobalMaxPooling2D", globalMax, (r) => new GlobalPooling(r, "max", 2)),
  layer("GlobalMaxPooling3D", globalMax, (r) => new GlobalPooling(r, "max", 3)),
  layer(
    "GlobalAveragePooling1D",
    `${globalAverage}; with a mask, the average of the unmasked steps (as Keras)`,
    (r) => new GlobalPooling(r, "average", 1),
  ),
  layer("GlobalAveragePooling2D", globalAverage, (r) => new GlobalPooling(r, "average", 2)),
  layer("GlobalAveragePooling3D", globalAverage, (r) => new GlobalPooling(r, "average", 3)),
];
