/**
 * tf.keras 2.2–2.3 `TensorFlowOpLayer`: a raw TensorFlow op saved as its NodeDef (protobuf JSON:
 * `op`, `input`, `attr` with int64 as strings and bytes as base64) plus `constants`, the op's
 * inputs that were not Keras tensors, by input position. The op is translated into the call of
 * the TensorFlow function that makes it, so that the op registry binds it as a TFOpLambda call.
 * TF 2.0–2.1 stored the NodeDef as binary protobuf text, which is refused.
 */
import { describe, isObject, type JsonObject } from "../layers/config.js";
import { ELLIPSIS, SliceArg, TensorArg, type OpCall, type OpValue } from "../layers/ops/values.js";
import { configError } from "./config.js";

type Attrs = Readonly<Record<string, unknown>>;
type Attr = (name: string) => OpValue | undefined;
type Translate = (ins: OpValue[], attr: Attr) => { args: OpValue[]; kwargs: Record<string, OpValue> };

const unary = (fn: string): [string, Translate] => [fn, (ins) => ({ args: [ins[0]], kwargs: {} })];
const binary = (fn: string): [string, Translate] => [fn, (ins) => ({ args: [ins[0]], kwargs: { y: ins[1] } })];
const reduce = (fn: string): [string, Translate] => [
  fn,
  (ins, attr) => ({ args: [ins[0]], kwargs: { axis: ins[1], keepdims: attr("keep_dims") ?? false } }),
];

/** MatMul's transpose_a/b and BatchMatMulV2's adj_x/y (real numbers: adjoint is transpose). */
const matmul = (a: string, b: string): [string, Translate] => [
  "linalg.matmul",
  (ins, attr) => ({
    args: [ins[0]],
    kwargs: { b: ins[1], transpose_a: attr(a) ?? false, transpose_b: attr(b) ?? false },
  }),
];

/** Bits of a StridedSlice mask. */
const bit = (mask: OpValue | undefined, i: number): boolean => typeof mask === "number" && ((mask >> i) & 1) === 1;

/** StridedSlice's begin/end/strides and masks, as the Python index that made them. */
function sliceSpec(ins: OpValue[], attr: Attr): OpValue[] {
  const [begin, end, strides] = [ins[1], ins[2], ins[3]];
  if (![begin, end, strides].every((v) => Array.isArray(v) && v.every((n) => typeof n === "number")))
    throw new Error("StridedSlice needs constant begin, end and strides");
  const [b, e, s] = [begin, end, strides] as number[][];
  return b.map((start, i) => {
    if (bit(attr("ellipsis_mask"), i)) return ELLIPSIS;
    if (bit(attr("new_axis_mask"), i)) return null;
    if (bit(attr("shrink_axis_mask"), i)) return start;
    return new SliceArg(bit(attr("begin_mask"), i) ? null : start, bit(attr("end_mask"), i) ? null : e[i], s[i]);
  });
}

/** "Op:function" pairs, e.g. "Sub:math.subtract", as map entries made by `make`. */
function table(pairs: string, make: (fn: string) => [string, Translate]): [string, [string, Translate]][] {
  return pairs.split(/\s+/).map((pair) => [pair.split(":")[0], make(pair.split(":")[1])]);
}

