/**
 * Shared pieces of the layers on [batch, ...spatial, channels] (or, channels_first,
 * [batch, channels, ...spatial]) tensors of any spatial rank: config parsing of per-axis sizes,
 * an index-map copy (padding, cropping, nearest upsampling and resizing), and TensorFlow's
 * resize arithmetic (half-pixel centers, float32 as its CPU kernels compute it).
 */
import { KeraslessError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { describe, type ConfigReader } from "./config.js";
import type { Shape } from "./layer.js";

/** The positions of the spatial axes of a rank-(spatialRank + 2) shape. */
export function spatialAxes(spatialRank: number, channelsFirst: boolean): number[] {
  return Array.from({ length: spatialRank }, (_, i) => i + (channelsFirst ? 2 : 1));
}

function configError(reader: ConfigReader, key: string, what: string): KeraslessError {
  return new KeraslessError(
    "E_CONFIG",
    `layer "${reader.layerName}" (${reader.className}): ` +
      `config "${key}" should be ${what}, got ${describe(reader.raw(key))}`,
    { layer: reader.layerName },
  );
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** One size per spatial axis from an int (every axis) or a list of `rank` ints, each at least `min`. */
export function intTuple(reader: ConfigReader, key: string, rank: number, fallback: number, min = 1): number[] {
  const v = reader.raw(key);
  const what = rank === 1 ? `one integer >= ${min}` : `an integer or ${rank} integers >= ${min}`;
  if (v === undefined || v === null) return new Array<number>(rank).fill(fallback);
  if (typeof v === "number") {
    if (isInt(v) && v >= min) return new Array<number>(rank).fill(v);
    throw configError(reader, key, min === 1 ? "a positive integer" : `an integer >= ${min}`);
  }
  if (Array.isArray(v) && v.length === rank && v.every((d) => isInt(d) && d >= min)) return v as number[];
  throw configError(reader, key, what);
}

/**
 * [before, after] per spatial axis, as Keras standardizes padding and cropping: an int (every
 * side), `rank` ints (both sides of each axis), or `rank` pairs.
 */
export function sidePairs(reader: ConfigReader, key: string, rank: number, fallback: number): [number, number][] {
  if (rank === 1) return [reader.sidePair(key, fallback)];
  const v = reader.raw(key);
  const ok = (d: unknown): d is number => isInt(d) && d >= 0;
  if (v === undefined || v === null) return Array.from({ length: rank }, () => [fallback, fallback]);
  if (ok(v)) return Array.from({ length: rank }, () => [v, v]);
  if (Array.isArray(v) && v.length === rank) {
    if (v.every(ok)) return v.map((d: number) => [d, d]);
    if (v.every((p) => Array.isArray(p) && p.length === 2 && p.every(ok))) return v as [number, number][];
  }
  throw configError(reader, key, `a non-negative integer, ${rank} of them, or ${rank} pairs of them`);
}

/** out index -> input index along one axis; -1 writes the fill value (zero). */
export type AxisMap = Int32Array;

/**
 * out[i0, i1, ...] = x[map0[i0], map1[i1], ...] (`fill` where a map gives -1). A null map is the
 * identity (the axis keeps its size). Padding, cropping, nearest upsampling and resizing are all
 * this copy with different maps.
 */
export function gatherAxes(x: Tensor, maps: readonly (AxisMap | null)[], fill = 0): Tensor {
  const rank = x.shape.length;
  const outShape = x.shape.map((d, a) => maps[a]?.length ?? d);
  const inStrides = new Array<number>(rank);
  for (let a = rank - 1, s = 1; a >= 0; a--) {
    inStrides[a] = s;
    s *= x.shape[a];
  }
  const size = outShape.reduce((p, d) => p * d, 1);
  const out = x.data instanceof Int32Array ? new Int32Array(size) : new Float32Array(size);
  if (fill !== 0) out.fill(fill);
  if (size === 0) return new Tensor(outShape, out);
  const last = rank - 1;
  const lastMap = maps[last];
  const rowLength = outShape[last];
  const index = new Array<number>(last).fill(0);
  // Rows copied whole are gathered into runs (consecutive in both x and out) copied at once.
  let run = { src: 0, dst: 0, length: 0 };
  const flush = () => {
    if (run.length > 0) out.set(x.data.subarray(run.src, run.src + run.length), run.dst);
  };
  for (let dst = 0; dst < size; dst += rowLength) {
    // the input offset of this output row; -1 when any axis maps outside the input
    let src = 0;
    for (let a = 0; a < last && src >= 0; a++) {
      const m = maps[a];
      const i = m === null ? index[a] : m[index[a]];
      src = i < 0 ? -1 : src + i * inStrides[a];
    }
    if (src >= 0) {
      if (lastMap === null) {
        if (src === run.src + run.length && dst === run.dst + run.length) run.length += rowLength;
        else {
          flush();
          run = { src, dst, length: rowLength };
        }
      } else
        for (let j = 0; j < rowLength; j++) {
          const i = lastMap[j];
          if (i >= 0) out[dst + j] = x.data[src + i];
        }
    }
    for (let a = last - 1; a >= 0; a--) {
      if (++index[a] < outShape[a]) break;
      index[a] = 0;
    }
  }
  flush();
  return new Tensor(outShape, out);
}

/** The map of an axis shifted by `shift`: out i reads input i + shift (padding: negative shift). */
export function shiftMap(inSize: number, outSize: number, shift: number): AxisMap {
  const map = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const j = i + shift;
    map[i] = j >= 0 && j < inSize ? j : -1;
  }
  return map;
}

/** Maps for the whole tensor, given one map per spatial axis. */
export function spatialMaps(
  rank: number,
  channelsFirst: boolean,
  perAxis: readonly (AxisMap | null)[],
): (AxisMap | null)[] {
  const maps: (AxisMap | null)[] = new Array<AxisMap | null>(rank).fill(null);
  spatialAxes(rank - 2, channelsFirst).forEach((axis, i) => (maps[axis] = perAxis[i]));
  return maps;
}

const f32 = Math.fround;

/** TensorFlow's resize scale: in / out, as a float32 division. */
function resizeScale(inSize: number, outSize: number): number {
  return f32(inSize / outSize);
}

/** tf.image.resize "nearest" (ResizeNearestNeighbor, half_pixel_centers=True) along one axis. */
export function nearestMap(inSize: number, outSize: number): AxisMap {
  const scale = resizeScale(inSize, outSize);
  const map = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) map[i] = Math.max(0, Math.min(Math.floor(f32(f32(i + 0.5) * scale)), inSize - 1));
  return map;
}

