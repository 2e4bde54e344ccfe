/**
 * matmul and einsum, both as one contraction: every output element is the sum, over the summed
 * labels, of the product of one element of each operand (strides 0 where an operand broadcasts).
 */
import { Tensor, sizeOf } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { define, type OpDefinition } from "./bindings.js";
import { gatherOffsets, stridesOf } from "./kernels.js";
import { broadcastSymbolic, opError, single, type Operand } from "./params.js";

/** Labels per operand axis and of the output, e.g. "bij,bjk->bik". */
interface Equation {
  readonly inputs: readonly string[][];
  readonly output: readonly string[];
}

/** out[o] = sum over s of prod_t x_t[o, s]; each operand's strides per output label and per summed label. */
function contract(
  xs: readonly Tensor[],
  outDims: readonly number[],
  sumDims: readonly number[],
  outStrides: readonly (readonly number[])[],
  sumStrides: readonly (readonly number[])[],
): Tensor {
  const outer = xs.map((_, t) => gatherOffsets(outDims, outStrides[t], 0));
  const inner = xs.map((_, t) => gatherOffsets(sumDims, sumStrides[t], 0));
  const out = new Float32Array(sizeOf(outDims));
  const count = sizeOf(sumDims);
  for (let o = 0; o < out.length; o++) {
    let sum = 0;
    for (let s = 0; s < count; s++) {
      let product = 1;
      for (let t = 0; t < xs.length; t++) product *= xs[t].data[outer[t][o] + inner[t][s]];
      sum += product;
    }
    out[o] = sum;
  }
  return new Tensor(outDims, out);
}

/** Per operand, the stride of each label (summed when a label repeats on one operand: a diagonal). */
function labelStrides(eq: Equation, xs: readonly Tensor[], labels: readonly string[]): number[][] {
  return xs.map((x, t) => {
    const strides = stridesOf(x.shape);
    return labels.map((l) => eq.inputs[t].reduce((acc, m, axis) => (m === l ? acc + strides[axis] : acc), 0));
  });
}

function runEinsum(eq: Equation, xs: readonly Tensor[]): Tensor {
  const size = new Map<string, number>();
  xs.forEach((x, t) => eq.inputs[t].forEach((l, axis) => size.set(l, x.shape[axis])));
  const summed = [...size.keys()].filter((l) => !eq.output.includes(l));
  return contract(
    xs,
    eq.output.map((l) => size.get(l) as number),
    summed.map((l) => size.get(l) as number),
    labelStrides(eq, xs, eq.output),
    labelStrides(eq, xs, summed),
  );
}

function parseEquation(op: string, text: string, shapes: readonly Shape[]): { eq: Equation; shape: Shape } {
  const [lhs, rhs, extra] = text.replace(/\s+/g, "").split("->");
  const inputs = lhs.split(",").map((term) => [...term]);
  if (extra !== undefined || text.includes(".") || ![...lhs, ...(rhs ?? "")].every((c) => /[a-z,]/i.test(c)))
    throw opError(op, `equation ${JSON.stringify(text)} is not supported (letters only, no ellipsis)`);
  if (inputs.length !== shapes.length)
    throw opError(op, `equation ${text} has ${inputs.length} operands, not ${shapes.length}`);
  const dims = new Map<string, number | null>();
  inputs.forEach((labels, t) => {
    if (labels.length !== shapes[t].length)
      throw opError(op, `operand ${t} of ${text} is not of rank ${labels.length}`);
    labels.forEach((l, axis) => {
      const d = shapes[t][axis];
      const seen = dims.get(l);
      if (seen !== undefined && seen !== null && d !== null && seen !== d)
        throw opError(op, `label ${l} of ${text} has sizes ${seen} and ${d}`);
      if (seen === undefined || seen === null) dims.set(l, d);
    });
  });
  // Implicit output: the labels that appear once, in alphabetical order.
  const once = [...dims.keys()].filter((l) => inputs.flat().filter((m) => m === l).length === 1).sort();
  const output = rhs === undefined ? once : [...rhs];
  if (new Set(output).size !== output.length || output.some((l) => !dims.has(l)))
    throw opError(op, `the output of ${text} must name input labels once each`);
  return { eq: { inputs, output }, shape: output.map((l) => dims.get(l) as number | null) };
}

/** NumPy's matmul of 1-D operands: a vector is a one-row (first) or one-column (second) matrix. */
function asMatrix<T>(shape: readonly T[], first: boolean, one: T): T[] {
  if (shape.length !== 1) return shape.slice();
  return first ? [one, shape[0]] : [shape[0], one];
}

