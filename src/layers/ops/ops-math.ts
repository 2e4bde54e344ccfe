/** Elementwise ops: arithmetic with broadcasting, math functions, activations, clip, softmax, cast, bias_add. */
import { erf, getActivation } from "../../kernels/activations.js";
import { Tensor } from "../../tensor.js";
import { define, elementwise, pointwise, tensorOp, type OpDefinition } from "./bindings.js";
import { binary, oneHot, reduce, select, softmax, unary } from "./kernels.js";
import { describe } from "../config.js";
import { broadcastSymbolic, normalizeAxis, opError, single } from "./params.js";

type Scalar = (v: number) => number;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function binaryOp(name: string, tf: string[], keras: string[], f: (a: number, b: number) => number): OpDefinition {
  return define(name, "broadcasting", { tf, params: ["x", "y"], keras }, elementwise(f));
}

function unaryOp(name: string, tf: string[], keras: string[], f: Scalar, param = "x"): OpDefinition {
  return define(name, "", { tf, params: [param], keras }, pointwise(param, f));
}

/** The elementwise activation Keras 3 defines under `name` (the same function TensorFlow's op computes). */
function activation(name: string): Scalar {
  const scalar = getActivation(name, 3)?.scalar;
  if (scalar === undefined) throw new Error(`no elementwise activation ${name}`);
  return scalar;
}

const sigmoid = activation("sigmoid");
const GELU_TANH = Math.sqrt(2 / Math.PI);

/** An activation with one numeric parameter (a default when the call does not set it). */
function parametric(
  name: string,
  tf: string[],
  keras: string[],
  param: string,
  fallback: number,
  f: (a: number) => Scalar,
  kerasNames?: Record<string, string>,
): OpDefinition {
  return define(name, `\`${param}\``, { tf, params: ["features", param], keras, kerasNames }, (p) => {
    const x = p.operand("features");
    const g = f(p.number(param, fallback));
    p.checkAllRead();
    return single(x.shape, (inputs) => unary(x.value(inputs), g));
  });
}

/** The axis ops that take a whole axis: softmax, log_softmax. */
function axisOp(name: string, tf: string[], keras: string[], apply: (x: Tensor, axis: number) => Tensor): OpDefinition {
  return tensorOp(name, "any axis", { tf, params: ["logits", "axis"], keras }, (p, x, s) => {
    const axis = normalizeAxis(p.op, p.int("axis", -1), s.length);
    p.checkAllRead();
    return single(s, (inputs) => apply(inputs[x.index], axis));
  });
}

function logSoftmax(x: Tensor, axis: number): Tensor {
  const s = softmax(x, axis);
  return new Tensor(s.shape, s.data.map(Math.log));
}

/** Target dtypes of cast: float types compute as float32, integer ones as int32 (truncated toward zero). */
const CAST: Readonly<Record<string, Scalar | "int">> = {
  float32: (v) => v,
  float64: (v) => v,
  int32: "int",
  int64: "int",
  bool: (v) => (v !== 0 ? 1 : 0),
};