/** Nearest upsampling by an integer factor: out i reads input floor(i / size). */
export function repeatMap(inSize: number, size: number): AxisMap {
  const map = new Int32Array(inSize * size);
  for (let i = 0; i < map.length; i++) map[i] = Math.floor(i / size);
  return map;
}

interface LerpAxis {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

/** ResizeBilinear's per-axis sample positions with half-pixel centers. */
function lerpAxis(inSize: number, outSize: number): LerpAxis {
  const scale = resizeScale(inSize, outSize);
  const axis = { lower: new Int32Array(outSize), upper: new Int32Array(outSize), lerp: new Float32Array(outSize) };
  for (let i = 0; i < outSize; i++) {
    const at = f32(f32(f32(i + 0.5) * scale) - 0.5);
    const floor = Math.floor(at);
    axis.lower[i] = Math.max(floor, 0);
    axis.upper[i] = Math.min(Math.ceil(at), inSize - 1);
    axis.lerp[i] = at - floor;
  }
  return axis;
}

/**
 * A 4D image ([batch, h, w, c] or channels_first [batch, c, h, w]) as the resize loops address
 * it: element (o, y, x, i) is at ((o * h + y) * w + x) * inner + i.
 */
interface ImageLayout {
  readonly h: number;
  readonly w: number;
  readonly outer: number;
  readonly inner: number;
}

/** `x` resized to outH x outW: `fill` writes the output (laid out as `x`) from the input's data. */
function resizeImage(
  x: Tensor,
  channelsFirst: boolean,
  outH: number,
  outW: number,
  fill: (data: Tensor["data"], image: ImageLayout, out: Float32Array) => void,
): Tensor {
  const [batch, d1, d2, d3] = x.shape;
  const [h, w, c] = channelsFirst ? [d2, d3, d1] : [d1, d2, d3];
  const [outer, inner] = channelsFirst ? [batch * c, 1] : [batch, c];
  const out = new Float32Array(outer * outH * outW * inner);
  fill(x.data, { h, w, outer, inner }, out);
  const shape = channelsFirst ? [batch, c, outH, outW] : [batch, outH, outW, c];
  return new Tensor(shape, out);
}

/**
 * tf.image.resize "bilinear" (ResizeBilinear, half_pixel_centers=True) of a 4D tensor
 * ([batch, h, w, c] or channels_first [batch, c, h, w]), in float32 as TensorFlow computes it.
 */
export function resizeBilinear(x: Tensor, channelsFirst: boolean, outH: number, outW: number): Tensor {
  return resizeImage(x, channelsFirst, outH, outW, (data, { h, w, outer, inner }, out) => {
    const ys = lerpAxis(h, outH);
    const xs = lerpAxis(w, outW);
    for (let o = 0; o < outer; o++) {
      for (let oy = 0; oy < outH; oy++) {
        const top = (o * h + ys.lower[oy]) * w;
        const bottom = (o * h + ys.upper[oy]) * w;
        const yLerp = ys.lerp[oy];
        for (let ox = 0; ox < outW; ox++) {
          const left = xs.lower[ox] * inner;
          const right = xs.upper[ox] * inner;
          const xLerp = xs.lerp[ox];
          const dst = ((o * outH + oy) * outW + ox) * inner;
          for (let i = 0; i < inner; i++) {
            const tl = data[top * inner + left + i];
            const tr = data[top * inner + right + i];
            const bl = data[bottom * inner + left + i];
            const br = data[bottom * inner + right + i];
            const upper = f32(tl + f32(f32(tr - tl) * xLerp));
            const lower = f32(bl + f32(f32(br - bl) * xLerp));
            out[dst + i] = upper + f32(f32(lower - upper) * yLerp);
          }
        }
      }
    }
  });
}

/** ResizeBicubic's coefficient table (Keys' cubic, a = -0.5, 1024 steps), in float32 as TF builds it. */
const CUBIC_STEPS = 1024;
let cubicTable: Float32Array | null = null;

function cubicCoefficients(): Float32Array {
  if (cubicTable !== null) return cubicTable;
  const a = -0.5;
  cubicTable = new Float32Array((CUBIC_STEPS + 1) * 2);
  for (let i = 0; i <= CUBIC_STEPS; i++) {
    let x = f32(i / CUBIC_STEPS);
    cubicTable[i * 2] = f32(f32(f32(f32(f32((a + 2) * x) - (a + 3)) * x) * x) + 1);
    x = f32(x + 1);
    cubicTable[i * 2 + 1] = f32(f32(f32(f32(f32(f32(a * x) - 5 * a) * x) + 8 * a) * x) - 4 * a);
  }
  return cubicTable;
}

/** Per output index: 4 input indices and weights (taps outside the input get weight 0, renormalized). */
function cubicAxis(inSize: number, outSize: number): { index: Int32Array; weight: Float32Array } {
  const table = cubicCoefficients();
  const scale = resizeScale(inSize, outSize);
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const at = f32(f32(f32(o + 0.5) * scale) - 0.5);
    const base = Math.floor(at);
    const offset = Math.round(f32(f32(at - base) * CUBIC_STEPS)); // lrintf; ties cannot occur in practice
    const taps = [
      table[offset * 2 + 1],
      table[offset * 2],
      table[(CUBIC_STEPS - offset) * 2],
      table[(CUBIC_STEPS - offset) * 2 + 1],
    ];
    let sum = 0;
    for (let k = 0; k < 4; k++) {
      const i = base - 1 + k;
      const bounded = Math.min(inSize - 1, Math.max(0, i));
      index[o * 4 + k] = bounded;
      weight[o * 4 + k] = bounded === i ? taps[k] : 0;
      sum = f32(sum + weight[o * 4 + k]);
    }
    if (Math.abs(sum) >= 1000 * 1.1754943508222875e-38) {
      const inverse = f32(1 / sum);
      for (let k = 0; k < 4; k++) weight[o * 4 + k] = f32(weight[o * 4 + k] * inverse);
    }
  }
  return { index, weight };
}

