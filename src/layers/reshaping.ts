/**
 * Reshaping layers: Flatten, Reshape, Permute, RepeatVector; ZeroPadding, Cropping and UpSampling
 * 1D/2D/3D (reshaping-nd.ts).
 */
import { transpose } from "../kernels/transpose.js";
import { Tensor, formatShape, sizeOf } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, type Shape, type StreamBehaviour } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";
import { Cropping, UpSampling, ZeroPadding } from "./reshaping-nd.js";

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

const layer = family("reshaping");
const layout = "`channels_last`/`channels_first`";

export const reshapingLayers: LayerDefinition[] = [
  layer("Flatten", "`channels_last`", (r) => new Flatten(r)),
  layer("Reshape", "`target_shape` with one `-1`", (r) => new Reshape(r)),
  layer("Permute", "any permutation of the non-batch axes", (r) => new Permute(r)),
  layer("RepeatVector", "`n`", (r) => new RepeatVector(r)),
  layer("ZeroPadding1D", `\`padding\` (int or pair), ${layout}`, (r) => new ZeroPadding(r, 1)),
  layer("ZeroPadding2D", `\`padding\` (int, 2 ints or 2 pairs), ${layout}`, (r) => new ZeroPadding(r, 2)),
  layer("ZeroPadding3D", `\`padding\` (int, 3 ints or 3 pairs), ${layout}`, (r) => new ZeroPadding(r, 3)),
  layer("Cropping1D", "`cropping` (int or pair)", (r) => new Cropping(r, 1)),
  layer("Cropping2D", `\`cropping\` (int, 2 ints or 2 pairs), ${layout}`, (r) => new Cropping(r, 2)),
  layer("Cropping3D", `\`cropping\` (int, 3 ints or 3 pairs), ${layout}`, (r) => new Cropping(r, 3)),
  layer("UpSampling1D", "`size`", (r) => new UpSampling(r, 1)),
  layer(
    "UpSampling2D",
    `\`size\`, interpolation \`nearest\`/\`bilinear\`/\`bicubic\` (as tf.image.resize), ${layout}`,
    (r) => new UpSampling(r, 2),
  ),
  layer("UpSampling3D", `\`size\`, ${layout}`, (r) => new UpSampling(r, 3)),
];
