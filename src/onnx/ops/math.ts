/** Products, normalizations, softmax and reductions. */
import { formatShape } from "../../tensor.js";
import { gemm, planProduct, type MatrixProduct } from "../../kernels/gemm/index.js";
import type { KernelPlan } from "../../kernels/plan.js";
import { softmaxAlong } from "../../kernels/softmax.js";
import { allocate, elementCount, type Value } from "../values.js";
import { broadcastShape } from "./broadcast.js";
import { bindTranspose, transposeValue } from "./shape.js";
import {
  axisOf,
  bindable,
  intsOf,
  pureOps,
  runtimeError,
  type BoundNode,
  type NodeReader,
  type OpDefinition,
  type OpKernel,
} from "./types.js";

/** v's data as float32: its own array, or a copy that run() refreshes (refresh()). */
function float32(v: Value): Float32Array {
  return v.data instanceof Float32Array ? v.data : new Float32Array(v.data.length);
}

function refresh(copy: Float32Array, v: Value): void {
  if (copy !== v.data) copy.set(v.data);
}

/** A constant 2-D float B through the shared product kernel, planned once at load (else null). */
function plannedProduct(b: Value | null | undefined, bias: Float32Array | null): MatrixProduct | null {
  if (b == null || b.shape.length !== 2 || !(b.data instanceof Float32Array)) return null;
  return planProduct(b.data, bias, null, b.shape[0], b.shape[1]);
}

/** numpy matmul: 1-D operands promoted, leading (batch) axes broadcast. `product`: b's, planned. */
function bindMatmul(a: Value, b: Value, label: string, product: MatrixProduct | null): BoundNode {
  const aShape = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [m, k] = aShape.slice(-2);
  const [k2, n] = bShape.slice(-2);
  if (k !== k2) throw runtimeError(label, `cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}`);
  const batchShape = broadcastShape([aShape.slice(0, -2), bShape.slice(0, -2)], label);
  const batches = elementCount(batchShape);
  const aBatches = elementCount(aShape.slice(0, -2));
  const bBatches = elementCount(bShape.slice(0, -2));
  if (bBatches !== 1 && ((aBatches !== 1 && aBatches !== batches) || bBatches !== batches))
    throw runtimeError(label, `batch axes of ${formatShape(a.shape)} and ${formatShape(b.shape)} are not supported`);
  const out = new Float32Array(batches * m * n);
  const ad = float32(a);
  const bd = float32(b);
  const shape = [...batchShape, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  const run = (): void => {
    refresh(ad, a);
    refresh(bd, b);
    // The usual Linear layer: every leading row of a times one weight matrix, in one product.
    if (product !== null) product.run(ad, 0, batches * m, out, 0);
    else if (bBatches === 1) gemm(ad, 0, k, bd, 0, n, out, 0, n, batches * m, k, n, null, false);
    else
      for (let i = 0; i < batches; i++) {
        const aOffset = aBatches === 1 ? 0 : i * m * k;
        gemm(ad, aOffset, k, bd, i * k * n, n, out, i * m * n, n, m, k, n, null, false);
      }
  };
  return { outputs: [{ type: "float", shape, data: out }], run };
}

/** The plan of a node's product: the shared kernel's choice, or a TypeScript product per call. */
function productPlan(product: MatrixProduct | null): KernelPlan {
  if (product !== null) return { backend: product.backend, why: [product.reason] };
  return { backend: "typescript", why: ["B is not a constant 2-D float matrix: a TypeScript product per call"] };
}

function matmulOp(node: NodeReader): OpKernel {
  const product = plannedProduct(node.constant(1), null);
  return bindable(
    ([a, b]) => bindMatmul(a!, b!, node.label, b === node.constant(1) ? product : null),
    productPlan(product),
  );
}

function gemmOp(node: NodeReader): OpKernel {
  const alpha = node.float("alpha", 1);
  const beta = node.float("beta", 1);
  const transA = node.int("transA", 0) === 1;
  const transB = node.int("transB", 0) === 1;
  // A constant B is transposed once, at load, and planned with a constant C of one row as its bias.
  const constantB = node.constant(1);
  const fixedB = constantB === undefined ? null : transB ? transposeValue(constantB, [1, 0]) : constantB;
  const constantC = node.constant(2);
  const rowBias =
    fixedB !== null &&
    alpha === 1 &&
    beta === 1 &&
    constantC?.data instanceof Float32Array &&
    constantC.data.length === fixedB.shape[1] &&
    (constantC.shape.length < 2 || constantC.shape[0] === 1);
  const product = plannedProduct(fixedB, rowBias ? (constantC!.data as Float32Array) : null);
  return bindable(([a, b, c]) => {
    const steps: BoundNode[] = [];
    const transposed = (v: Value): Value => {
      steps.push(bindTranspose(v, [1, 0]));
      return steps[steps.length - 1].outputs[0];
    };
    const A = transA ? transposed(a!) : a!;
    const B = fixedB ?? (transB ? transposed(b!) : b!);
    const multiply = bindMatmul(A, B, node.label, fixedB === null ? null : product);
    steps.push(multiply);
    const out = multiply.outputs[0];
    const data = out.data as Float32Array;
    const [m, n] = out.shape;
    const addC = c != null && !rowBias;
    const rows = c == null || c.shape.length < 2 ? 1 : c.shape[0];
    const cols = c == null || c.shape.length === 0 ? 1 : c.shape[c.shape.length - 1];
    const run = (): void => {
      for (let i = 0; i < steps.length; i++) steps[i].run();
      if (alpha !== 1) for (let i = 0; i < data.length; i++) data[i] *= alpha;
      if (!addC) return;
      const cd = c!.data;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) data[i * n + j] += beta * cd[(rows === 1 ? 0 : i) * cols + (cols === 1 ? 0 : j)];
    };
    return { outputs: [out], run };
  }, productPlan(product));
}