/** tf.image.resize "bicubic" (ResizeBicubic, half_pixel_centers=True) of a 4D tensor, as resizeBilinear. */
export function resizeBicubic(x: Tensor, channelsFirst: boolean, outH: number, outW: number): Tensor {
  return resizeImage(x, channelsFirst, outH, outW, (data, { h, w, outer, inner }, out) => {
    const ys = cubicAxis(h, outH);
    const xs = cubicAxis(w, outW);
    const rows = new Float32Array(4);
    for (let o = 0; o < outer; o++)
      for (let oy = 0; oy < outH; oy++)
        for (let ox = 0; ox < outW; ox++)
          for (let i = 0; i < inner; i++) {
            for (let r = 0; r < 4; r++) {
              const row = (o * h + ys.index[oy * 4 + r]) * w;
              let v = 0;
              for (let k = 0; k < 4; k++)
                v = f32(v + f32(xs.weight[ox * 4 + k] * data[(row + xs.index[ox * 4 + k]) * inner + i]));
              rows[r] = v;
            }
            let v = 0;
            for (let r = 0; r < 4; r++) v = f32(v + f32(ys.weight[oy * 4 + r] * rows[r]));
            out[((o * outH + oy) * outW + ox) * inner + i] = v;
          }
  });
}

/**
 * The largest centred window of an h x w image with the target's aspect ratio (Keras'
 * crop_to_aspect_ratio and smart_resize): [hStart, wStart, cropH, cropW], in their float32
 * arithmetic.
 */
export function aspectCrop(h: number, w: number, targetH: number, targetW: number): [number, number, number, number] {
  const cropH = Math.max(Math.min(h, Math.trunc(f32(f32(w * targetH) / targetW))), 1);
  const cropW = Math.max(Math.min(w, Math.trunc(f32(f32(h * targetW) / targetH))), 1);
  return [Math.trunc((h - cropH) / 2), Math.trunc((w - cropW) / 2), cropH, cropW];
}

/** A shape with new sizes on the spatial axes (null stays unknown). */
export function withSpatial(input: Shape, channelsFirst: boolean, sizes: readonly (number | null)[]): Shape {
  const out = [...input];
  spatialAxes(input.length - 2, channelsFirst).forEach((axis, i) => (out[axis] = sizes[i]));
  return out;
}
