/**
 * Layers that change the sizes of 1, 2 or 3 spatial axes of [batch, ...spatial, channels] (or,
 * channels_first, [batch, channels, ...spatial]): ZeroPadding1D/2D/3D, Cropping1D/2D/3D and
 * UpSampling1D/2D/3D (UpSampling2D also bilinear). Each is one index-map copy (spatial.ts).
 */
import { formatShape, Tensor } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, type Shape } from "./layer.js";
import {
  gatherAxes,
  repeatMap,
  resizeBicubic,
  resizeBilinear,
  shiftMap,
  sidePairs,
  spatialAxes,
  spatialMaps,
  intTuple,
  withSpatial,
} from "./spatial.js";

/** A weightless layer that maps each spatial size to a new one. */
abstract class SpatialSizeLayer extends Layer {
  readonly channelsFirst: boolean;

  constructor(
    reader: ConfigReader,
    readonly rank: number,
  ) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.channelsFirst = reader.dataFormat() === "channels_first";
  }

  /** The output size of spatial axis `a` (a load-time error when nothing is left). */
  protected abstract outSize(a: number, size: number): number;

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, this.rank + 2);
    this.declareWeights([]);
    const sizes = spatialAxes(this.rank, this.channelsFirst).map((axis, a) => {
      const size = input[axis];
      return size === null ? null : this.outSize(a, size);
    });
    return [withSpatial(input, this.channelsFirst, sizes)];
  }

  protected inSizes(x: Tensor): number[] {
    return spatialAxes(this.rank, this.channelsFirst).map((axis) => x.shape[axis]);
  }
}

/** ZeroPadding1D/2D/3D: zeros before and after each spatial axis. */
export class ZeroPadding extends SpatialSizeLayer {
  readonly padding: [number, number][];
  override readonly freshOutputs = true;

  constructor(reader: ConfigReader, rank: number) {
    super(reader, rank);
    this.padding = sidePairs(reader, "padding", rank, 1);
  }

  protected outSize(a: number, size: number): number {
    return size + this.padding[a][0] + this.padding[a][1];
  }

  zeroPads(): { begin: number[]; end: number[] } | null {
    if (this.channelsFirst) return null;
    return { begin: this.padding.map((p) => p[0]), end: this.padding.map((p) => p[1]) };
  }

  call([x]: Tensor[]): Tensor[] {
    const maps = this.inSizes(x).map((size, a) => shiftMap(size, this.outSize(a, size), -this.padding[a][0]));
    return [gatherAxes(x, spatialMaps(x.shape.length, this.channelsFirst, maps))];
  }
}

/** Cropping1D/2D/3D: drops positions at the start and end of each spatial axis. */
export class Cropping extends SpatialSizeLayer {
  readonly cropping: [number, number][];

  constructor(reader: ConfigReader, rank: number) {
    super(reader, rank);
    this.cropping = sidePairs(reader, "cropping", rank, 1);
  }

  protected outSize(a: number, size: number): number {
    const [before, after] = this.cropping[a];
    const length = size - before - after;
    if (length <= 0) {
      const why = "Keras requires fewer cropped positions than the input has";
      const what = this.rank === 1 ? `${size} steps` : `size ${size} of spatial axis ${a + 1}`;
      throw this.error("E_INPUT_SHAPE", `cropping ${formatShape([before, after])} leaves nothing of ${what} (${why})`);
    }
    return length;
  }

  call([x]: Tensor[]): Tensor[] {
    const maps = this.inSizes(x).map((size, a) => shiftMap(size, this.outSize(a, size), this.cropping[a][0]));
    return [gatherAxes(x, spatialMaps(x.shape.length, this.channelsFirst, maps))];
  }
}

/** UpSampling1D/2D/3D: repeats every position `size` times per axis; UpSampling2D may interpolate. */
export class UpSampling extends SpatialSizeLayer {
  readonly size: number[];
  readonly interpolation: "nearest" | "bilinear" | "bicubic";

  constructor(reader: ConfigReader, rank: number) {
    super(reader, rank);
    this.size = intTuple(reader, "size", rank, 2);
    const interpolation = reader.string("interpolation", "nearest");
    const resized = interpolation === "bilinear" || interpolation === "bicubic";
    if (interpolation !== "nearest" && (!resized || rank !== 2))
      reader.unsupported(
        `interpolation=${JSON.stringify(interpolation)} is not supported (supported: "nearest", "bilinear", "bicubic")`,
      );
    this.interpolation = resized ? interpolation : "nearest";
  }

  protected outSize(a: number, size: number): number {
    return size * this.size[a];
  }

  call([x]: Tensor[]): Tensor[] {
    const sizes = this.inSizes(x);
    const [outH, outW] = [this.outSize(0, sizes[0]), this.outSize(1, sizes[1])];
    if (this.interpolation === "bilinear") return [resizeBilinear(x, this.channelsFirst, outH, outW)];
    if (this.interpolation === "bicubic") return [resizeBicubic(x, this.channelsFirst, outH, outW)];
    const maps = sizes.map((size, a) => repeatMap(size, this.size[a]));
    return [gatherAxes(x, spatialMaps(x.shape.length, this.channelsFirst, maps))];
  }
}