function dropVectorAxes<T>(shape: readonly T[], a: number, b: number): T[] {
  const rank = shape.length;
  return shape.filter((_, i) => !(a === 1 && i === rank - 2) && !(b === 1 && i === rank - 1));
}

function matmulShape(op: string, a0: Shape, b0: Shape, ta: boolean, tb: boolean): Shape {
  if (a0.length === 0 || b0.length === 0) throw opError(op, "scalars have no matrix product");
  if ((a0.length === 1 && ta) || (b0.length === 1 && tb)) throw opError(op, "a 1-D operand cannot be transposed");
  const [a, b] = [asMatrix(a0, true, 1 as number | null), asMatrix(b0, false, 1 as number | null)];
  const [m, k] = ta ? [a[a.length - 1], a[a.length - 2]] : [a[a.length - 2], a[a.length - 1]];
  const [k2, n] = tb ? [b[b.length - 1], b[b.length - 2]] : [b[b.length - 2], b[b.length - 1]];
  if (k !== null && k2 !== null && k !== k2) throw opError(op, `inner dimensions ${k} and ${k2} differ`);
  return dropVectorAxes([...broadcastSymbolic(op, a.slice(0, -2), b.slice(0, -2)), m, n], a0.length, b0.length);
}

/** Batched matrix product with broadcast batch axes: a contraction whose batch strides are 0 where an operand has 1. */
function runMatmul(a0: Tensor, b0: Tensor, ta: boolean, tb: boolean): Tensor {
  const a = new Tensor(asMatrix(a0.shape, true, 1), a0.data);
  const b = new Tensor(asMatrix(b0.shape, false, 1), b0.data);
  const rank = Math.max(a.rank, b.rank);
  const batchOf = (x: Tensor): number[] => [...Array<number>(rank - x.rank).fill(1), ...x.shape.slice(0, -2)];
  const [ba, bb] = [batchOf(a), batchOf(b)];
  const batch = ba.map((d, i) => (d === 1 ? bb[i] : d));
  const strides = (x: Tensor, batchDims: number[], transposed: boolean): [number[], number, number] => {
    const s = stridesOf([...batchDims, x.shape[x.rank - 2], x.shape[x.rank - 1]]);
    const batchStrides = batchDims.map((d, i) => (d === 1 ? 0 : s[i]));
    const [rowStride, colStride] = transposed ? [1, s[rank - 2]] : [s[rank - 2], 1];
    return [batchStrides, rowStride, colStride];
  };
  const [sa, aRow, aCol] = strides(a, ba, ta);
  const [sb, bRow, bCol] = strides(b, bb, tb);
  const m = ta ? a.shape[a.rank - 1] : a.shape[a.rank - 2];
  const k = ta ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
  const n = tb ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  const product = contract(
    [a, b],
    [...batch, m, n],
    [k],
    [
      [...sa, aRow, 0],
      [...sb, 0, bCol],
    ],
    [[aCol], [bRow]],
  );
  return new Tensor(dropVectorAxes(product.shape, a0.rank, b0.rank), product.data);
}

export const LINALG_OPS: readonly OpDefinition[] = [
  define(
    "matmul",
    "broadcast batch axes, 1-D operands as NumPy (Keras 3), `transpose_a`/`transpose_b`",
    { tf: ["linalg.matmul"], params: ["a", "b", "transpose_a", "transpose_b"], keras: ["Matmul"] },
    (p) => {
      const [a, b] = [p.operand("a"), p.operand("b")];
      const [ta, tb] = [p.bool("transpose_a", false), p.bool("transpose_b", false)];
      p.checkAllRead({ adjoint_a: false, adjoint_b: false, a_is_sparse: false, b_is_sparse: false });
      return single(matmulShape(p.op, a.shape, b.shape, ta, tb), (inputs) =>
        runMatmul(a.value(inputs), b.value(inputs), ta, tb),
      );
    },
  ),
  // Not tf.einsum: tf.keras saves its TFOpLambda without the operands (and cannot reload it).
  define(
    "einsum",
    "any number of operands, explicit or implicit output, letters (no ellipsis)",
    {
      tf: [],
      params: ["equation", "inputs"],
      keras: ["Einsum"],
      kerasParams: ["*inputs"],
      kerasNames: { subscripts: "equation" },
    },
    (p) => {
      const equation = p.string("equation");
      const xs = p.operandList("inputs");
      p.checkAllRead();
      const { eq, shape } = parseEquation(
        p.op,
        equation,
        xs.map((x: Operand) => x.shape),
      );
      return single(shape, (inputs) =>
        runEinsum(
          eq,
          xs.map((x) => x.value(inputs)),
        ),
      );
    },
  ),
];
