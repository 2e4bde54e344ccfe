/**
 * Attention layers: Attention (dot / concat scores) and AdditiveAttention over [query, value, key],
 * and MultiHeadAttention.
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
import { getActivation, type Activation } from "../kernels/activations.js";
import { gemm } from "../kernels/gemm/index.js";
import { Tensor, formatShape, sizeOf } from "../tensor.js";
import { describe, type ConfigReader } from "./config.js";
import { toFloat32 } from "./core.js";
import { Layer, NO_ARGUMENTS, knownDim, type CallArguments, type Mask, type Masks, type Shape } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

type Masking = "subtract" | "replace" | "replace-zero";

/** Keras' masking constant for float32 attention scores. */
const MASK_OFFSET = 1e9;
/** Keras 3's dot_product_attention fill value: -0.7 * 3.38953e38, as a float32. */
const DOT_PRODUCT_FILL = Math.fround(-0.7 * 3.38953e38);

/**
 * Softmax over `n` scores at `scores[offset..]` in place, with `allowed` (or null: all allowed)
 * at `allowed[maskOffset..]` saying which positions are kept.
 */
function maskedSoftmax(
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

/** A mask tensor given as a call argument: nonzero is kept, as Keras' cast to bool. */
function maskFromTensor(t: Tensor): Mask {
  const data = new Uint8Array(t.size);
  for (let i = 0; i < t.size; i++) data[i] = t.data[i] !== 0 ? 1 : 0;
  return { shape: t.shape, data };
}

function sameDims(a: readonly (number | null)[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/** Reads the constant call arguments an attention layer understands; others are an error. */
function readFlags(
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
function argumentSlot(layer: Layer, args: CallArguments, name: string, position: number): number | null {
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

// ---------------------------------------------------------------------------
// Attention and AdditiveAttention
// ---------------------------------------------------------------------------

interface DensePlan {
  readonly returnScores: boolean;
  readonly causal: boolean;
  /** Input indices of the explicit `mask=[query_mask, value_mask(, key_mask)]`, or null. */
  readonly explicitMask: readonly (number | null)[] | null;
  readonly hasKey: boolean;
}

type ScoreMode = "dot" | "concat" | "additive";

/** Attention (Luong: dot or concat scores) and AdditiveAttention (Bahdanau). */
export class DenseAttention extends Layer {
  override readonly supportsMasking = true;
  // An explicit `mask=` gives the output its query mask even when no input carries one.
  override readonly createsMask = true;
  override readonly tensorArguments = ["mask"];
  private readonly mode: ScoreMode;
  private readonly useScale: boolean;
  /** Keras 2's `causal` config (older tf.keras): causal masking at every call. */
  private readonly causalConfig: boolean;
  private readonly kerasMajor: 2 | 3;
  private readonly plans = new Map<CallArguments, DensePlan>();
  private scale: Float32Array | null = null;
  private concatWeight = 1;
  private queryDim = 0;

  constructor(reader: ConfigReader, additive: boolean) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.useScale = reader.bool("use_scale", additive);
    this.causalConfig = reader.bool("causal", false);
    const mode = additive ? "additive" : reader.string("score_mode", "dot");
    if (mode !== "dot" && mode !== "concat" && mode !== "additive")
      reader.unsupported(`score_mode=${describe(mode)} is not supported (supported: "dot", "concat")`);
    this.mode = mode === "concat" || mode === "additive" ? mode : "dot";
    reader.number("dropout", 0); // dropout acts in training only
  }

  computeOutputShapes(inputShapes: Shape[], args: CallArguments = NO_ARGUMENTS): Shape[] {
    const maskSlots = args.tensors.mask ?? null;
    const positional = args.positional === 0 ? inputShapes.length : args.positional;
    if (positional < 2 || positional > 3)
      throw this.error("E_CONFIG", `expects [query, value] or [query, value, key], got ${positional} input(s)`);
    const { returnScores, causal } = readFlags(this, args, ["mask"]);
    const [query, value] = inputShapes;
    const key = positional === 3 ? inputShapes[2] : value;
    this.expectRank(query, [3, 8], "query");
    for (const [what, shape] of [
      ["value", value],
      ["key", key],
    ] as const) {
      if (shape.length !== query.length || !sameDims(shape.slice(0, -2), query.slice(0, -2))) {
        throw this.error(
          "E_CONFIG",
          `${what} shape ${formatShape(shape)} does not fit query shape ${formatShape(query)}`,
        );
      }
    }
    if (!sameDims(key.slice(0, -1), value.slice(0, -1)))
      throw this.error("E_CONFIG", `key shape ${formatShape(key)} does not fit value shape ${formatShape(value)}`);
    const queryDim = knownDim(this, query, -1);
    const keyDim = knownDim(this, key, -1);
    const valueDim = knownDim(this, value, -1);
    if (queryDim !== keyDim)
      throw this.error("E_CONFIG", `query has ${queryDim} features and key ${keyDim}; attention needs the same number`);
    if (maskSlots !== null) {
      if (maskSlots.length < 2 || maskSlots.length > positional)
        throw this.error(
          "E_CONFIG",
          `call argument "mask" should list [query_mask, value_mask], got ${maskSlots.length} entries`,
        );
      maskSlots.forEach((slot, i) => {
        const want = (i === 0 ? query : i === 1 ? value : key).slice(0, -1);
        if (slot !== null && !sameDims(inputShapes[slot], want)) {
          throw this.error(
            "E_CONFIG",
            `mask #${i} has shape ${formatShape(inputShapes[slot])}, expected ${formatShape(want)}`,
          );
        }
      });
    }
    // Keras 3 sizes AdditiveAttention's scale by the query, Keras 2 by the value.
    const scaleDim = this.mode === "additive" && this.kerasMajor === 2 ? valueDim : queryDim;
    if (this.mode === "additive" && this.useScale && scaleDim !== queryDim && scaleDim !== 1) {
      throw this.error("E_CONFIG", `scale has ${scaleDim} values, which cannot scale ${queryDim} query features`);
    }
    if (!this.built) this.queryDim = queryDim;
    else if (queryDim !== this.queryDim)
      throw this.error("E_CONFIG", `was built for ${this.queryDim} query features, now called with ${queryDim}`);
    this.declareWeights([
      ...(this.useScale ? [{ name: "scale", shape: this.mode === "additive" ? [scaleDim] : [] }] : []),
      ...(this.mode === "concat" ? [{ name: "concat_score_weight", shape: [] }] : []),
    ]);
    this.plans.set(args, {
      returnScores,
      causal: causal || this.causalConfig,
      explicitMask: maskSlots,
      hasKey: positional === 3,
    });
    const output: Shape = [...query.slice(0, -1), valueDim];
    return returnScores ? [output, [...query.slice(0, -1), value[value.length - 2]]] : [output];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    let next = 0;
    this.scale = this.useScale ? weights[next++] : null;
    if (this.mode === "concat") this.concatWeight = weights[next][0];
  }

  private plan(args: CallArguments | undefined): DensePlan {
    const plan = this.plans.get(args ?? NO_ARGUMENTS);
    if (plan === undefined) throw this.error("E_CONFIG", "called with arguments it was not built for");
    return plan;
  }

  private callMasks(inputs: readonly Tensor[], masks: Masks, plan: DensePlan): [Mask | null, Mask | null] {
    if (plan.explicitMask === null) return [masks[0] ?? null, masks[1] ?? null];
    const at = (slot: number | null | undefined): Mask | null =>
      slot === null || slot === undefined ? null : maskFromTensor(inputs[slot]);
    return [at(plan.explicitMask[0]), at(plan.explicitMask[1])];
  }

  call(inputs: Tensor[], masks: Masks, args?: CallArguments): Tensor[] {
    const plan = this.plan(args);
    const [qt, vt] = inputs;
    const kt = plan.hasKey ? inputs[2] : vt;
    const rank = qt.rank;
    const tq = qt.shape[rank - 2];
    const tv = vt.shape[rank - 2];
    const batch = sizeOf(qt.shape.slice(0, -2));
    if (
      sizeOf(vt.shape.slice(0, -2)) !== batch ||
      kt.shape[rank - 2] !== tv ||
      sizeOf(kt.shape.slice(0, -2)) !== batch
    ) {
      throw this.error(
        "E_INPUT_SHAPE",
        `query ${formatShape(qt.shape)}, value ${formatShape(vt.shape)} and key ${formatShape(kt.shape)} do not fit together`,
      );
    }
    const d = qt.shape[rank - 1];
    const dv = vt.shape[rank - 1];
    const q = toFloat32(qt);
    const k = toFloat32(kt);
    const v = toFloat32(vt);
    const [queryMask, valueMask] = this.callMasks(inputs, masks, plan);
    const scores = new Float32Array(batch * tq * tv);
    this.computeScores(q, k, scores, batch, tq, tv, d);
    // Allowed positions: the value mask, and j <= i when causal.
    let allowed: Uint8Array | null = null;
    if (valueMask !== null || plan.causal) {
      allowed = new Uint8Array(batch * tq * tv);
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < tq; i++) {
          for (let j = 0; j < tv; j++) {
            const keep = (valueMask === null || valueMask.data[b * tv + j] !== 0) && (!plan.causal || j <= i);
            allowed[(b * tq + i) * tv + j] = keep ? 1 : 0;
          }
        }
      }
    }
    for (let row = 0; row < batch * tq; row++) maskedSoftmax(scores, row * tv, tv, allowed, row * tv, "subtract", 0);
    const out = new Float32Array(batch * tq * dv);
    const acc = new Float64Array(dv);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < tq; i++) {
        const row = b * tq + i;
        if (queryMask !== null && queryMask.data[row] === 0) continue; // Keras zeroes masked queries' outputs
        acc.fill(0);
        for (let j = 0; j < tv; j++) {
          const w = scores[row * tv + j];
          const vRow = (b * tv + j) * dv;
          for (let c = 0; c < dv; c++) acc[c] += w * v[vRow + c];
        }
        for (let c = 0; c < dv; c++) out[row * dv + c] = acc[c];
      }
    }
    const outShape = [...qt.shape.slice(0, -1), dv];
    const result = [new Tensor(outShape, out)];
    if (plan.returnScores) result.push(new Tensor([...qt.shape.slice(0, -1), tv], scores));
    return result;
  }

  /** scores[b, i, j] as Keras computes them in float32. */
  private computeScores(
    q: Float32Array,
    k: Float32Array,
    scores: Float32Array,
    batch: number,
    tq: number,
    tv: number,
    d: number,
  ): void {
    const scale = this.scale;
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < tq; i++) {
        const qRow = (b * tq + i) * d;
        for (let j = 0; j < tv; j++) {
          const kRow = (b * tv + j) * d;
          let s = 0;
          if (this.mode === "dot") {
            for (let c = 0; c < d; c++) s += q[qRow + c] * k[kRow + c];
            s = Math.fround(s);
            if (scale !== null) s = Math.fround(s * scale[0]);
          } else if (this.mode === "concat") {
            const g = scale === null ? 1 : scale[0];
            for (let c = 0; c < d; c++) s += Math.tanh(Math.fround(g * Math.fround(q[qRow + c] + k[kRow + c])));
            s = Math.fround(this.concatWeight * Math.fround(s));
          } else {
            for (let c = 0; c < d; c++) {
              const g = scale === null ? 1 : scale[scale.length === 1 ? 0 : c];
              s += g * Math.fround(Math.tanh(Math.fround(q[qRow + c] + k[kRow + c])));
            }
            s = Math.fround(s);
          }
          scores[(b * tq + i) * tv + j] = s;
        }
      }
    }
  }

  override computeMask(
    inputs: readonly Tensor[],
    masks: Masks,
    outputs: readonly Tensor[],
    args?: CallArguments,
  ): (Mask | null)[] {
    const [queryMask] = this.callMasks(inputs, masks, this.plan(args));
    return outputs.map((_, i) => (i === 0 ? queryMask : null));
  }
}

