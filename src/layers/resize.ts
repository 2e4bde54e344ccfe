/**
 * tf.image.resize as Keras runs it (the Resizing layer, smart_resize, `tf.image.resize` and
 * `keras.ops.image.resize` in op layers): an optional centred aspect-ratio crop or pad, then the
 * TensorFlow kernel the interpolation and `antialias` select, with half-pixel centers.
 */
import { Tensor } from "../tensor.js";
import { SAMPLING_KERNELS, scaleAndTranslate } from "./resample.js";
import {
  aspectCrop,
  gatherAxes,
  nearestMap,
  resizeBicubic,
  resizeBilinear,
  shiftMap,
  spatialAxes,
  spatialMaps,
} from "./spatial.js";

const f32 = Math.fround;

/** The interpolations kerasless runs, as tf.image.resize names them. */
export const INTERPOLATIONS = ["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "gaussian", "mitchellcubic"];

export interface ResizeOptions {
  readonly interpolation: string;
  /** Ignored by "nearest"; with bilinear and bicubic, TF's antialiasing resampler instead of its resize kernels. */
  readonly antialias: boolean;
  /** Keras' crop_to_aspect_ratio / pad_to_aspect_ratio. */
  readonly aspect: "crop" | "pad" | null;
  readonly fillValue: number;
}

/** The ScaleAndTranslate kernel an interpolation runs with, if it runs through ScaleAndTranslate. */
function samplingKernel(interpolation: string, antialias: boolean): string | undefined {
  if (interpolation === "bilinear") return antialias ? "triangle" : undefined;
  if (interpolation === "bicubic") return antialias ? "keyscubic" : undefined;
  return interpolation === "nearest" ? undefined : interpolation;
}

/** tf.image.resize to [height, width], after the centred aspect-ratio crop or pad Keras applies first. */
export function resizeImages(
  x: Tensor,
  channelsFirst: boolean,
  height: number,
  width: number,
  options: ResizeOptions,
): Tensor {
  const [hAxis, wAxis] = spatialAxes(2, channelsFirst);
  const [h, w] = [x.shape[hAxis], x.shape[wAxis]];
  if (options.aspect === "crop") {
    const [hStart, wStart, cropH, cropW] = aspectCrop(h, w, height, width);
    x = gatherAxes(x, spatialMaps(4, channelsFirst, [shiftMap(h, cropH, hStart), shiftMap(w, cropW, wStart)]));
  } else if (options.aspect === "pad") {
    // Keras 3 pads the same amount on both sides (so one row less when the difference is odd).
    const padH = Math.max(h, Math.trunc(f32(f32(w * height) / width)));
    const padW = Math.max(w, Math.trunc(f32(f32(h * width) / height)));
    const [top, left] = [Math.trunc((padH - h) / 2), Math.trunc((padW - w) / 2)];
    const maps = [shiftMap(h, h + 2 * top, -top), shiftMap(w, w + 2 * left, -left)];
    x = gatherAxes(x, spatialMaps(4, channelsFirst, maps), options.fillValue);
  }
  const kernel = samplingKernel(options.interpolation, options.antialias);
  if (kernel !== undefined)
    return scaleAndTranslate(x, channelsFirst, height, width, SAMPLING_KERNELS[kernel], options.antialias);
  if (options.interpolation === "bilinear") return resizeBilinear(x, channelsFirst, height, width);
  if (options.interpolation === "bicubic") return resizeBicubic(x, channelsFirst, height, width);
  const [inH, inW] = [x.shape[hAxis], x.shape[wAxis]];
  return gatherAxes(x, spatialMaps(4, channelsFirst, [nearestMap(inH, height), nearestMap(inW, width)]));
}
