/**
 * MultiHeadAttention: query, key and value projected per head (matrix products planned at load),
 * scaled dot-product attention per head on the shared kernel of ./attention-kernel.ts, then the
 * output projection. Masking variants of Keras 2 and 3 are described there.
 */
import { getActivation, type Activation } from "../kernels/activations.js";
import { planProduct, type MatrixProduct } from "../kernels/gemm/index.js";
import { choicePlan, type KernelPlan } from "../kernels/plan.js";
import { Tensor, formatShape, sizeOf } from "../tensor.js";
import {
  DOT_PRODUCT_FILL,
  MASK_OFFSET,
  argumentSlot,
  attendWithScores,
  dotProductScores,
  readFlags,
  sameDims,
  type Masking,
} from "./attention-kernel.js";
import { describe, type ConfigReader } from "./config.js";
import { describeBackend, toFloat32 } from "./core.js";
import { Layer, NO_ARGUMENTS, knownDim, type CallArguments, type Masks, type Shape } from "./layer.js";

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
  /** The einsum projections, as matrix products planned at load (the gate's sigmoid fused in). */
  private projections: {
    query: MatrixProduct;
    key: MatrixProduct;
    value: MatrixProduct;
    gate: MatrixProduct | null;
    output: MatrixProduct;
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
    // The dropout's seed, and tf_keras' record of the shapes it was built for (the weights say them).
    // flash_attention chooses how Keras 3 computes the same softmax.
    reader.ignore("seed", "query_shape", "key_shape", "value_shape", "flash_attention");
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
        `attention_axes ${describe(this.configuredAxes)} for inputs of rank ${rank} is not supported ` +
          `(supported: ascending axes between 1 and ${rank - 2})`,
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
    const dims = this.dims!;
    const [n, h, hv] = [this.heads, this.keyDim, this.valueDim];
    let next = 0;
    const take = (inner: number, cols: number, epilogue: Activation | null = null): MatrixProduct => {
      const kernel = weights[next++];
      return planProduct(kernel, this.useBias ? weights[next++] : null, epilogue, inner, cols);
    };
    const query = take(dims.query, n * h);
    const key = take(dims.key, n * h);
    const gate = this.useGate ? take(dims.query, n * hv, this.sigmoid) : null;
    const value = take(dims.value, n * hv);
    const output = take(n * hv, sizeOf(dims.outputShape));
    this.projections = { query, key, value, gate, output };
  }

  /** The projections' matrix-product backend, and why (kernelPlans, inspect --kernels). */
  override kernelPlan(): KernelPlan | null {
    return choicePlan(this.projections?.query ?? null);
  }

  /** The projections' matrix-product backend, and why (for summaries). */
  get backend(): string {
    return describeBackend(this.kernelPlan());
  }

  call(inputs: Tensor[], masks: Masks, args?: CallArguments): Tensor[] {
    const plan = this.plans.get(args ?? NO_ARGUMENTS);
    if (plan === undefined || this.dims === null || this.projections === null)
      throw this.error("E_CONFIG", "called with arguments it was not built for");
    const P = this.projections;
    const [qt, vt, kt] = [inputs[plan.query], inputs[plan.value], inputs[plan.key]];
    const batch = qt.shape[0];
    if (vt.shape[0] !== batch || kt.shape[0] !== batch || !sameDims(vt.shape.slice(1, -1), kt.shape.slice(1, -1))) {
      throw this.error(
        "E_INPUT_SHAPE",
        `query ${formatShape(qt.shape)}, value ${formatShape(vt.shape)} ` +
          `and key ${formatShape(kt.shape)} do not fit together`,
      );
    }
    const [n, h, hv] = [this.heads, this.keyDim, this.valueDim];
    const qMid = qt.shape.slice(1, -1);
    const vMid = vt.shape.slice(1, -1);
    const rowsQ = batch * sizeOf(qMid);
    const rowsV = batch * sizeOf(vMid);
    const project = (x: Tensor, p: MatrixProduct, rows: number): Float32Array => {
      const out = new Float32Array(rows * p.cols);
      p.run(toFloat32(x), 0, rows, out, 0);
      return out;
    };
    const qp = project(qt, P.query, rowsQ);
    const kp = project(kt, P.key, rowsV);
    const vp = project(vt, P.value, rowsV);
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
    const rows = {
      queryRows: new Int32Array(T),
      keyRows: new Int32Array(S),
      valueRows: new Int32Array(S),
      outRows: new Int32Array(T),
      depth: h,
      valueDepth: hv,
    };
    for (let g = 0; g < groups; g++) {
      const b = Math.floor(g / qRows.outer.length);
      const c = g % qRows.outer.length;
      const qBase = b * qRows.perBatch + qRows.outer[c];
      const vBase = b * vRows.perBatch + vRows.outer[c];
      for (let head = 0; head < n; head++) {
        for (let i = 0; i < T; i++) {
          rows.queryRows[i] = ((qBase + qRows.inner[i]) * n + head) * h;
          rows.outRows[i] = ((qBase + qRows.inner[i]) * n + head) * hv;
        }
        for (let j = 0; j < S; j++) {
          rows.keyRows[j] = ((vBase + vRows.inner[j]) * n + head) * h;
          rows.valueRows[j] = ((vBase + vRows.inner[j]) * n + head) * hv;
        }
        const at = (g * n + head) * T * S;
        dotProductScores(qp, kp, rows, plan.scaleQueryFirst ? null : scale, scores, at);
        attendWithScores(vp, rows, scores, at, allowed, b * T * S, plan.masking, plan.fill, context, acc, null);
      }
    }
    if (P.gate !== null) {
      const gate = project(qt, P.gate, rowsQ);
      for (let i = 0; i < context.length; i++) context[i] = Math.fround(context[i] * gate[i]);
    }
    const out = new Float32Array(rowsQ * P.output.cols);
    P.output.run(context, 0, rowsQ, out, 0);
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
