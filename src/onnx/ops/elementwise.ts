/** Elementwise ONNX ops: arithmetic, comparisons, activations, Cast, Clip, Where. */
import { erf } from "../../kernels/activations.js";
import { DATA_TYPES, allocate, elementCount, type Value, type ValueType } from "../values.js";
import { broadcastShape, sourceIndex } from "./broadcast.js";
import {
  bindable,
  pureOps,
  runtimeError,
  type BoundNode,
  type NodeReader,
  type OpDefinition,
  type OpKernel,
} from "./types.js";

type Binary = (a: number, b: number) => number;

/** Reads element i of `v` broadcast to `outShape`: a function per input, chosen once per call. */
function reader(v: Value, outShape: readonly number[]): (i: number) => number {
  const data = v.data;
  const n = data.length;
  // Read when called, not when bound: a stream's values change from step to step.
  if (n === 1) return () => data[0];
  const out = elementCount(outShape);
  if (n === out) return (i) => data[i];
  // A trailing block (a bias along the last axes) repeats: index modulo its size.
  const trailing = v.shape.every((d, k) => d === outShape[outShape.length - v.shape.length + k] || d === 1);
  if (trailing && v.shape.every((d, k) => d === outShape[outShape.length - v.shape.length + k]))
    return (i) => data[i % n];
  const index = sourceIndex(outShape, v.shape)!;
  return (i) => data[index[i]];
}

const op = pureOps("elementwise");

function binary(
  opType: string,
  f: Binary,
  result: (a: ValueType) => ValueType = (a) => a,
  intF: Binary = f,
): OpDefinition {
  return op(opType, 7, [], (node) => {
    const label = node.label;
    return bindable(([a, b]) => {
      const shape = broadcastShape([a!.shape, b!.shape], label);
      const type = result(a!.type);
      const out = allocate(type, elementCount(shape));
      const fa = reader(a!, shape);
      const fb = reader(b!, shape);
      const apply = a!.type === "float" ? f : intF;
      return {
        outputs: [{ type, shape, data: out }],
        run() {
          for (let i = 0; i < out.length; i++) out[i] = apply(fa(i), fb(i));
        },
      };
    });
  });
}

function unary(opType: string, f: (x: number) => number, attributes: string[] = [], since = 6): OpDefinition {
  return op(opType, since, attributes, () => unaryKernel(f));
}

function unaryKernel(f: (x: number) => number): OpKernel {
  return bindable(([x]) => unaryNode(x!, f));
}

function unaryNode(x: Value, f: (x: number) => number): BoundNode {
  const out = allocate(x.type, x.data.length);
  const src = x.data;
  return {
    outputs: [{ type: x.type, shape: x.shape, data: out }],
    run() {
      for (let i = 0; i < out.length; i++) out[i] = f(src[i]);
    },
  };
}