/** Softmax / LogSoftmax over one axis (opset 13) or the flattened trailing axes (before). */
function softmax(node: NodeReader, log: boolean): OpKernel {
  const flattens = node.opset < 13;
  return bindable(([x]) => {
    const rank = x!.shape.length;
    const axis = axisOf(node.int("axis", flattens ? 1 : -1), rank, node.label);
    const src = float32(x!);
    const out = new Float32Array(src.length);
    const n = flattens ? elementCount(x!.shape.slice(axis)) : x!.shape[axis];
    const inner = flattens ? 1 : elementCount(x!.shape.slice(axis + 1));
    const outer = src.length / (n * inner || 1);
    const run = (): void => {
      refresh(src, x!);
      softmaxAlong(src, out, outer, n, inner, log);
    };
    return { outputs: [{ type: "float", shape: x!.shape, data: out }], run };
  });
}

type Reducer = { init: number; add: (acc: number, x: number) => number; finish: (acc: number, n: number) => number };

const reducers: Record<string, Reducer> = {
  ReduceSum: { init: 0, add: (a, x) => a + x, finish: (a) => a },
  ReduceMean: { init: 0, add: (a, x) => a + x, finish: (a, n) => a / n },
  ReduceProd: { init: 1, add: (a, x) => a * x, finish: (a) => a },
  ReduceMax: { init: -Infinity, add: (a, x) => (x > a || Number.isNaN(x) ? x : a), finish: (a) => a },
  ReduceMin: { init: Infinity, add: (a, x) => (x < a || Number.isNaN(x) ? x : a), finish: (a) => a },
};

