/** Products, normalizations, softmax and reductions. */
import { gemm } from "../../kernels/matmul.js";
import { allocate, elementCount, type Value } from "../values.js";
import { broadcastShape } from "./broadcast.js";
import { transposeValue } from "./shape.js";
import { axisOf, intsOf, runtimeError, type NodeReader, type OpDefinition } from "./types.js";

function float32(v: Value): Float32Array {
  return v.data instanceof Float32Array ? v.data : Float32Array.from(v.data);
}

/** numpy matmul: 1-D operands promoted, leading (batch) axes broadcast. */
function matmul(a: Value, b: Value, label: string): Value {
  const aShape = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [m, k] = aShape.slice(-2);
  const [k2, n] = bShape.slice(-2);
  if (k !== k2) throw runtimeError(label, `cannot multiply [${a.shape.join(", ")}] by [${b.shape.join(", ")}]`);
  const batchShape = broadcastShape([aShape.slice(0, -2), bShape.slice(0, -2)], label);
  const batches = elementCount(batchShape);
  const aBatches = elementCount(aShape.slice(0, -2));
  const bBatches = elementCount(bShape.slice(0, -2));
  const out = new Float32Array(batches * m * n);
  const ad = float32(a);
  const bd = float32(b);
  if (bBatches === 1) {
    // The usual Linear layer: every leading row of a times one weight matrix, in one product.
    gemm(ad, 0, k, bd, 0, n, out, 0, n, batches * m, k, n, null, false);
  } else {
    if ((aBatches !== 1 && aBatches !== batches) || bBatches !== batches)
      throw runtimeError(label, `batch axes of [${a.shape.join(", ")}] and [${b.shape.join(", ")}] are not supported`);
    for (let i = 0; i < batches; i++) {
      const aOffset = aBatches === 1 ? 0 : i * m * k;
      gemm(ad, aOffset, k, bd, i * k * n, n, out, i * m * n, n, m, k, n, null, false);
    }
  }
  const shape = [...batchShape, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return { type: "float", shape, data: out };
}

function gemmOp(node: NodeReader): (inputs: readonly (Value | null)[]) => Value[] {
  const alpha = node.float("alpha", 1);
  const beta = node.float("beta", 1);
  const transA = node.int("transA", 0) === 1;
  const transB = node.int("transB", 0) === 1;
  // A constant B is transposed once, at load.
  const constantB = node.constant(1);
  const fixedB = constantB === undefined ? null : transB ? transposeValue(constantB, [1, 0]) : constantB;
  return ([a, b, c]) => {
    const A = transA ? transposeValue(a!, [1, 0]) : a!;
    const B = fixedB ?? (transB ? transposeValue(b!, [1, 0]) : b!);
    const out = matmul(A, B, node.label);
    const data = out.data as Float32Array;
    if (alpha !== 1) for (let i = 0; i < data.length; i++) data[i] *= alpha;
    if (c != null) {
      const [m, n] = out.shape;
      const cd = c.data;
      const rows = c.shape.length === 2 ? c.shape[0] : 1;
      const cols = c.shape.length === 0 ? 1 : c.shape[c.shape.length - 1];
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) data[i * n + j] += beta * cd[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)];
    }
    return [out];
  };
}

/** Softmax / LogSoftmax over one axis (opset 13) or the flattened trailing axes (before). */
function softmax(node: NodeReader, log: boolean): (inputs: readonly (Value | null)[]) => Value[] {
  const flattens = node.opset < 13;
  return ([x]) => {
    const rank = x!.shape.length;
    const axis = axisOf(node.int("axis", flattens ? 1 : -1), rank, node.label);
    const src = float32(x!);
    const out = new Float32Array(src.length);
    const n = flattens ? elementCount(x!.shape.slice(axis)) : x!.shape[axis];
    const inner = flattens ? 1 : elementCount(x!.shape.slice(axis + 1));
    const outer = src.length / (n * inner || 1);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let max = -Infinity;
        for (let i = 0; i < n; i++) max = Math.max(max, src[base + i * inner]);
        let sum = 0;
        for (let i = 0; i < n; i++) sum += Math.exp(src[base + i * inner] - max);
        for (let i = 0; i < n; i++) {
          const shifted = src[base + i * inner] - max;
          out[base + i * inner] = log ? shifted - Math.log(sum) : Math.exp(shifted) / sum;
        }
      }
    }
    return [{ type: "float", shape: x!.shape, data: out }];
  };
}

type Reducer = { init: number; add: (acc: number, x: number) => number; finish: (acc: number, n: number) => number };

const reducers: Record<string, Reducer> = {
  ReduceSum: { init: 0, add: (a, x) => a + x, finish: (a) => a },
  ReduceMean: { init: 0, add: (a, x) => a + x, finish: (a, n) => a / n },
  ReduceProd: { init: 1, add: (a, x) => a * x, finish: (a) => a },
  ReduceMax: { init: -Infinity, add: (a, x) => (x > a || Number.isNaN(x) ? x : a), finish: (a) => a },
  ReduceMin: { init: Infinity, add: (a, x) => (x < a || Number.isNaN(x) ? x : a), finish: (a) => a },
};

