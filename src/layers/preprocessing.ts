/**
 * Image preprocessing layers as they run at inference: Resizing, CenterCrop, RandomCrop, and the
 * other Random* augmentation layers, which Keras skips outside training (the identity). Images are
 * [batch, height, width, channels], or [batch, channels, height, width] with channels_first (a
 * Keras 3 option).
 */
import { Tensor } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { InferenceIdentity } from "./core.js";
import { Layer, type Shape, type StreamBehaviour } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";
import { INTERPOLATIONS, resizeImages, type ResizeOptions } from "./resize.js";
import { gatherAxes, shiftMap, spatialAxes, spatialMaps, withSpatial } from "./spatial.js";

/** An image layer with a fixed output height and width. */
abstract class ImageLayer extends Layer {
  readonly height: number;
  readonly width: number;
  readonly channelsFirst: boolean;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.height = reader.positiveInt("height");
    this.width = reader.positiveInt("width");
    this.channelsFirst = reader.dataFormat() === "channels_first";
    // Keras 3's image-layer base: the random layers' factor, and the format of bounding boxes.
    reader.ignore("factor", "bounding_box_format");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, 4);
    this.declareWeights([]);
    return [withSpatial(input, this.channelsFirst, [this.height, this.width])];
  }
}

/** Resizing: bilinear or nearest, optionally after an aspect-ratio crop or pad, as tf.image.resize. */
export class Resizing extends ImageLayer {
  readonly options: ResizeOptions;

  constructor(reader: ConfigReader) {
    super(reader);
    const interpolation = reader.string("interpolation", "bilinear");
    if (!INTERPOLATIONS.includes(interpolation)) {
      const supported = `(supported: ${INTERPOLATIONS.map((i) => JSON.stringify(i)).join(", ")})`;
      reader.unsupported(`interpolation=${JSON.stringify(interpolation)} is not supported ${supported}`);
    }
    const crop = reader.bool("crop_to_aspect_ratio", false);
    const pad = reader.bool("pad_to_aspect_ratio", false);
    if (crop && pad) reader.unsupported("crop_to_aspect_ratio and pad_to_aspect_ratio are both set (Keras refuses it)");
    reader.allowOnly("fill_mode", ["constant"]);
    this.options = {
      interpolation,
      antialias: reader.bool("antialias", false),
      aspect: crop ? "crop" : pad ? "pad" : null,
      fillValue: reader.number("fill_value", 0),
    };
  }

  call([x]: Tensor[]): Tensor[] {
    return [resizeImages(x, this.channelsFirst, this.height, this.width, this.options)];
  }
}

const SMART_RESIZE: ResizeOptions = { interpolation: "bilinear", antialias: false, aspect: "crop", fillValue: 0 };

/** CenterCrop: the centred window when the image is large enough, otherwise Keras' smart_resize. */
export class CenterCrop extends ImageLayer {
  call([x]: Tensor[]): Tensor[] {
    const [h, w] = spatialAxes(2, this.channelsFirst).map((axis) => x.shape[axis]);
    if (h < this.height || w < this.width)
      return [resizeImages(x, this.channelsFirst, this.height, this.width, SMART_RESIZE)];
    const hStart = Math.floor((h - this.height) / 2);
    const wStart = Math.floor((w - this.width) / 2);
    const maps = [shiftMap(h, this.height, hStart), shiftMap(w, this.width, wStart)];
    return [gatherAxes(x, spatialMaps(4, this.channelsFirst, maps))];
  }
}

/**
 * RandomCrop at inference: tf_keras applies smart_resize (centred aspect-ratio crop, then
 * bilinear resize); Keras 3 returns the images unchanged (whatever size they have).
 */
export class RandomCrop extends ImageLayer {
  private readonly resizes: boolean;

  constructor(reader: ConfigReader) {
    super(reader);
    this.resizes = reader.context.kerasMajor === 2;
    reader.ignore("seed", "rng_type"); // the crop's randomness acts in training only
  }

  override computeOutputShapes(inputShapes: Shape[]): Shape[] {
    const resized = super.computeOutputShapes(inputShapes);
    return this.resizes ? resized : [inputShapes[0]];
  }

  call([x]: Tensor[]): Tensor[] {
    return this.resizes ? [resizeImages(x, this.channelsFirst, this.height, this.width, SMART_RESIZE)] : [x];
  }
}

/** A random augmentation layer, which Keras applies only in training: the identity at inference. */
export class RandomIdentity extends InferenceIdentity {
  override readonly supportsMasking = false;

  /** Not streamed (images, not sequences): Layer's default. */
  override streamBehaviour(): StreamBehaviour {
    return Layer.prototype.streamBehaviour.call(this);
  }
}

const layer = family("preprocessing");
const layout = "`channels_last`/`channels_first` (Keras 3)";
const identity = (className: string, versions = "Keras 2 and 3"): LayerDefinition =>
  layer(className, `identity at inference, as in Keras (${versions})`, (r) => new RandomIdentity(r));

export const preprocessingLayers: LayerDefinition[] = [
  layer(
    "Resizing",
    "interpolation `bilinear`/`nearest`/`bicubic`/`lanczos3`/`lanczos5`/`gaussian`/`mitchellcubic` and `antialias` " +
      "(as tf.image.resize), `crop_to_aspect_ratio`, " +
      `\`pad_to_aspect_ratio\` with \`fill_value\`, ${layout}`,
    (r) => new Resizing(r),
  ),
  layer("CenterCrop", `centred crop, or smart_resize when the image is smaller, ${layout}`, (r) => new CenterCrop(r)),
  layer(
    "RandomCrop",
    `at inference: tf_keras smart_resize (aspect crop + bilinear), Keras 3 the identity; ${layout}`,
    (r) => new RandomCrop(r),
  ),
  identity("RandomFlip"),
  identity("RandomRotation"),
  identity("RandomZoom"),
  identity("RandomContrast"),
  identity("RandomTranslation"),
  identity("RandomBrightness"),
  identity("RandomHeight", "tf_keras"),
  identity("RandomWidth", "tf_keras"),
  identity("RandomColorDegeneration", "Keras 3"),
  identity("RandomColorJitter", "Keras 3"),
  identity("RandomElasticTransform", "Keras 3"),
  identity("RandomErasing", "Keras 3"),
  identity("RandomGaussianBlur", "Keras 3"),
  identity("RandomGrayscale", "Keras 3"),
  identity("RandomHue", "Keras 3"),
  identity("RandomInvert", "Keras 3"),
  identity("RandomPerspective", "Keras 3"),
  identity("RandomPosterization", "Keras 3"),
  identity("RandomSaturation", "Keras 3"),
  identity("RandomSharpness", "Keras 3"),
];
