/** Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D, Cropping1D, UpSampling1D. */
import { transpose } from "../kernels/transpose.js";
import { Tensor, formatShape, sizeOf } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, type Shape, type StreamBehaviour } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";

function product(dims: readonly (number | null)[]): number | null {
  return dims.some((d) => d === null) ? null : sizeOf(dims as number[]);
}

/** Flatten: [batch, ...] -> [batch, prod(...)]. */
export class Flatten extends Layer {
  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    reader.allowOnly("data_format", ["channels_last", null]);
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([]);
    return [[input[0], product(input.slice(1))]];
  }

  call([x]: Tensor[]): Tensor[] {
    const batch = x.shape[0];
    return [new Tensor([batch, batch === 0 ? 0 : x.size / batch], x.data)];
  }
}

/** Reshape: [batch, ...] -> [batch, ...target_shape]; one target dimension may be -1. */
export class Reshape extends Layer {
  readonly targetShape: number[];

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.targetShape = reader.intList("target_shape");
    if (this.targetShape.filter((d) => d === -1).length > 1 || this.targetShape.some((d) => d < -1)) {
      throw this.error("E_CONFIG", `target_shape ${formatShape(this.targetShape)} is not a valid shape`);
    }
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([]);
    const size = product(input.slice(1));
    return [[input[0], ...this.resolve(size)]];
  }

  /** Fills in the -1 dimension when the element count is known. */
  private resolve(size: number | null): (number | null)[] {
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (!this.targetShape.includes(-1)) {
      if (size !== null && size !== known) {
        throw this.error("E_CONFIG", `cannot reshape ${size} values into ${formatShape(this.targetShape)}`);
      }
      return this.targetShape;
    }
    if (size === null) return this.targetShape.map((d) => (d === -1 ? null : d));
    if (known === 0 || size % known !== 0) {
      throw this.error("E_CONFIG", `cannot reshape ${size} values into ${formatShape(this.targetShape)}`);
    }
    return this.targetShape.map((d) => (d === -1 ? size / known : d));
  }

  call([x]: Tensor[]): Tensor[] {
    const batch = x.shape[0];
    const dims = this.resolve(batch === 0 ? 0 : x.size / batch) as number[];
    if (sizeOf(dims) * batch !== x.size) {
      throw this.error(
        "E_INPUT_SHAPE",
        `cannot reshape input of shape ${formatShape(x.shape)} into ${formatShape(this.targetShape)}`,
      );
    }
    return [new Tensor([batch, ...dims], x.data)];
  }
}

/** Permute: reorders the non-batch axes; `dims` are 1-based as in Keras. */
export class Permute extends Layer {
  readonly dims: number[];

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.dims = reader.intList("dims");
    const sorted = [...this.dims].sort((a, b) => a - b);
    if (!sorted.every((d, i) => d === i + 1)) {
      throw this.error("E_CONFIG", `dims ${formatShape(this.dims)} is not a permutation of 1..${this.dims.length}`);
    }
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, this.dims.length + 1);
    this.declareWeights([]);
    return [[input[0], ...this.dims.map((d) => input[d])]];
  }

  call([x]: Tensor[]): Tensor[] {
    const perm = [0, ...this.dims];
    const out = x.data instanceof Int32Array ? new Int32Array(x.size) : new Float32Array(x.size);
    transpose(x.data, x.shape, perm, out);
    return [
      new Tensor(
        perm.map((p) => x.shape[p]),
        out,
      ),
    ];
  }
}

/** RepeatVector: [batch, features] -> [batch, n, features]. */
export class RepeatVector extends Layer {
  readonly n: number;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.n = reader.positiveInt("n");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, 2);
    this.declareWeights([]);
    return [[input[0], this.n, input[1]]];
  }

  override streamBehaviour(): StreamBehaviour {
    return { kind: "refused", reason: "repeats a whole-sequence summary over a new time axis" };
  }

  call([x]: Tensor[]): Tensor[] {
    const [batch, features] = x.shape;
    const out =
      x.data instanceof Int32Array
        ? new Int32Array(batch * this.n * features)
        : new Float32Array(batch * this.n * features);
    for (let b = 0; b < batch; b++) {
      const row = x.data.subarray(b * features, (b + 1) * features);
      for (let t = 0; t < this.n; t++) out.set(row, (b * this.n + t) * features);
    }
    return [new Tensor([batch, this.n, features], out)];
  }
}

/**
 * Copies, per batch row and channel, a window of steps from x into a new steps axis:
 * out step t = x step (t + shift), zero where that falls outside x. Used by padding and cropping.
 */
