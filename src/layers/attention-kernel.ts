/**
 * What Attention, AdditiveAttention and MultiHeadAttention share: the scaled-dot-product kernel
 * (scores, masked softmax, weighted sum of values) and the helpers that read their calls.
 *
 * How Keras masks scores decides what a fully masked row gives, so each variant is followed:
 *  - Attention, AdditiveAttention (Keras 2 and 3) and Keras 2 MultiHeadAttention by default
 *    subtract 1e9 from masked float32 scores ("subtract"): the rounded results are nearly equal,
 *    so a fully masked row averages the values.
 *  - Keras 3 MultiHeadAttention replaces masked scores by a large negative ("replace"): weights
 *    are 0 there, a fully masked row is uniform. When it returns its scores or has dropout (or
 *    inputs of rank > 3) it runs its Softmax layer instead, which also zeroes the masked weights,
 *    so a fully masked row gives zeros ("replace-zero"). Keras 2's softmax_robust_masking
 *    replaces without zeroing.
 */
import type { Tensor } from "../tensor.js";
import { describe } from "./config.js";
import type { CallArguments, Layer, Mask } from "./layer.js";

export type Masking = "subtract" | "replace" | "replace-zero";

/** Keras' masking constant for float32 attention scores. */
export const MASK_OFFSET = 1e9;
/** Keras 3's dot_product_attention fill value: -0.7 * 3.38953e38, as a float32. */
export const DOT_PRODUCT_FILL = Math.fround(-0.7 * 3.38953e38);

/**
 * Softmax over `n` scores at `scores[offset..]` in place, with `allowed` (or null: all allowed)
 * at `allowed[maskOffset..]` saying which positions are kept.
 */
export function maskedSoftmax(
  scores: Float32Array,
  offset: number,
  n: number,
  allowed: Uint8Array | null,
  maskOffset: number,
  masking: Masking,
  fill: number,
): void {
  if (allowed !== null) {
    for (let j = 0; j < n; j++) {
      if (allowed[maskOffset + j] === 0) {
        scores[offset + j] = masking === "subtract" ? Math.fround(scores[offset + j] - MASK_OFFSET) : fill;
      }
    }
  }
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (scores[offset + j] > max) max = scores[offset + j];
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(scores[offset + j] - max);
    scores[offset + j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) {
    const keep = masking !== "replace-zero" || allowed === null || allowed[maskOffset + j] !== 0;
    scores[offset + j] = keep ? scores[offset + j] / sum : 0;
  }
}

/**
 * Where one attention problem's vectors are: query row i at q[queryRows[i]], key and value row j
 * at k[keyRows[j]] and v[valueRows[j]], output row i at out[outRows[i]]; `depth` features per
 * query/key row, `valueDepth` per value/output row.
 */
export interface AttentionRows {
  readonly queryRows: ArrayLike<number>;
  readonly keyRows: ArrayLike<number>;
  readonly valueRows: ArrayLike<number>;
  readonly outRows: ArrayLike<number>;
  readonly depth: number;
  readonly valueDepth: number;
}

/**
 * scores[i, j] = q_i · k_j, rounded to float32 as Keras' matmul gives it, then times `postScale`
 * (rounded again) unless it is null. Row i of the scores is at scores[scoresOffset + i*S].
 */
export function dotProductScores(
  q: Float32Array,
  k: Float32Array,
  rows: AttentionRows,
  postScale: number | null,
  scores: Float32Array,
  scoresOffset: number,
): void {
  const { queryRows, keyRows, depth } = rows;
  const S = keyRows.length;
  for (let i = 0; i < queryRows.length; i++) {
    const qOff = queryRows[i];
    for (let j = 0; j < S; j++) {
      const kOff = keyRows[j];
      let s = 0;
      for (let x = 0; x < depth; x++) s += q[qOff + x] * k[kOff + x];
      s = Math.fround(s);
      scores[scoresOffset + i * S + j] = postScale === null ? s : Math.fround(s * postScale);
    }
  }
}

/**
 * For each query row: the masked softmax of its scores (in place), then out_i = Σ_j w_ij v_j
 * (float64 sums). Rows with skip(i) keep their softmax but get no output (Keras zeroes masked
 * queries' outputs; the caller's buffer starts at zero). `allowed` row i is at
 * allowed[allowedOffset + i*allowedStride] (null: nothing masked).
 */
export function attendWithScores(
  v: Float32Array,
  rows: AttentionRows,
  scores: Float32Array,
  scoresOffset: number,
  allowed: Uint8Array | null,
  allowedOffset: number,
  masking: Masking,
  fill: number,
  out: Float32Array,
  acc: Float64Array,
  skip: ((i: number) => boolean) | null,
): void {
  const { queryRows, valueRows, outRows, valueDepth: dv } = rows;
  const S = valueRows.length;
  for (let i = 0; i < queryRows.length; i++) {
    const sOff = scoresOffset + i * S;
    maskedSoftmax(scores, sOff, S, allowed, allowedOffset + i * S, masking, fill);
    if (skip !== null && skip(i)) continue;
    acc.fill(0, 0, dv);
    for (let j = 0; j < S; j++) {
      const w = scores[sOff + j];
      const vOff = valueRows[j];
      for (let x = 0; x < dv; x++) acc[x] += w * v[vOff + x];
    }
    const oOff = outRows[i];
    for (let x = 0; x < dv; x++) out[oOff + x] = acc[x];
  }
}

/** A mask tensor given as a call argument: nonzero is kept, as Keras' cast to bool. */
export function maskFromTensor(t: Tensor): Mask {
  const data = new Uint8Array(t.size);
  for (let i = 0; i < t.size; i++) data[i] = t.data[i] !== 0 ? 1 : 0;
  return { shape: t.shape, data };
}

export function sameDims(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/** Reads the constant call arguments an attention layer understands; others are an error. */
export function readFlags(
  layer: Layer,
  args: CallArguments,
  tensorNames: readonly string[],
): { returnScores: boolean; causal: boolean } {
  const flags = { returnScores: false, causal: false };
  for (const [key, value] of Object.entries(args.constants)) {
    if (key === "return_attention_scores" || key === "use_causal_mask") {
      if (typeof value !== "boolean")
        throw layer.error("E_CONFIG", `call argument ${key}=${describe(value)} should be true or false`);
      if (key === "return_attention_scores") flags.returnScores = value;
      else flags.causal = value;
    } else if (key === "training") {
      // Inference only: dropout is off whatever the call said.
    } else if (!(tensorNames.includes(key) && value === null)) {
      throw layer.error("E_UNSUPPORTED", `call argument ${key}=${describe(value)} is not supported`);
    }
  }
  return flags;
}

/** The input index of a tensor argument given by position or by keyword (null when absent). */
export function argumentSlot(layer: Layer, args: CallArguments, name: string, position: number): number | null {
  const byKeyword = args.tensors[name];
  if (position < args.positional) {
    if (byKeyword !== undefined) throw layer.error("E_CONFIG", `gets "${name}" both by position and by keyword`);
    return position;
  }
  if (byKeyword === undefined) return null;
  if (byKeyword.length !== 1)
    throw layer.error("E_CONFIG", `call argument "${name}" should be one tensor, got ${byKeyword.length}`);
  return byKeyword[0];
}
