/**
 * The normalization family, two ideas in two files:
 * - normalization-affine.ts: a fixed affine map per position at inference (BatchNormalization,
 *   Normalization, Rescaling);
 * - normalization-moments.ts: the input's own moments (LayerNormalization, GroupNormalization,
 *   UnitNormalization, RMSNormalization).
 */
import { BatchNormalization, Normalization, Rescaling } from "./normalization-affine.js";
import {
  GroupNormalization,
  LayerNormalization,
  RMSNormalization,
  UnitNormalization,
} from "./normalization-moments.js";
import { family, type LayerDefinition } from "./registry-types.js";

export { BatchNormalization, Normalization, Rescaling } from "./normalization-affine.js";
export {
  GroupNormalization,
  LayerNormalization,
  RMSNormalization,
  UnitNormalization,
} from "./normalization-moments.js";

const layer = family("normalization");

export const normalizationLayers: LayerDefinition[] = [
  layer(
    "BatchNormalization",
    "moving statistics; `axis` (Keras 2: lists too), `epsilon`, `center`, `scale`, `renorm`; not `virtual_batch_size`",
    (r) => new BatchNormalization(r),
  ),
  layer(
    "LayerNormalization",
    "`axis` (int or list), `epsilon`, `center`, `scale`, Keras 3 `rms_scaling`",
    (r) => new LayerNormalization(r),
  ),
  layer(
    "GroupNormalization",
    "`groups` (-1 = instance norm), `axis`, `epsilon`, `center`, `scale`; Keras 2's mask weighting",
    (r) => new GroupNormalization(r),
  ),
  layer("UnitNormalization", "`axis` (int or list), each version's epsilon bound", (r) => new UnitNormalization(r)),
  layer(
    "RMSNormalization",
    "`axis` (int or list), `epsilon`; the scale as Keras broadcasts it",
    (r) => new RMSNormalization(r),
  ),
  layer(
    "Normalization",
    "adapted weights or `mean`/`variance` in the config (broadcast), `axis` (int, list or None), `invert`",
    (r) => new Normalization(r),
  ),
  layer(
    "Rescaling",
    "`scale`, `offset`: numbers or arrays broadcast over the input " +
      "(as under Keras' default `image_data_format`, channels_last)",
    (r) => new Rescaling(r),
  ),
];
