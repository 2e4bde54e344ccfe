/** tf.image.resize (tf.keras) and keras.ops.image.resize (Keras 3) in op layers. */
import { KeraslessError } from "../../errors.js";
import { MAX_VALUES_PER_SAMPLE } from "../../graph/shapes.js";
import { INTERPOLATIONS, resizeImages } from "../resize.js";
import { Tensor } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { tensorOp, type OpDefinition } from "./bindings.js";
import { transpose } from "./kernels.js";
import { opError, single, type OpParams } from "./params.js";
import { TensorArg } from "./values.js";

const RESIZE_SUMMARY =
  `${INTERPOLATIONS.map((i) => `\`${i}\``).join("/")}, \`antialias\` (as TensorFlow computes each), size constant ` +
  "or a Keras tensor (tf.keras), `preserve_aspect_ratio` (tf.keras), `crop_to_aspect_ratio`/`pad_to_aspect_ratio` " +
  "and `data_format` (Keras 3)";

/** Python's round() on float32, as tf.round: halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * depth_to_space / space_to_depth as one reshape, transpose, reshape: the depth axis split into
 * [block, block, channels] (TensorFlow's order), the blocks moved beside the rows and columns.
 */
function blockOp(name: string, tf: string, keras: string, toSpace: boolean): OpDefinition {
  const summary = "`block_size`, NHWC (and channels_first in Keras 3)";
  const names = { tf: [tf], params: ["input", "block_size", "data_format"], keras: [keras] };
  return tensorOp(name, summary, names, (p: OpParams, x, s: Shape) => {
    const bs = p.int("block_size");
    const format = p.string("data_format", "NHWC");
    p.checkAllRead();
    if (!["NHWC", "channels_last", "channels_first"].includes(format))
      throw opError(p.op, `data_format ${format} is not supported (TensorFlow's CPU kernels have NHWC only)`);
    const first = format === "channels_first";
    if (s.length !== 4 || bs < 2) throw opError(p.op, "needs a rank-4 tensor and block_size 2 or more");
    const [c, h, w] = first ? [s[1], s[2], s[3]] : [s[3], s[1], s[2]];
    const scale = (d: number | null, f: (v: number) => number): number | null => (d === null ? null : f(d));
    const fits = toSpace ? c === null || c % (bs * bs) === 0 : [h, w].every((d) => d === null || d % bs === 0);
    if (!fits) throw opError(p.op, `[${s.join(", ")}] does not divide into blocks of ${bs}`);
    const [c2, h2, w2] = toSpace
      ? [scale(c, (v) => v / (bs * bs)), scale(h, (v) => v * bs), scale(w, (v) => v * bs)]
      : [scale(c, (v) => v * bs * bs), scale(h, (v) => v / bs), scale(w, (v) => v / bs)];
    return single(first ? [s[0], c2, h2, w2] : [s[0], h2, w2, c2], (inputs) => {
      const t = inputs[x.index];
      const [B, C, H, W] = first ? t.shape : [t.shape[0], t.shape[3], t.shape[1], t.shape[2]];
      if ((toSpace && C % (bs * bs) !== 0) || (!toSpace && (H % bs !== 0 || W % bs !== 0)))
        throw new KeraslessError(
          "E_INPUT_SHAPE",
          `${p.op}: [${t.shape.join(", ")}] does not divide into blocks of ${bs}`,
        );
      // (view shape, permutation, output shape) for each direction and layout.
      const c1 = toSpace ? C / (bs * bs) : C;
      const [hs, ws] = toSpace ? [H, W] : [H / bs, W / bs];
      const plan: [number[], number[], number[]] = first
        ? toSpace
          ? [
              [B, bs, bs, c1, hs, ws],
              [0, 3, 4, 1, 5, 2],
              [B, c1, hs * bs, ws * bs],
            ]
          : [
              [B, c1, hs, bs, ws, bs],
              [0, 3, 5, 1, 2, 4],
              [B, c1 * bs * bs, hs, ws],
            ]
        : toSpace
          ? [
              [B, hs, ws, bs, bs, c1],
              [0, 1, 3, 2, 4, 5],
              [B, hs * bs, ws * bs, c1],
            ]
          : [
              [B, hs, bs, ws, bs, c1],
              [0, 1, 3, 2, 4, 5],
              [B, hs, ws, c1 * bs * bs],
            ];
      const moved = transpose(new Tensor(plan[0], t.data), plan[1]);
      return new Tensor(plan[2], moved.data);
    });
  });
}