// ---------------------------------------------------------------------------
// MultiHeadAttention
// ---------------------------------------------------------------------------

interface HeadsPlan {
  readonly query: number;
  readonly value: number;
  readonly key: number;
  readonly attentionMask: number | null;
  readonly returnScores: boolean;
  readonly causal: boolean;
  /** Attention axes of the input (1 .. rank-2), ascending. */
  readonly axes: readonly number[];
  readonly masking: Masking;
  readonly fill: number;
  /** Keras 3's fused path scales the products; the others scale the projected query first. */
  readonly scaleQueryFirst: boolean;
}

/** The einsum projections of MultiHeadAttention, as plain matrices. */
interface Projection {
  kernel: Float32Array;
  bias: Float32Array | null;
}

export class MultiHeadAttention extends Layer {
  override readonly supportsMasking = true;
  override readonly tensorArguments = ["value", "key", "attention_mask"];
  private readonly heads: number;
  private readonly keyDim: number;
  private readonly valueDim: number;
  private readonly dropout: number;
  private readonly useBias: boolean;
  private readonly useGate: boolean;
  private readonly slidingWindow: number | null;
  private readonly robustMasking: boolean;
  private readonly configuredShape: number[] | null;
  private readonly configuredAxes: number[] | null;
  private readonly kerasMajor: 2 | 3;
  private readonly sigmoid: Activation;
  private readonly plans = new Map<CallArguments, HeadsPlan>();
  private dims: { query: number; key: number; value: number; rank: number; outputShape: number[] } | null = null;
  private projections: {
    query: Projection;
    key: Projection;
    value: Projection;
    gate: Projection | null;
    output: Projection;
  } | null = null;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.heads = reader.positiveInt("num_heads");
    this.keyDim = reader.positiveInt("key_dim");
    this.valueDim = reader.has("value_dim") ? reader.positiveInt("value_dim") : this.keyDim;
    this.dropout = reader.number("dropout", 0);
    this.useBias = reader.bool("use_bias", true);
    this.useGate = reader.bool("use_gate", false);
    this.slidingWindow = reader.has("sliding_window") ? reader.positiveInt("sliding_window") : null;
    this.robustMasking = reader.bool("softmax_robust_masking", false);
    this.configuredShape = this.intOrList(reader, "output_shape");
    this.configuredAxes = this.intOrList(reader, "attention_axes");
    if (this.configuredShape !== null && this.configuredShape.some((d) => !(d > 0)))
      reader.unsupported(`output_shape=${describe(reader.raw("output_shape"))} is not a shape`);
    if (this.configuredAxes !== null && this.kerasMajor === 2 && this.configuredAxes.some((a) => a < 0)) {
      reader.unsupported(
        `negative attention_axes ${describe(reader.raw("attention_axes"))} (Keras 2 does not count them from the end)`,
      );
    }
    this.sigmoid = getActivation("sigmoid", this.kerasMajor)!;
  }

  private intOrList(reader: ConfigReader, key: string): number[] | null {
    const v = reader.raw(key);
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return null;
    if (typeof v === "number" && Number.isInteger(v)) return [v];
    return reader.intList(key);
  }

  override get variableOwners(): readonly string[] {
    // The gate has no public property in Keras 3, so its object path keeps the underscore.
    return ["query_dense", "key_dense", ...(this.useGate ? ["_gate_dense"] : []), "value_dense", "output_dense"];
  }

  computeOutputShapes(inputShapes: Shape[], args: CallArguments = NO_ARGUMENTS): Shape[] {
    if (args.positional < 1 || args.positional > 3)
      throw this.error(
        "E_CONFIG",
        `expects query, value and optionally key, got ${args.positional} positional tensor(s)`,
      );
    const query = 0;
    const value = argumentSlot(this, args, "value", 1);
    if (value === null) throw this.error("E_CONFIG", "is called without a value tensor");
    const key = argumentSlot(this, args, "key", 2) ?? value;
    // attention_mask comes by keyword (positional calls stop at key, see above).
    const attentionMask = argumentSlot(this, args, "attention_mask", Infinity);
    const { returnScores, causal } = readFlags(this, args, [
      "value",
      "key",
      "attention_mask",
      "query_mask",
      "value_mask",
      "key_mask",
    ]);
    const [qs, vs, ks] = [inputShapes[query], inputShapes[value], inputShapes[key]];
    const rank = qs.length;
    this.expectRank(qs, [3, 8], "query");
    if (vs.length !== rank || ks.length !== rank)
      throw this.error(
        "E_CONFIG",
        `query ${formatShape(qs)}, value ${formatShape(vs)} and key ${formatShape(ks)} should have the same rank`,
      );
    if (!sameDims(vs.slice(1, -1), ks.slice(1, -1)))
      throw this.error(
        "E_CONFIG",
        `value ${formatShape(vs)} and key ${formatShape(ks)} differ outside their last axis`,
      );
    // Keras counts attention axes on the projected [batch, ..., heads, channels] tensor.
    const axes = (this.configuredAxes ?? Array.from({ length: rank - 2 }, (_, i) => i + 1)).map((a) =>
      a < 0 ? rank + a : a,
    );
    if (axes.some((a, i) => a < 1 || a > rank - 2 || (i > 0 && a <= axes[i - 1]))) {
      throw this.error(
        "E_UNSUPPORTED",
        `attention_axes ${describe(this.configuredAxes)} for inputs of rank ${rank} is not supported (supported: ascending axes between 1 and ${rank - 2})`,
      );
    }
    for (let a = 1; a < rank - 1; a++) {
      if (!axes.includes(a) && !sameDims([qs[a]], [vs[a]]))
        throw this.error(
          "E_CONFIG",
          `query ${formatShape(qs)} and value ${formatShape(vs)} differ on axis ${a}, which is not an attention axis`,
        );
    }
    if (rank > 3 && (causal || attentionMask !== null || this.slidingWindow !== null)) {
      throw this.error(
        "E_UNSUPPORTED",
        `masks on inputs of rank ${rank} are not supported (Keras builds them for rank-3 inputs)`,
      );
    }
    if (attentionMask !== null) {
      const ms = inputShapes[attentionMask];
      const fits = (d: number | null, want: number | null): boolean =>
        d === null || d === 1 || want === null || d === want;
      if (ms.length !== 3 || !fits(ms[1], qs[1]) || !fits(ms[2], vs[1])) {
        throw this.error(
          "E_CONFIG",
          `attention_mask has shape ${formatShape(ms)}, expected [batch, ${qs[1] ?? "None"}, ${vs[1] ?? "None"}]`,
        );
      }
    }
    const queryDim = knownDim(this, qs, -1);
    const keyDim = knownDim(this, ks, -1);
    const valueDim = knownDim(this, vs, -1);
    const outputShape = this.configuredShape ?? [queryDim];
    const dims = { query: queryDim, key: keyDim, value: valueDim, rank, outputShape };
    if (this.dims === null) this.dims = dims;
    else if (JSON.stringify(dims) !== JSON.stringify(this.dims))
      throw this.error("E_CONFIG", "is called on inputs of other sizes than it was built for");
    const [n, h, hv] = [this.heads, this.keyDim, this.valueDim];
    const projection = (name: string, inputDim: number, width: number) => [
      { name: `${name}/kernel`, shape: [inputDim, n, width] },
      ...(this.useBias ? [{ name: `${name}/bias`, shape: [n, width] }] : []),
    ];
    this.declareWeights([
      ...projection("query", queryDim, h),
      ...projection("key", keyDim, h),
      ...(this.useGate ? projection("gate", queryDim, hv) : []),
      ...projection("value", valueDim, hv),
      { name: "attention_output/kernel", shape: [n, hv, ...outputShape] },
      ...(this.useBias ? [{ name: "attention_output/bias", shape: outputShape }] : []),
    ]);
    // Keras 3 takes its fused dot_product_attention path unless it must return the scores, has
    // dropout, or the inputs have rank > 3.
    const fused = this.kerasMajor === 3 && !returnScores && this.dropout === 0 && rank === 3;
    const masking: Masking =
      this.kerasMajor === 3 ? (fused ? "replace" : "replace-zero") : this.robustMasking ? "replace" : "subtract";
    this.plans.set(args, {
      query,
      value,
      key,
      attentionMask,
      returnScores,
      causal,
      axes,
      masking,
      fill: fused ? DOT_PRODUCT_FILL : -MASK_OFFSET,
      scaleQueryFirst: !fused,
    });
    const output: Shape = [...qs.slice(0, -1), ...outputShape];
    if (!returnScores) return [output];
    const batchLike = qs.slice(1, -1).filter((_, i) => !axes.includes(i + 1));
    const scores: Shape = [qs[0], ...batchLike, n, ...axes.map((a) => qs[a]), ...axes.map((a) => vs[a])];
    return [output, scores];
  }

  // Keras 3 detaches the masks of query, value and key as it runs (keras.src MultiHeadAttention.call).
  override detachesInputMasks(args: CallArguments): readonly number[] {
    const plan = this.plans.get(args);
    return this.kerasMajor === 3 && plan !== undefined ? [plan.query, plan.value, plan.key] : [];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    let next = 0;
    const take = (): Projection => ({ kernel: weights[next++], bias: this.useBias ? weights[next++] : null });
    const query = take();
    const key = take();
    const gate = this.useGate ? take() : null;
    const value = take();
    const output = take();
    this.projections = { query, key, value, gate, output };
  }

  call(inputs: Tensor[], masks: Masks, args?: CallArguments): Tensor[] {
    const plan = this.plans.get(args ?? NO_ARGUMENTS);
    if (plan === undefined || this.dims === null || this.projections === null)
      throw this.error("E_CONFIG", "called with arguments it was not built for");
    const P = this.projections;
    const [qt, vt, kt] = [inputs[plan.query], inputs[plan.value], inputs[plan.key]];
    const rank = qt.rank;
    const batch = qt.shape[0];
    if (vt.shape[0] !== batch || kt.shape[0] !== batch || !sameDims(vt.shape.slice(1, -1), kt.shape.slice(1, -1))) {
      throw this.error(
        "E_INPUT_SHAPE",
        `query ${formatShape(qt.shape)}, value ${formatShape(vt.shape)} and key ${formatShape(kt.shape)} do not fit together`,
      );
    }
    const [n, h, hv] = [this.heads, this.keyDim, this.valueDim];
    const qMid = qt.shape.slice(1, -1);
    const vMid = vt.shape.slice(1, -1);
    const rowsQ = batch * sizeOf(qMid);
    const rowsV = batch * sizeOf(vMid);
    const project = (x: Tensor, p: Projection, rows: number, width: number): Float32Array => {
      const inner = x.shape[rank - 1];
      const out = new Float32Array(rows * n * width);
      gemm(toFloat32(x), 0, inner, p.kernel, 0, n * width, out, 0, n * width, rows, inner, n * width, p.bias, false);
      return out;
    };
    const qp = project(qt, P.query, rowsQ, h);
    const kp = project(kt, P.key, rowsV, h);
    const vp = project(vt, P.value, rowsV, hv);
    const scale = Math.fround(1 / Math.sqrt(h));
    if (plan.scaleQueryFirst) for (let i = 0; i < qp.length; i++) qp[i] = Math.fround(qp[i] * scale);

    // Rows of the projected tensors for each (batch-like index, attention position).
    const rowsOf = (mid: readonly number[]) => {
      const attention = plan.axes.map((a) => a - 1);
      const others = mid.map((_, i) => i).filter((i) => !attention.includes(i));
      const strides = mid.map((_, i) => sizeOf(mid.slice(i + 1)));
      const offsets = (axes: number[]): number[] => {
        let list = [0];
        for (const a of axes) list = list.flatMap((o) => Array.from({ length: mid[a] }, (_, x) => o + x * strides[a]));
        return list;
      };
      return { outer: offsets(others), inner: offsets(attention), perBatch: sizeOf(mid) };
    };
    const qRows = rowsOf(qMid);
    const vRows = rowsOf(vMid);
    if (qRows.outer.length !== vRows.outer.length)
      throw this.error(
        "E_INPUT_SHAPE",
        `query ${formatShape(qt.shape)} and value ${formatShape(vt.shape)} differ outside the attention axes`,
      );
    const T = qRows.inner.length;
    const S = vRows.inner.length;
    const allowed = this.attentionMask(inputs, masks, plan, batch, T, S);

    const groups = batch * qRows.outer.length;
    const scores = new Float32Array(groups * n * T * S);
    const context = new Float32Array(rowsQ * n * hv);
    const acc = new Float64Array(hv);
    for (let g = 0; g < groups; g++) {
      const b = Math.floor(g / qRows.outer.length);
      const c = g % qRows.outer.length;
      const qBase = b * qRows.perBatch + qRows.outer[c];
      const vBase = b * vRows.perBatch + vRows.outer[c];
      for (let head = 0; head < n; head++) {
        for (let i = 0; i < T; i++) {
          const qOff = ((qBase + qRows.inner[i]) * n + head) * h;
          const sOff = ((g * n + head) * T + i) * S;
          for (let j = 0; j < S; j++) {
            const kOff = ((vBase + vRows.inner[j]) * n + head) * h;
            let s = 0;
            for (let x = 0; x < h; x++) s += qp[qOff + x] * kp[kOff + x];
            scores[sOff + j] = plan.scaleQueryFirst ? Math.fround(s) : Math.fround(Math.fround(s) * scale);
          }
          maskedSoftmax(scores, sOff, S, allowed, (b * T + i) * S, plan.masking, plan.fill);
          acc.fill(0);
          for (let j = 0; j < S; j++) {
            const w = scores[sOff + j];
            const vOff = ((vBase + vRows.inner[j]) * n + head) * hv;
            for (let x = 0; x < hv; x++) acc[x] += w * vp[vOff + x];
          }
          const cOff = ((qBase + qRows.inner[i]) * n + head) * hv;
          for (let x = 0; x < hv; x++) context[cOff + x] = acc[x];
        }
      }
    }
    if (P.gate !== null) {
      const gate = project(qt, P.gate, rowsQ, hv);
      this.sigmoid.apply(gate, 0, gate, 0, rowsQ, n * hv);
      for (let i = 0; i < context.length; i++) context[i] = Math.fround(context[i] * gate[i]);
    }
    const width = sizeOf(this.dims.outputShape);
    const out = new Float32Array(rowsQ * width);
    gemm(context, 0, n * hv, P.output.kernel, 0, width, out, 0, width, rowsQ, n * hv, width, P.output.bias, false);
    const result = [new Tensor([...qt.shape.slice(0, -1), ...this.dims.outputShape], out)];
    if (plan.returnScores) {
      const batchLike = qMid.filter((_, i) => !plan.axes.includes(i + 1));
      const shape = [
        batch,
        ...batchLike,
        n,
        ...plan.axes.map((a) => qt.shape[a]),
        ...plan.axes.map((a) => vt.shape[a]),
      ];
      result.push(new Tensor(shape, scores));
    }
    return result;
  }

  /**
   * Keras' _compute_attention_mask for rank-3 inputs: query mask [B, T, 1], value and key masks
   * [B, 1, S], the causal and sliding-window bands, and attention_mask, all and-ed. Null when
   * nothing is masked.
   */
  private attentionMask(
    inputs: readonly Tensor[],
    masks: Masks,
    plan: HeadsPlan,
    batch: number,
    T: number,
    S: number,
  ): Uint8Array | null {
    const queryMask = masks[plan.query] ?? null;
    const valueMask = masks[plan.value] ?? null;
    // Keras 3 reads the key's mask only when a key is passed; Keras 2 falls back to the value's.
    const keyMask = plan.key !== plan.value ? (masks[plan.key] ?? null) : null;
    const given = plan.attentionMask === null ? null : inputs[plan.attentionMask];
    if (
      queryMask === null &&
      valueMask === null &&
      keyMask === null &&
      given === null &&
      !plan.causal &&
      this.slidingWindow === null
    )
      return null;
    if (inputs[plan.query].rank !== 3)
      throw this.error(
        "E_UNSUPPORTED",
        `masks on inputs of rank ${inputs[plan.query].rank} are not supported (Keras builds them for rank-3 inputs)`,
      );
    if (given !== null) {
      const [mb, mt, ms] = given.shape;
      if (!(mb === batch || mb === 1) || !(mt === T || mt === 1) || !(ms === S || ms === 1)) {
        throw this.error(
          "E_INPUT_SHAPE",
          `attention_mask has shape ${formatShape(given.shape)}, expected [${batch}, ${T}, ${S}]`,
        );
      }
    }
    const window = this.slidingWindow;
    const allowed = new Uint8Array(batch * T * S);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < T; i++) {
        const queryKept = queryMask === null || queryMask.data[b * T + i] !== 0;
        for (let j = 0; j < S; j++) {
          let keep =
            queryKept &&
            (valueMask === null || valueMask.data[b * S + j] !== 0) &&
            (keyMask === null || keyMask.data[b * S + j] !== 0);
          if (plan.causal && j > i) keep = false;
          if (window !== null && Math.abs(i - j) >= window) keep = false;
          if (keep && given !== null) {
            const [mb, mt, ms] = given.shape;
            keep = given.data[((mb === 1 ? 0 : b) * mt + (mt === 1 ? 0 : i)) * ms + (ms === 1 ? 0 : j)] !== 0;
          }
          allowed[(b * T + i) * S + j] = keep ? 1 : 0;
        }
      }
    }
    return allowed;
  }
}

export const attentionLayers: LayerDefinition[] = [
  {
    className: "Attention",
    family: "attention",
    summary:
      "`score_mode` dot/concat, `use_scale`, `causal` (Keras 2) / `use_causal_mask`, `return_attention_scores`, [query, value, key]; masks from the inputs or `mask=`",
    create: (r) => new DenseAttention(r, false),
  },
  {
    className: "AdditiveAttention",
    family: "attention",
    summary:
      "`use_scale`, `causal` (Keras 2) / `use_causal_mask`, `return_attention_scores`, [query, value, key]; masks from the inputs or `mask=`",
    create: (r) => new DenseAttention(r, true),
  },
  {
    className: "MultiHeadAttention",
    family: "attention",
    summary:
      "`value_dim`, `use_bias`, `output_shape`, `attention_axes`, `use_gate`, `sliding_window`, `softmax_robust_masking`; key, `attention_mask`, `use_causal_mask`, `return_attention_scores`, masks from the inputs (rank-3 inputs)",
    create: (r) => new MultiHeadAttention(r),
  },
];
