/**
 * Every op kerasless runs in op layers, keyed by op: the tf.keras function names (TFOpLambda's
 * `function`) and Keras 3 op classes that call it, its parameters, and its binding. This table
 * is the single source: layer creation looks ops up here and docs/supported-layers.md lists it.
 */
import { Tensor } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { concat, softmax, transpose, unary } from "./kernels.js";
import { normalizeAxis, opError, OpParams, type BoundOp } from "./params.js";
import { bindGetItem } from "./slicing.js";
import { elementwise, pointwise, reduction, reshaped, type Bind } from "./bindings.js";
import type { OpCall, OpValue } from "./values.js";

export interface OpDefinition {
  /** What the docs call it. */
  readonly name: string;
  /** tf.keras `function` names (without "tf."). */
  readonly tf: readonly string[];
  /** Parameters of the TensorFlow function, in positional order (binding uses these names). */
  readonly params: readonly string[];
  /** Keras 3 op classes. */
  readonly keras: readonly string[];
  /** The Keras 3 op's call parameters in positional order, and its config keys, as TF's names. */
  readonly kerasParams: readonly string[];
  readonly kerasNames?: Readonly<Record<string, string>>;
  readonly summary: string;
  bind(p: OpParams): BoundOp;
}

const defs: OpDefinition[] = [];
function op(
  name: string,
  tf: string[],
  params: string[],
  keras: string[],
  kerasParams: string[],
  summary: string,
  bind: Bind,
  kerasNames?: Record<string, string>,
): void {
  defs.push({ name, tf, params, keras, kerasParams, kerasNames, summary, bind });
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

op(
  "getitem",
  ["__operators__.getitem"],
  ["tensor", "slice_spec"],
  ["GetItem"],
  ["tensor", "slice_spec"],
  "integers, slices with any step, `...`, `None`",
  (p) => {
    const x = p.tensor("tensor");
    const spec = p.raw("slice_spec") ?? [];
    p.checkAllRead({ var: null });
    return bindGetItem(p.op, spec, x, p.shapes[x.index]);
  },
);
op(
  "add",
  ["__operators__.add", "math.add"],
  ["x", "y"],
  ["Add"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => a + b),
);
op(
  "subtract",
  ["math.subtract"],
  ["x", "y"],
  ["Subtract"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => a - b),
);
op(
  "multiply",
  ["math.multiply"],
  ["x", "y"],
  ["Multiply"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => a * b),
);
op(
  "truediv",
  ["math.truediv", "math.divide"],
  ["x", "y"],
  ["Divide", "TrueDivide"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => a / b),
);
op(
  "pow",
  ["math.pow"],
  ["x", "y"],
  ["Power"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => Math.pow(a, b)),
);
op(
  "minimum",
  ["math.minimum"],
  ["x", "y"],
  ["Minimum"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => Math.min(a, b)),
);
op(
  "maximum",
  ["math.maximum"],
  ["x", "y"],
  ["Maximum"],
  ["x", "y"],
  "broadcasting",
  elementwise((a, b) => Math.max(a, b)),
);
op(
  "negative",
  ["math.negative"],
  ["x"],
  ["Negative"],
  ["x"],
  "",
  pointwise("x", (v) => -v),
);
op("exp", ["math.exp"], ["x"], ["Exp"], ["x"], "", pointwise("x", Math.exp));
op("log", ["math.log"], ["x"], ["Log"], ["x"], "", pointwise("x", Math.log));
op("sqrt", ["math.sqrt"], ["x"], ["Sqrt"], ["x"], "", pointwise("x", Math.sqrt));
op(
  "square",
  ["math.square"],
  ["x"],
  ["Square"],
  ["x"],
  "",
  pointwise("x", (v) => v * v),
);
op("abs", ["math.abs"], ["x"], ["Absolute", "Abs"], ["x"], "", pointwise("x", Math.abs));
op(
  "relu",
  ["nn.relu"],
  ["features"],
  ["Relu"],
  ["features"],
  "",
  pointwise("features", (v) => (v > 0 ? v : 0)),
);
op("sigmoid", ["math.sigmoid", "nn.sigmoid"], ["x"], ["Sigmoid"], ["x"], "", pointwise("x", sigmoid));
op("tanh", ["math.tanh", "nn.tanh"], ["x"], ["Tanh"], ["x"], "", pointwise("x", Math.tanh));
op(
  "clip",
  ["clip_by_value"],
  ["t", "clip_value_min", "clip_value_max"],
  ["Clip"],
  ["t", "clip_value_min", "clip_value_max"],
  "scalar bounds",
  (p) => {
    const x = p.operand("t");
    const [lo, hi] = [p.number("clip_value_min"), p.number("clip_value_max")];
    p.checkAllRead();
    return { shape: x.shape, run: (inputs) => unary(x.value(inputs), (v) => Math.min(Math.max(v, lo), hi)) };
  },
  { x_min: "clip_value_min", x_max: "clip_value_max" },
);
op("softmax", ["nn.softmax", "math.softmax"], ["logits", "axis"], ["Softmax"], ["logits"], "any axis", (p) => {
  const x = p.tensor("logits");
  const rank = p.shapes[x.index].length;
  const axis = normalizeAxis(p.op, p.int("axis", -1), rank);
  p.checkAllRead();
  return { shape: p.shapes[x.index], run: (inputs) => softmax(inputs[x.index], axis) };
});
op(
  "mean",
  ["math.reduce_mean"],
  ["input_tensor", "axis", "keepdims"],
  ["Mean"],
  ["input_tensor", "axis", "keepdims"],
  "axis (int, list, None), keepdims",
  reduction(
    0,
    (a, v) => a + v,
    (a, n) => a / n,
  ),
);
op(
  "sum",
  ["math.reduce_sum"],
  ["input_tensor", "axis", "keepdims"],
  ["Sum"],
  ["input_tensor", "axis", "keepdims"],
  "axis (int, list, None), keepdims",
  reduction(0, (a, v) => a + v),
);
op(
  "max",
  ["math.reduce_max"],
  ["input_tensor", "axis", "keepdims"],
  ["Max"],
  ["input_tensor", "axis", "keepdims"],
  "axis (int, list, None), keepdims",
  reduction(-Infinity, Math.max),
);
op(
  "min",
  ["math.reduce_min"],
  ["input_tensor", "axis", "keepdims"],
  ["Min"],
  ["input_tensor", "axis", "keepdims"],
  "axis (int, list, None), keepdims",
  reduction(Infinity, Math.min),
);
op("expand_dims", ["expand_dims"], ["input", "axis"], ["ExpandDims"], ["input", "axis"], "one axis", (p) => {
  const axis = p.int("axis");
  const bound = reshaped(p, "input", (s) => {
    const a = normalizeAxis(p.op, axis, s.length + 1);
    return [...s.slice(0, a), 1, ...s.slice(a)];
  });
  p.checkAllRead();
  return bound;
});
op(
  "squeeze",
  ["compat.v1.squeeze", "squeeze"],
  ["input", "axis"],
  ["Squeeze"],
  ["input", "axis"],
  "axis or axes of size 1",
  (p) => {
    const axes = p.ints("axis");
    const bound = reshaped(p, "input", (s) => {
      const drop = (axes ?? s.map((_, i) => i).filter((i) => s[i] === 1)).map((a) => normalizeAxis(p.op, a, s.length));
      for (const a of drop) if (s[a] !== 1) throw opError(p.op, `axis ${a} has size ${s[a]}, not 1`);
      return s.filter((_, i) => !drop.includes(i));
    });
    p.checkAllRead({ squeeze_dims: null });
    return bound;
  },
);
op(
  "reshape",
  ["reshape"],
  ["tensor", "shape"],
  ["Reshape"],
  ["tensor", "shape"],
  "batch axis included, one -1",
  (p) => {
    const target = p.ints("shape") ?? [];
    const bound = reshaped(p, "tensor", (s) => {
      const known = s.slice(1).every((d) => d !== null) ? (s.slice(1) as number[]).reduce((a, b) => a * b, 1) : null;
      const rest = target
        .slice(1)
        .filter((d) => d >= 0)
        .reduce((a, b) => a * b, 1);
      if (target.filter((d) => d === -1).length > 1 || target.some((d) => d < -1))
        throw opError(p.op, `shape [${target.join(", ")}] is not a shape`);
      const batchFree = target[0] === -1 || target[0] === s[0];
      if (!batchFree || known === null || (target.slice(1).includes(-1) ? known % rest !== 0 : known !== rest))
        throw opError(p.op, `cannot reshape [${s.join(", ")}] to [${target.join(", ")}] (the batch axis must stay)`);
      return [null, ...target.slice(1).map((d) => (d === -1 ? known / rest : d))];
    });
    p.checkAllRead();
    return bound;
  },
  { newshape: "shape" },
);
op(
  "transpose",
  ["compat.v1.transpose", "transpose", "linalg.matrix_transpose"],
  ["a", "perm"],
  ["Transpose"],
  ["a", "perm"],
  "any permutation",
  (p) => {
    const x = p.tensor("a");
    const s = p.shapes[x.index];
    const perm = (p.ints("perm") ?? s.map((_, i) => s.length - 1 - i)).map((a) => normalizeAxis(p.op, a, s.length));
    if (perm.length !== s.length || new Set(perm).size !== perm.length)
      throw opError(p.op, `perm is not a permutation`);
    p.checkAllRead({ conjugate: false });
    return { shape: perm.map((a) => s[a]), run: (inputs) => transpose(inputs[x.index], perm) };
  },
  { axes: "perm" },
);
op("concat", ["concat"], ["values", "axis"], ["Concatenate"], ["values", "axis"], "tensors of equal rank", (p) => {
  const xs = p.tensors("values");
  const shapes = xs.map((t) => p.shapes[t.index]);
  const axis = normalizeAxis(p.op, p.int("axis"), shapes[0].length);
  p.checkAllRead();
  const shape = shapes[0].map((d, i) =>
    i !== axis ? d : shapes.some((s) => s[i] === null) ? null : shapes.reduce((n, s) => n + (s[i] as number), 0),
  );
  return {
    shape,
    run: (inputs) =>
      concat(
        xs.map((t) => inputs[t.index]),
        axis,
      ),
  };
});
op("stack", ["stack"], ["values", "axis"], ["Stack"], ["values", "axis"], "tensors of equal shape", (p) => {
  const xs = p.tensors("values");
  const s = p.shapes[xs[0].index];
  const axis = normalizeAxis(p.op, p.int("axis", 0), s.length + 1);
  p.checkAllRead();
  const expanded = [...s.slice(0, axis), 1, ...s.slice(axis)];
  return {
    shape: [...s.slice(0, axis), xs.length, ...s.slice(axis)],
    run: (inputs) =>
      concat(
        xs.map((t) => {
          const x = inputs[t.index];
          return new Tensor(expanded.map((d, i) => d ?? x.shape[i]) as number[], x.data);
        }),
        axis,
      ),
  };
});

export const OPS: readonly OpDefinition[] = defs;
const byTf = new Map<string, OpDefinition>(defs.flatMap((d) => d.tf.map((n) => [n, d] as const)));
const byKeras = new Map<string, OpDefinition>(defs.flatMap((d) => d.keras.map((n) => [n, d] as const)));

/** The op a TFOpLambda `function` or a Keras 3 op class names, if kerasless runs it. */
export function findOp(format: "tf" | "keras", name: string): OpDefinition | undefined {
  return (format === "tf" ? byTf : byKeras).get(name);
}

/** Binds one call of `definition` to its arguments and input shapes (throws what is unsupported). */
export function bindOp(definition: OpDefinition, label: string, call: OpCall, shapes: readonly Shape[]): BoundOp {
  if (call.format === "tf") return definition.bind(new OpParams(label, call, definition.params, shapes));
  const kwargs: Record<string, OpValue> = {};
  for (const [k, v] of Object.entries(call.kwargs)) {
    Object.defineProperty(kwargs, definition.kerasNames?.[k] ?? k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return definition.bind(new OpParams(label, { ...call, kwargs }, definition.kerasParams, shapes));
}