function shiftSteps(x: Tensor, channelsFirst: boolean, outSteps: number, shift: number): Tensor {
  const [batch, d1, d2] = x.shape;
  const [steps, channels] = channelsFirst ? [d2, d1] : [d1, d2];
  const out =
    x.data instanceof Int32Array
      ? new Int32Array(batch * outSteps * channels)
      : new Float32Array(batch * outSteps * channels);
  const first = Math.max(0, -shift);
  const last = Math.min(outSteps, steps - shift); // exclusive
  for (let b = 0; b < batch; b++) {
    if (channelsFirst) {
      for (let c = 0; c < channels; c++) {
        const src = (b * channels + c) * steps + shift;
        const dst = (b * channels + c) * outSteps;
        if (last > first) out.set(x.data.subarray(src + first, src + last), dst + first);
      }
    } else if (last > first) {
      out.set(
        x.data.subarray((b * steps + first + shift) * channels, (b * steps + last + shift) * channels),
        (b * outSteps + first) * channels,
      );
    }
  }
  return new Tensor(channelsFirst ? [batch, channels, outSteps] : [batch, outSteps, channels], out);
}

/**
 * Layers of [batch, steps, channels] (or, channels_first, [batch, channels, steps]) that only
 * change the number of steps.
 */
abstract class StepsLayer extends Layer {
  protected channelsFirst = false;

  /** The output's steps for `steps` input steps (a load-time error when there are none). */
  protected abstract outSteps(steps: number): number;

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, 3);
    this.declareWeights([]);
    const axis = this.channelsFirst ? 2 : 1;
    const out = [...input];
    const steps = input[axis];
    out[axis] = steps === null ? null : this.outSteps(steps);
    return [out];
  }
}

/** ZeroPadding1D: zeros before and after the steps axis. */
export class ZeroPadding1D extends StepsLayer {
  readonly padding: [number, number];

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.padding = reader.sidePair("padding", 1);
    // data_format: Keras 3 only; Keras 2 has no data_format here.
    this.channelsFirst = reader.dataFormat() === "channels_first";
  }

  protected outSteps(steps: number): number {
    return steps + this.padding[0] + this.padding[1];
  }

  call([x]: Tensor[]): Tensor[] {
    const steps = x.shape[this.channelsFirst ? 2 : 1];
    return [shiftSteps(x, this.channelsFirst, this.outSteps(steps), -this.padding[0])];
  }
}

/** Cropping1D: drops steps at the start and end of [batch, steps, channels]. */
export class Cropping1D extends StepsLayer {
  readonly cropping: [number, number];

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.cropping = reader.sidePair("cropping", 1);
  }

  protected outSteps(steps: number): number {
    const length = steps - this.cropping[0] - this.cropping[1];
    if (length <= 0) {
      const why = "Keras requires fewer cropped steps than the input has";
      throw this.error(
        "E_INPUT_SHAPE",
        `cropping ${formatShape(this.cropping)} leaves nothing of ${steps} steps (${why})`,
      );
    }
    return length;
  }

  call([x]: Tensor[]): Tensor[] {
    return [shiftSteps(x, false, this.outSteps(x.shape[1]), this.cropping[0])];
  }
}

/** UpSampling1D: repeats every step `size` times. */
export class UpSampling1D extends StepsLayer {
  readonly size: number;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.size = reader.positiveInt("size", 2);
  }

  protected outSteps(steps: number): number {
    return steps * this.size;
  }

  call([x]: Tensor[]): Tensor[] {
    const [batch, steps, channels] = x.shape;
    const out =
      x.data instanceof Int32Array ? new Int32Array(x.size * this.size) : new Float32Array(x.size * this.size);
    for (let row = 0; row < batch * steps; row++) {
      const src = x.data.subarray(row * channels, (row + 1) * channels);
      for (let k = 0; k < this.size; k++) out.set(src, (row * this.size + k) * channels);
    }
    return [new Tensor([batch, this.outSteps(steps), channels], out)];
  }
}

const layer = family("reshaping");

export const reshapingLayers: LayerDefinition[] = [
  layer("Flatten", "`channels_last`", (r) => new Flatten(r)),
  layer("Reshape", "`target_shape` with one `-1`", (r) => new Reshape(r)),
  layer("Permute", "any permutation of the non-batch axes", (r) => new Permute(r)),
  layer("RepeatVector", "`n`", (r) => new RepeatVector(r)),
  layer("ZeroPadding1D", "`padding` (int or pair), `channels_last`/`channels_first`", (r) => new ZeroPadding1D(r)),
  layer("Cropping1D", "`cropping` (int or pair)", (r) => new Cropping1D(r)),
  layer("UpSampling1D", "`size`", (r) => new UpSampling1D(r)),
];