function reduce(opType: string, node: NodeReader): OpKernel {
  const r = reducers[opType];
  const keepDims = node.int("keepdims", 1) === 1;
  const noopWithEmpty = node.int("noop_with_empty_axes", 0) === 1;
  return bindable((inputs) => {
    const x = inputs[0]!;
    const rank = x.shape.length;
    const given = node.ints("axes") ?? (inputs[1] == null ? [] : intsOf(inputs[1]));
    if (given.length === 0 && noopWithEmpty) return { outputs: [x], run: () => {} };
    const axes = given.length === 0 ? x.shape.map((_, i) => i) : given.map((a) => axisOf(a, rank, node.label));
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = allocate(x.type, elementCount(outShape));
    const acc = new Float64Array(out.length);
    const counter = new Array<number>(rank).fill(0);
    const outStrides = new Array<number>(rank);
    let s = 1;
    for (let i = rank - 1; i >= 0; i--) {
      outStrides[i] = axes.includes(i) ? 0 : s;
      s *= outShape[i];
    }
    const n = x.data.length / (out.length || 1);
    const run = (): void => {
      acc.fill(r.init);
      counter.fill(0);
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
      for (let i = 0; i < out.length; i++) out[i] = r.finish(acc[i], n);
    };
    const shape = keepDims ? outShape : x.shape.filter((_, i) => !axes.includes(i));
    return { outputs: [{ type: x.type, shape, data: out }], run };
  });
}

function layerNorm(node: NodeReader): OpKernel {
  const epsilon = node.float("epsilon", 1e-5);
  if (node.node.outputs.length > 1 && node.node.outputs.slice(1).some((o) => o !== ""))
    node.unsupported("only the normalized output (Mean and InvStdDev outputs are for training)");
  return bindable(([x, scale, bias]) => {
    const rank = x!.shape.length;
    const axis = axisOf(node.int("axis", -1), rank, node.label);
    const n = elementCount(x!.shape.slice(axis));
    const src = float32(x!);
    const g = float32(scale!);
    const b = bias == null ? null : float32(bias);
    const out = new Float32Array(src.length);
    const run = (): void => {
      refresh(src, x!);
      refresh(g, scale!);
      if (b !== null) refresh(b, bias!);
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
    };
    return { outputs: [{ type: "float", shape: x!.shape, data: out }], run };
  });
}

function batchNorm(node: NodeReader): OpKernel {
  const epsilon = node.float("epsilon", 1e-5);
  if (node.int("training_mode", 0) !== 0) node.unsupported("training_mode=1");
  return bindable(([x, scale, bias, mean, variance]) => {
    const channels = x!.shape[1];
    const inner = elementCount(x!.shape.slice(2));
    const src = float32(x!);
    const out = new Float32Array(src.length);
    const run = (): void => {
      refresh(src, x!);
      for (let c = 0; c < channels; c++) {
        const k = scale!.data[c] / Math.sqrt(variance!.data[c] + epsilon);
        const shift = bias!.data[c] - mean!.data[c] * k;
        for (let b = 0; b < x!.shape[0]; b++) {
          const base = (b * channels + c) * inner;
          for (let i = 0; i < inner; i++) out[base + i] = src[base + i] * k + shift;
        }
      }
    };
    return { outputs: [{ type: "float", shape: x!.shape, data: out }], run };
  });
}

const def = pureOps("math");

export const mathOps: OpDefinition[] = [
  def("MatMul", 1, [], matmulOp),
  def("Gemm", 7, ["alpha", "beta", "transA", "transB"], gemmOp),
  def("Softmax", 1, ["axis"], (n) => softmax(n, false)),
  def("LogSoftmax", 1, ["axis"], (n) => softmax(n, true)),
  ...Object.keys(reducers).map((opType) =>
    def(opType, 1, ["axes", "keepdims", "noop_with_empty_axes"], (n) => reduce(opType, n)),
  ),
  def("LayerNormalization", 17, ["axis", "epsilon", "stash_type"], layerNorm),
  def("BatchNormalization", 9, ["epsilon", "momentum", "training_mode"], batchNorm),
];