/** NodeDef op → the TensorFlow function (as TFOpLambda names it) and its arguments. */
const NODE_OPS = new Map<string, [string, Translate]>([
  ...table(
    "Add:math.add AddV2:math.add Sub:math.subtract Mul:math.multiply RealDiv:math.truediv Maximum:math.maximum " +
      "Minimum:math.minimum Pow:math.pow",
    binary,
  ),
  ...table(
    "Mean:math.reduce_mean Sum:math.reduce_sum Max:math.reduce_max Min:math.reduce_min Prod:math.reduce_prod",
    reduce,
  ),
  ...table(
    "Neg:math.negative Exp:math.exp Log:math.log Sqrt:math.sqrt Rsqrt:math.rsqrt Square:math.square Abs:math.abs " +
      "Sigmoid:math.sigmoid Tanh:math.tanh Softplus:math.softplus Relu:nn.relu Relu6:nn.relu6 Elu:nn.elu Selu:nn.selu",
    unary,
  ),
  ["Softmax", unary("nn.softmax")],
  ["ConcatV2", ["concat", (ins) => ({ args: [ins.slice(0, -1)], kwargs: { axis: ins[ins.length - 1] } })]],
  ["Pack", ["stack", (ins, attr) => ({ args: [ins], kwargs: { axis: attr("axis") ?? 0 } })]],
  ["ExpandDims", ["expand_dims", (ins) => ({ args: [ins[0]], kwargs: { axis: ins[1] } })]],
  ["Squeeze", ["squeeze", (ins, attr) => ({ args: [ins[0]], kwargs: { axis: attr("squeeze_dims") ?? null } })]],
  ["Reshape", ["reshape", (ins) => ({ args: [ins[0]], kwargs: { shape: ins[1] } })]],
  ["Transpose", ["transpose", (ins) => ({ args: [ins[0]], kwargs: { perm: ins[1] } })]],
  ["Tile", ["tile", (ins) => ({ args: [ins[0]], kwargs: { multiples: ins[1] } })]],
  [
    "BiasAdd",
    [
      "nn.bias_add",
      (ins, attr) => ({ args: [ins[0]], kwargs: { bias: ins[1], data_format: attr("data_format") ?? "NHWC" } }),
    ],
  ],
  ["MatMul", matmul("transpose_a", "transpose_b")],
  ["BatchMatMulV2", matmul("adj_x", "adj_y")],
  [
    "StridedSlice",
    ["__operators__.getitem", (ins, attr) => ({ args: [ins[0]], kwargs: { slice_spec: sliceSpec(ins, attr) } })],
  ],
]);

/** The NodeDef ops kerasless runs, for the docs. */
export const NODE_DEF_OPS: readonly string[] = [...NODE_OPS.keys()];

/** An attr value: b, i (int64 text), f, s (base64 text), type, or a list of i. */
function attrValue(v: unknown): OpValue | undefined {
  if (!isObject(v)) return undefined;
  if (typeof v.b === "boolean") return v.b;
  if (typeof v.i === "string" || typeof v.i === "number") return Number(v.i);
  if (typeof v.f === "number") return v.f;
  if (typeof v.s === "string") return atob(v.s);
  if (isObject(v.list)) return Array.isArray(v.list.i) ? v.list.i.map(Number) : [];
  // An empty attr value is the default (false / 0); types (T, DT_FLOAT) are not read.
  return Object.keys(v).length === 0 ? undefined : describe(v);
}

/** The TensorFlow function a TensorFlowOpLayer's op is made by, if kerasless runs it. */
export function nodeDefFunction(config: JsonObject): { op: string; fn: string | undefined } {
  const nodeDef = config.node_def;
  if (!isObject(nodeDef)) return { op: "with a binary NodeDef (TF 2.0–2.1)", fn: undefined };
  const op = typeof nodeDef.op === "string" ? nodeDef.op : describe(nodeDef.op);
  return { op, fn: NODE_OPS.get(op)?.[0] };
}

/** The call a TensorFlowOpLayer makes on its `inputCount` tensors (and its constants). */
export function nodeDefCall(config: JsonObject, inputCount: number, layer: string): OpCall | undefined {
  const nodeDef = config.node_def;
  if (!isObject(nodeDef)) return undefined;
  const translate = NODE_OPS.get(typeof nodeDef.op === "string" ? nodeDef.op : "")?.[1];
  if (translate === undefined) return undefined;
  const attrs: Attrs = isObject(nodeDef.attr) ? nodeDef.attr : {};
  const constants = isObject(config.constants) ? config.constants : {};
  const count = inputCount + Object.keys(constants).length;
  const ins: OpValue[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const c = Object.prototype.hasOwnProperty.call(constants, String(i)) ? constants[String(i)] : undefined;
    // NumPy constants: plain lists (TF 2.2–2.3) or, from tf_keras 2.13 on, `__numpy__` objects.
    const value = isObject(c) && c.class_name === "__numpy__" && isObject(c.config) ? c.config.value : c;
    if (c !== undefined) ins.push(value as OpValue);
    else if (next < inputCount) ins.push(new TensorArg(next++));
    else
      throw configError(`layer "${layer}": TensorFlowOpLayer constants ${describe(constants)} do not fit its inputs`);
  }
  try {
    const { args, kwargs } = translate(ins, (name) =>
      Object.prototype.hasOwnProperty.call(attrs, name) ? attrValue(attrs[name]) : undefined,
    );
    return { format: "tf", args, kwargs };
  } catch (e) {
    throw configError(`layer "${layer}": ${(e as Error).message}`);
  }
}