function reduce(opType: string, node: NodeReader): (inputs: readonly (Value | null)[]) => Value[] {
  const r = reducers[opType];
  const keepDims = node.int("keepdims", 1) === 1;
  const noopWithEmpty = node.int("noop_with_empty_axes", 0) === 1;
  return (inputs) => {
    const x = inputs[0]!;
    const rank = x.shape.length;
    const given = node.ints("axes") ?? (inputs[1] == null ? [] : intsOf(inputs[1]));
    if (given.length === 0 && noopWithEmpty) return [x];
    const axes = given.length === 0 ? x.shape.map((_, i) => i) : given.map((a) => axisOf(a, rank, node.label));
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = allocate(x.type, elementCount(outShape));
    const acc = new Float64Array(out.length).fill(r.init);
    const counter = new Array<number>(rank).fill(0);
    const outStrides = new Array<number>(rank);
    let s = 1;
    for (let i = rank - 1; i >= 0; i--) {
      outStrides[i] = axes.includes(i) ? 0 : s;
      s *= outShape[i];
    }
    let o = 0;
    for (let i = 0; i < x.data.length; i++) {
      acc[o] = r.add(acc[o], x.data[i]);
      for (let axis = rank - 1; axis >= 0; axis--) {
        counter[axis]++;
        o += outStrides[axis];
        if (counter[axis] < x.shape[axis]) break;
        o -= outStrides[axis] * counter[axis];
        counter[axis] = 0;
      }
    }
    const n = x.data.length / (out.length || 1);
    for (let i = 0; i < out.length; i++) out[i] = r.finish(acc[i], n);
    return [{ type: x.type, shape: keepDims ? outShape : x.shape.filter((_, i) => !axes.includes(i)), data: out }];
  };
}

function layerNorm(node: NodeReader): (inputs: readonly (Value | null)[]) => Value[] {
  const epsilon = node.float("epsilon", 1e-5);
  if (node.node.outputs.length > 1 && node.node.outputs.slice(1).some((o) => o !== ""))
    node.unsupported("only the normalized output (Mean and InvStdDev outputs are for training)");
  return ([x, scale, bias]) => {
    const rank = x!.shape.length;
    const axis = axisOf(node.int("axis", -1), rank, node.label);
    const n = elementCount(x!.shape.slice(axis));
    const src = float32(x!);
    const g = float32(scale!);
    const b = bias == null ? null : float32(bias);
    const out = new Float32Array(src.length);
    for (let o = 0; o < src.length; o += n) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += src[o + i];
      mean /= n;
      let variance = 0;
      for (let i = 0; i < n; i++) variance += (src[o + i] - mean) ** 2;
      variance /= n;
      const inv = 1 / Math.sqrt(variance + epsilon);
      for (let i = 0; i < n; i++) {
        const gi = g.length === 1 ? g[0] : g[i];
        const bi = b === null ? 0 : b.length === 1 ? b[0] : b[i];
        out[o + i] = (src[o + i] - mean) * inv * gi + bi;
      }
    }
    return [{ type: "float", shape: x!.shape, data: out }];
  };
}

function batchNorm(node: NodeReader): (inputs: readonly (Value | null)[]) => Value[] {
  const epsilon = node.float("epsilon", 1e-5);
  if (node.int("training_mode", 0) !== 0) node.unsupported("training_mode=1");
  return ([x, scale, bias, mean, variance]) => {
    const channels = x!.shape[1];
    const inner = elementCount(x!.shape.slice(2));
    const src = float32(x!);
    const out = new Float32Array(src.length);
    for (let c = 0; c < channels; c++) {
      const k = scale!.data[c] / Math.sqrt(variance!.data[c] + epsilon);
      const shift = bias!.data[c] - mean!.data[c] * k;
      for (let b = 0; b < x!.shape[0]; b++) {
        const base = (b * channels + c) * inner;
        for (let i = 0; i < inner; i++) out[base + i] = src[base + i] * k + shift;
      }
    }
    return [{ type: "float", shape: x!.shape, data: out }];
  };
}

const def = (
  opType: string,
  since: number,
  attributes: string[],
  summary: string,
  prepare: OpDefinition["prepare"],
): OpDefinition => ({ opType, family: "math", since, attributes, summary, pure: true, prepare });

export const mathOps: OpDefinition[] = [
  def("MatMul", 1, [], "numpy semantics (batched)", (node) => ([a, b]) => [matmul(a!, b!, node.label)]),
  def("Gemm", 7, ["alpha", "beta", "transA", "transB"], "`alpha`, `beta`, `transA`, `transB`", gemmOp),
  def("Softmax", 1, ["axis"], "`axis` (opset < 13: flattened trailing axes)", (n) => softmax(n, false)),
  def("LogSoftmax", 1, ["axis"], "`axis` (opset < 13: flattened trailing axes)", (n) => softmax(n, true)),
  ...Object.keys(reducers).map((opType) =>
    def(opType, 1, ["axes", "keepdims", "noop_with_empty_axes"], "axes as attribute or input, `keepdims`", (n) =>
      reduce(opType, n),
    ),
  ),
  def("LayerNormalization", 17, ["axis", "epsilon", "stash_type"], "`axis`, `epsilon`", layerNorm),
  def("BatchNormalization", 9, ["epsilon", "momentum", "training_mode"], "inference (`epsilon`)", batchNorm),
];
