/**
 * Dense attention over [query, value, key]: Attention (Luong: dot or concat scores) and
 * AdditiveAttention (Bahdanau), on the shared kernel of ./attention-kernel.ts. The registry list
 * of the attention family (MultiHeadAttention is in ./attention-multihead.ts).
 */
import { formatShape, sizeOf, Tensor } from "../tensor.js";
import { attendWithScores, dotProductScores, maskFromTensor, readFlags, sameDims } from "./attention-kernel.js";
import { MultiHeadAttention } from "./attention-multihead.js";
import { describe, type ConfigReader } from "./config.js";
import { toFloat32 } from "./core.js";
import { Layer, NO_ARGUMENTS, knownDim, type CallArguments, type Mask, type Masks, type Shape } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

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
    // AdditiveAttention takes score_mode through its base class and ignores it.
    const mode = additive ? (reader.ignore("score_mode"), "additive") : reader.string("score_mode", "dot");
    if (mode !== "dot" && mode !== "concat" && mode !== "additive")
      reader.unsupported(`score_mode=${describe(mode)} is not supported (supported: "dot", "concat")`);
    this.mode = mode === "concat" || mode === "additive" ? mode : "dot";
    reader.number("dropout", 0); // dropout acts in training only
    reader.ignore("seed", "force_generator", "rng_type"); // the dropout's random numbers
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
        `query ${formatShape(qt.shape)}, value ${formatShape(vt.shape)} ` +
          `and key ${formatShape(kt.shape)} do not fit together`,
      );
    }
    const d = qt.shape[rank - 1];
    const dv = vt.shape[rank - 1];
    const q = toFloat32(qt);
    const k = toFloat32(kt);
    const v = toFloat32(vt);
    const [queryMask, valueMask] = this.callMasks(inputs, masks, plan);
    const scores = new Float32Array(batch * tq * tv);
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
    const out = new Float32Array(batch * tq * dv);
    const acc = new Float64Array(dv);
    const steps = (count: number, width: number, b: number) =>
      Int32Array.from({ length: count }, (_, i) => (b * count + i) * width);
    for (let b = 0; b < batch; b++) {
      const rows = {
        queryRows: steps(tq, d, b),
        keyRows: steps(tv, d, b),
        valueRows: steps(tv, dv, b),
        outRows: steps(tq, dv, b),
        depth: d,
        valueDepth: dv,
      };
      const at = b * tq * tv;
      if (this.mode === "dot") dotProductScores(q, k, rows, this.scale === null ? null : this.scale[0], scores, at);
      else this.tanhScores(q, k, scores, b, tq, tv, d);
      // Keras zeroes masked queries' outputs.
      const skip = queryMask === null ? null : (i: number) => queryMask.data[b * tq + i] === 0;
      attendWithScores(v, rows, scores, at, allowed, at, "subtract", 0, out, acc, skip);
    }
    const outShape = [...qt.shape.slice(0, -1), dv];
    const result = [new Tensor(outShape, out)];
    if (plan.returnScores) result.push(new Tensor([...qt.shape.slice(0, -1), tv], scores));
    return result;
  }

  /** Batch row b's scores for the concat and additive modes, as Keras computes them in float32. */
  private tanhScores(
    q: Float32Array,
    k: Float32Array,
    scores: Float32Array,
    b: number,
    tq: number,
    tv: number,
    d: number,
  ): void {
    const scale = this.scale;
    for (let i = 0; i < tq; i++) {
      const qRow = (b * tq + i) * d;
      for (let j = 0; j < tv; j++) {
        const kRow = (b * tv + j) * d;
        let s = 0;
        if (this.mode === "concat") {
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

export const attentionLayers: LayerDefinition[] = [
  {
    className: "Attention",
    family: "attention",
    summary:
      "`score_mode` dot/concat, `use_scale`, `causal` (Keras 2) / `use_causal_mask`, `return_attention_scores`, " +
      "[query, value, key]; masks from the inputs or `mask=`",
    create: (r) => new DenseAttention(r, false),
  },
  {
    className: "AdditiveAttention",
    family: "attention",
    summary:
      "`use_scale`, `causal` (Keras 2) / `use_causal_mask`, `return_attention_scores`, [query, value, key]; " +
      "masks from the inputs or `mask=`",
    create: (r) => new DenseAttention(r, true),
  },
  {
    className: "MultiHeadAttention",
    family: "attention",
    summary:
      "`value_dim`, `use_bias`, `output_shape`, `attention_axes`, `use_gate`, `sliding_window`, " +
      "`softmax_robust_masking`; key, `attention_mask`, `use_causal_mask`, `return_attention_scores`, " +
      "masks from the inputs (rank-3 inputs)",
    create: (r) => new MultiHeadAttention(r),
  },
];