export const MATH_OPS: readonly OpDefinition[] = [
  binaryOp("add", ["__operators__.add", "math.add"], ["Add"], (a, b) => a + b),
  binaryOp("subtract", ["math.subtract"], ["Subtract"], (a, b) => a - b),
  binaryOp("multiply", ["math.multiply"], ["Multiply"], (a, b) => a * b),
  binaryOp("truediv", ["math.truediv", "math.divide"], ["Divide", "TrueDivide"], (a, b) => a / b),
  // As TensorFlow computes them on float32: floor of the rounded quotient; fmod, moved to the divisor's sign.
  binaryOp("floordiv", ["math.floordiv", "compat.v1.floor_div"], ["FloorDivide"], (a, b) =>
    Math.floor(Math.fround(a / b)),
  ),
  binaryOp("floormod", ["math.floormod"], ["Mod"], (a, b) => {
    const r = a % b;
    return r !== 0 && r < 0 !== b < 0 ? r + b : r;
  }),
  binaryOp("pow", ["math.pow"], ["Power"], Math.pow),
  binaryOp("minimum", ["math.minimum"], ["Minimum"], Math.min),
  binaryOp("maximum", ["math.maximum"], ["Maximum"], Math.max),
  // Comparisons and logic give 0/1 (TensorFlow's bool), for where, cast and each other.
  binaryOp("greater", ["math.greater"], ["Greater"], (a, b) => (a > b ? 1 : 0)),
  binaryOp("greater_equal", ["math.greater_equal"], ["GreaterEqual"], (a, b) => (a >= b ? 1 : 0)),
  binaryOp("less", ["math.less"], ["Less"], (a, b) => (a < b ? 1 : 0)),
  binaryOp("less_equal", ["math.less_equal"], ["LessEqual"], (a, b) => (a <= b ? 1 : 0)),
  binaryOp("equal", ["math.equal"], ["Equal"], (a, b) => (a === b ? 1 : 0)),
  binaryOp("not_equal", ["math.not_equal"], ["NotEqual"], (a, b) => (a !== b ? 1 : 0)),
  binaryOp("logical_and", ["math.logical_and"], ["LogicalAnd"], (a, b) => (a !== 0 && b !== 0 ? 1 : 0)),
  binaryOp("logical_or", ["math.logical_or"], ["LogicalOr"], (a, b) => (a !== 0 || b !== 0 ? 1 : 0)),
  unaryOp("logical_not", ["math.logical_not"], ["LogicalNot"], (v) => (v === 0 ? 1 : 0)),
  define(
    "where",
    "condition, x and y broadcast",
    { tf: ["where"], params: ["condition", "x", "y"], keras: ["Where"] },
    (p) => {
      if (!p.has("x") || !p.has("y")) throw opError(p.op, "where with a condition only (indices) is not supported");
      const [c, x, y] = [p.operand("condition"), p.operand("x"), p.operand("y")];
      p.checkAllRead();
      const shape = broadcastSymbolic(p.op, broadcastSymbolic(p.op, c.shape, x.shape), y.shape);
      return single(shape, (inputs) => select(c.value(inputs), x.value(inputs), y.value(inputs)));
    },
  ),
  unaryOp("negative", ["math.negative"], ["Negative"], (v) => -v),
  unaryOp("ones_like", ["ones_like"], ["OnesLike"], () => 1, "input"),
  unaryOp("zeros_like", ["zeros_like"], ["ZerosLike"], () => 0, "input"),
  unaryOp("exp", ["math.exp"], ["Exp"], Math.exp),
  unaryOp("log", ["math.log"], ["Log"], Math.log),
  unaryOp("log1p", ["math.log1p"], ["Log1p"], Math.log1p),
  unaryOp("sqrt", ["math.sqrt"], ["Sqrt"], Math.sqrt),
  unaryOp("rsqrt", ["math.rsqrt"], ["Rsqrt"], (v) => 1 / Math.sqrt(v)),
  unaryOp("reciprocal", ["math.reciprocal"], ["Reciprocal"], (v) => 1 / v),
  unaryOp("square", ["math.square"], ["Square"], (v) => v * v),
  unaryOp("abs", ["math.abs"], ["Absolute"], Math.abs),
  unaryOp("sign", ["math.sign"], ["Sign"], Math.sign),
  unaryOp("floor", ["math.floor"], ["Floor"], Math.floor),
  unaryOp("erf", ["math.erf"], ["Erf"], erf),
  unaryOp("relu", ["nn.relu"], ["Relu"], activation("relu"), "features"),
  unaryOp("relu6", ["nn.relu6"], ["Relu6"], activation("relu6"), "features"),
  unaryOp("sigmoid", ["math.sigmoid", "nn.sigmoid"], ["Sigmoid"], sigmoid),
  unaryOp("tanh", ["math.tanh", "nn.tanh"], ["Tanh"], Math.tanh),
  unaryOp("selu", ["nn.selu"], ["Selu"], activation("selu"), "features"),
  unaryOp("softplus", ["math.softplus", "nn.softplus"], ["Softplus"], activation("softplus"), "features"),
  unaryOp("softsign", ["nn.softsign", "math.softsign"], ["Softsign"], activation("softsign"), "features"),
  unaryOp("log_sigmoid", ["math.log_sigmoid"], ["LogSigmoid"], activation("log_sigmoid")),
  unaryOp("hard_sigmoid", [], ["HardSigmoid"], activation("hard_sigmoid")),
  unaryOp("hard_silu", [], ["HardSilu"], activation("hard_silu")),
  parametric("elu", ["nn.elu"], ["Elu"], "alpha", 1, (alpha) => (v) => (v > 0 ? v : alpha * Math.expm1(v))),
  parametric("leaky_relu", ["nn.leaky_relu"], ["LeakyRelu"], "alpha", 0.2, (a) => (v) => (v >= 0 ? v : a * v), {
    negative_slope: "alpha",
  }),
  parametric("silu", ["nn.silu", "nn.swish"], ["Silu"], "beta", 1, (beta) => (v) => v * sigmoid(beta * v)),
  define("gelu", "`approximate`", { tf: ["nn.gelu"], params: ["features", "approximate"], keras: ["Gelu"] }, (p) => {
    const x = p.operand("features");
    const approximate = p.bool("approximate", false);
    p.checkAllRead();
    const f: Scalar = approximate
      ? (v) => 0.5 * v * (1 + Math.tanh(GELU_TANH * (v + 0.044715 * v * v * v)))
      : (v) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    return single(x.shape, (inputs) => unary(x.value(inputs), f));
  }),
  define(
    "clip",
    "scalar bounds",
    {
      tf: ["clip_by_value"],
      params: ["t", "clip_value_min", "clip_value_max"],
      keras: ["Clip"],
      kerasNames: { x_min: "clip_value_min", x_max: "clip_value_max" },
    },
    (p) => {
      const x = p.operand("t");
      const [lo, hi] = [p.number("clip_value_min"), p.number("clip_value_max")];
      p.checkAllRead();
      return single(x.shape, (inputs) => unary(x.value(inputs), (v) => Math.min(Math.max(v, lo), hi)));
    },
  ),
  axisOp("softmax", ["nn.softmax", "math.softmax"], ["Softmax"], softmax),
  axisOp("log_softmax", ["nn.log_softmax", "math.log_softmax"], ["LogSoftmax"], logSoftmax),
  define(
    "cast",
    `to ${Object.keys(CAST).join(", ")}`,
    { tf: ["cast"], params: ["x", "dtype"], keras: ["Cast"] },
    (p) => {
      const x = p.operand("x");
      const dtype = p.string("dtype");
      const to = CAST[dtype];
      if (!Object.prototype.hasOwnProperty.call(CAST, dtype)) throw opError(p.op, `cast to ${dtype} is not supported`);
      p.checkAllRead();
      return single(x.shape, (inputs) => {
        const t = x.value(inputs);
        if (to !== "int") return unary(t, to);
        return new Tensor(t.shape, t.data instanceof Int32Array ? t.data.slice() : Int32Array.from(t.data, Math.trunc));
      });
    },
  ),
  tensorOp(
    "l2_normalize",
    "any axes, `epsilon` (order 2)",
    {
      tf: ["math.l2_normalize"],
      params: ["x", "axis", "epsilon"],
      keras: ["Normalize"],
      kerasNames: { epsilon: "keras_epsilon" },
    },
    (p, x, s) => {
      const rank = s.length;
      const axes = (p.ints("axis") ?? p.ints("dim") ?? range(rank)).map((a) => normalizeAxis(p.op, a, rank));
      // Keras 3's epsilon defaults to its backend epsilon (1e-7), TensorFlow's to 1e-12.
      const keras = p.raw("keras_epsilon");
      const epsilon = keras === undefined ? p.number("epsilon", 1e-12) : p.number("keras_epsilon", 1e-7);
      if (p.number("order", 2) !== 2) throw opError(p.op, "only order 2 is supported");
      p.checkAllRead();
      return single(s, (inputs) => {
        const t = inputs[x.index];
        const sums = reduce(
          t,
          [...new Set(axes)].sort((a, b) => a - b),
          true,
          0,
          (a, v) => a + v * v,
          (a) => a,
        );
        return binary(t, sums, (v, sum) => v / Math.sqrt(Math.max(sum, epsilon)));
      });
    },
  ),
  tensorOp(
    "one_hot",
    "`depth`, `on_value`, `off_value`, `axis`; indices outside [0, depth) give off_value",
    {
      tf: ["one_hot"],
      params: ["indices", "depth", "on_value", "off_value", "axis", "dtype"],
      keras: ["OneHot"],
      kerasNames: { num_classes: "depth" },
    },
    (p, x, s) => {
      const depth = p.int("depth");
      const [on, off] = [p.number("on_value", 1), p.number("off_value", 0)];
      const axis = normalizeAxis(p.op, p.int("axis", -1), s.length + 1);
      const dtype = p.raw("dtype") ?? "float32";
      p.checkAllRead({ sparse: false });
      if (depth < 0 || (dtype !== "float32" && dtype !== "int32"))
        throw opError(p.op, `depth ${depth} or dtype ${describe(dtype)} is not supported`);
      return single([...s.slice(0, axis), depth, ...s.slice(axis)], (inputs) =>
        oneHot(inputs[x.index], depth, axis, on, off, dtype === "int32"),
      );
    },
  ),
  define(
    "bias_add",
    "NHWC and NCHW layouts",
    { tf: ["nn.bias_add"], params: ["value", "bias", "data_format"], keras: [] },
    (p) => {
      const x = p.operand("value");
      const bias = p.operand("bias");
      const format = p.raw("data_format") ?? "NHWC";
      p.checkAllRead();
      if (typeof format !== "string" || !/^N(?:C[A-Z]*|[A-Z]*C)$/.test(format))
        throw opError(p.op, `data_format ${String(format)} is not a layout`);
      if (bias.shape.length !== 1) throw opError(p.op, "bias must be one-dimensional");
      // channels first: the bias broadcasts along axis 1, as a [C, 1, ...] tensor would.
      const trailing = format[1] === "C" && format.length > 2 ? x.shape.length - 2 : 0;
      const view = (b: Tensor): Tensor => new Tensor([b.shape[0], ...Array<number>(trailing).fill(1)], b.data);
      broadcastSymbolic(p.op, x.shape, [bias.shape[0], ...Array<number>(trailing).fill(1)]);
      return single(x.shape, (inputs) => binary(x.value(inputs), view(bias.value(inputs)), (a, b) => a + b));
    },
  ),
];