export const IMAGE_OPS: readonly OpDefinition[] = [
  blockOp("depth_to_space", "nn.depth_to_space", "DepthToSpace", true),
  blockOp("space_to_depth", "nn.space_to_depth", "SpaceToDepth", false),
  tensorOp(
    "image.resize",
    RESIZE_SUMMARY,
    {
      tf: ["image.resize"],
      params: ["images", "size", "method", "preserve_aspect_ratio", "antialias"],
      keras: ["Resize"],
      kerasParams: ["images"],
      kerasNames: { interpolation: "method" },
    },
    (p, images, s) => {
      const sizeArg = p.raw("size");
      const method = p.string("method", "bilinear");
      const antialias = p.bool("antialias", false);
      const preserve = p.bool("preserve_aspect_ratio", false);
      const crop = p.bool("crop_to_aspect_ratio", false);
      const pad = p.bool("pad_to_aspect_ratio", false);
      const fillValue = p.number("fill_value", 0);
      const channelsFirst = p.string("data_format", "channels_last") === "channels_first";
      if (p.string("fill_mode", "constant") !== "constant") throw opError(p.op, "only fill_mode constant exists");
      p.checkAllRead();
      if (!INTERPOLATIONS.includes(method)) throw opError(p.op, `method ${JSON.stringify(method)} is not supported`);
      if (s.length !== 4) throw opError(p.op, `images of rank ${s.length} (a batch of images has rank 4)`);
      if (crop && pad) throw opError(p.op, "crop_to_aspect_ratio and pad_to_aspect_ratio are both set");
      const fixed =
        Array.isArray(sizeArg) && sizeArg.length === 2 && sizeArg.every((d) => Number.isInteger(d) && d > 0);
      const tensor = sizeArg instanceof TensorArg && p.shapes[sizeArg.index].length === 1 ? sizeArg : undefined;
      if (!fixed && (tensor === undefined || p.shapes[tensor.index][0] !== 2))
        throw opError(p.op, "size must be two positive integers or a Keras tensor of two");
      const [hAxis, wAxis] = channelsFirst ? [2, 3] : [1, 2];
      const options = {
        interpolation: method,
        antialias,
        aspect: crop ? "crop" : pad ? "pad" : null,
        fillValue,
      } as const;
      // tf.image.resize's preserve_aspect_ratio: the largest size within `size` with the image's ratio, in float32.
      const target = (t: { shape: readonly number[] }, size: readonly number[]): [number, number] => {
        if (!preserve) return [size[0], size[1]];
        const [h, w] = [t.shape[hAxis], t.shape[wAxis]];
        const scale = Math.min(Math.fround(size[0] / h), Math.fround(size[1] / w));
        return [roundHalfEven(Math.fround(scale * h)), roundHalfEven(Math.fround(scale * w))];
      };
      const [h0, w0] = [s[hAxis], s[wAxis]];
      const known: (number | null)[] = !fixed
        ? [null, null]
        : !preserve
          ? (sizeArg as number[])
          : h0 !== null && w0 !== null
            ? target({ shape: s.map((d) => d ?? 1) }, sizeArg as number[])
            : [null, null];
      const shape = s.map((d, i) => (i === hAxis ? known[0] : i === wAxis ? known[1] : d));
      return single(shape, (inputs) => {
        const x = inputs[images.index];
        const size = fixed ? (sizeArg as number[]) : Array.from(inputs[(tensor as TensorArg).index].data);
        const [h, w] = target(x, size);
        const perSample = h * w * x.shape[channelsFirst ? 1 : 3];
        if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0) || perSample > MAX_VALUES_PER_SAMPLE)
          throw new KeraslessError("E_INPUT_VALUE", `${p.op}: cannot resize to ${h} x ${w}`);
        return resizeImages(x, channelsFirst, h, w, options);
      });
    },
  ),
];