/** A unary op whose function depends on attributes (alpha, beta, ...). */
function unaryWith(
  opType: string,
  attributes: string[],
  make: (node: NodeReader) => (x: number) => number,
  since = 6,
): OpDefinition {
  return op(opType, since, attributes, (node) => unaryKernel(make(node)));
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const toBool = (): ValueType => "bool";

export const elementwiseOps: OpDefinition[] = [
  binary("Add", (a, b) => a + b),
  binary("Sub", (a, b) => a - b),
  binary("Mul", (a, b) => a * b),
  binary(
    "Div",
    (a, b) => a / b,
    undefined,
    (a, b) => Math.trunc(a / b),
  ),
  binary("Pow", (a, b) => Math.pow(a, b)),
  binary("Equal", (a, b) => (a === b ? 1 : 0), toBool),
  binary("Less", (a, b) => (a < b ? 1 : 0), toBool),
  binary("Greater", (a, b) => (a > b ? 1 : 0), toBool),
  binary("LessOrEqual", (a, b) => (a <= b ? 1 : 0), toBool),
  binary("GreaterOrEqual", (a, b) => (a >= b ? 1 : 0), toBool),
  binary("And", (a, b) => (a !== 0 && b !== 0 ? 1 : 0), toBool),
  binary("Or", (a, b) => (a !== 0 || b !== 0 ? 1 : 0), toBool),
  binary("Max", (a, b) => (a >= b || Number.isNaN(a) ? a : b)),
  binary("Min", (a, b) => (a <= b || Number.isNaN(a) ? a : b)),
  unary("Not", (x) => (x === 0 ? 1 : 0), [], 1),
  unary("Neg", (x) => -x),
  unary("Abs", Math.abs),
  unary("Sqrt", Math.sqrt),
  unary("Exp", Math.exp),
  unary("Log", Math.log),
  unary("Reciprocal", (x) => 1 / x),
  unary("Floor", Math.floor),
  unary("Ceil", Math.ceil),
  unary("Erf", erf, [], 9),
  unary("Sigmoid", sigmoid),
  unary("Tanh", Math.tanh),
  unary("Relu", (x) => (x <= 0 ? 0 : x)),
  unary("Softsign", (x) => x / (1 + Math.abs(x)), [], 1),
  unary("Softplus", (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))), [], 1),
  unaryWith("LeakyRelu", ["alpha"], (n) => {
    const alpha = n.float("alpha", 0.01);
    return (x) => (x < 0 ? alpha * x : x);
  }),
  unaryWith("Elu", ["alpha"], (n) => {
    const alpha = n.float("alpha", 1);
    return (x) => (x < 0 ? alpha * Math.expm1(x) : x);
  }),
  unaryWith("Selu", ["alpha", "gamma"], (n) => {
    const alpha = n.float("alpha", 1.6732632423543772);
    const gamma = n.float("gamma", 1.0507009873554805);
    return (x) => gamma * (x <= 0 ? alpha * Math.expm1(x) : x);
  }),
  unaryWith("HardSigmoid", ["alpha", "beta"], (n) => {
    const alpha = n.float("alpha", 0.2);
    const beta = n.float("beta", 0.5);
    return (x) => Math.max(0, Math.min(1, alpha * x + beta));
  }),
  unaryWith(
    "Gelu",
    ["approximate"],
    (n) => {
      const approximate = n.string("approximate", "none");
      if (approximate === "tanh")
        return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
      if (approximate !== "none") n.unsupported(`approximate="${approximate}" is not supported`);
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    },
    20,
  ),
  op("Clip", 11, [], () =>
    bindable(([x, min, max]) => {
      // Read per run (bounds are usually constants, but need not be).
      const lo = (): number => (min == null ? -Infinity : min.data[0]);
      const hi = (): number => (max == null ? Infinity : max.data[0]);
      return unaryNode(x!, (v) => (v < lo() ? lo() : v > hi() ? hi() : v));
    }),
  ),
  op("Cast", 6, ["to", "saturate"], (node) => {
    const to = node.int("to", 0);
    const type = DATA_TYPES[to]?.type;
    if (type === undefined) node.unsupported(`Cast to data type ${to} is not supported`);
    return bindable(([x]) => {
      const out = allocate(type!, x!.data.length);
      const src = x!.data;
      const truncate = type === "int" && x!.type === "float";
      return {
        outputs: [{ type: type!, shape: x!.shape, data: out }],
        run() {
          if (truncate) for (let i = 0; i < out.length; i++) out[i] = Math.trunc(src[i]);
          else if (type === "bool") for (let i = 0; i < out.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
          else out.set(src);
        },
      };
    });
  }),
  op("Where", 9, [], (node) =>
    bindable(([c, a, b]) => {
      const shape = broadcastShape([c!.shape, a!.shape, b!.shape], node.label);
      const out = allocate(a!.type, elementCount(shape));
      const fc = reader(c!, shape);
      const fa = reader(a!, shape);
      const fb = reader(b!, shape);
      return {
        outputs: [{ type: a!.type, shape, data: out }],
        run() {
          for (let i = 0; i < out.length; i++) out[i] = fc(i) !== 0 ? fa(i) : fb(i);
        },
      };
    }),
  ),
];

export function checkSameType(label: string, a: Value, b: Value): void {
  if (a.type !== b.type) throw runtimeError(label, `inputs of types ${a.type} and ${b.type}`);
}
