/** Ops that index with tensors or pad: gather / take / take_along_axis, pad, shape. */
import { KeraslessError } from "../../errors.js";
import { Tensor, sizeOf, type TensorData } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { gatherAxes, type AxisMap } from "../spatial.js";
import { define, tensorOp, type OpDefinition } from "./bindings.js";
import { broadcastOffsets, gatherOffsets, stridesOf } from "./kernels.js";
import {
  broadcastSymbolic,
  normalizeAxis,
  opError,
  single,
  type BoundOp,
  type OpParams,
  type Operand,
} from "./params.js";

/** An index read at run time: an integer in [-n, n) (negative ones count from the end when `wrap`). */
export function checkedIndex(op: string, value: number, n: number, wrap: boolean): number {
  const index = wrap && value < 0 ? value + n : value;
  if (!Number.isInteger(index) || index < 0 || index >= n)
    throw new KeraslessError("E_INPUT_VALUE", `${op}: index ${value} is out of range for an axis of size ${n}`);
  return index;
}

/** out[b, m, i, k] = x[b, m, indices[b, i], k]: TensorFlow's gather with batch_dims leading axes shared. */
function gatherIndexed(op: string, x: Tensor, axis: number, batchDims: number, indices: Tensor, wrap: boolean): Tensor {
  const n = x.shape[axis];
  const batch = sizeOf(x.shape.slice(0, batchDims));
  const middle = sizeOf(x.shape.slice(batchDims, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const perBatch = indices.size / Math.max(batch, 1);
  const shape = [...x.shape.slice(0, axis), ...indices.shape.slice(batchDims), ...x.shape.slice(axis + 1)];
  const data: TensorData =
    x.data instanceof Int32Array ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape));
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let m = 0; m < middle; m++) {
      for (let i = 0; i < perBatch; i++) {
        const j = checkedIndex(op, indices.data[b * perBatch + i], n, wrap);
        const from = ((b * middle + m) * n + j) * inner;
        for (let k = 0; k < inner; k++) data[o++] = x.data[from + k];
      }
    }
  }
  return new Tensor(shape, data);
}

/**
 * The tensor an indexing op reads along `axisArg`: with NumPy's axis=None (null), `x` flattened
 * (one axis, of unknown size when any size is) and axis 0.
 */
function alongAxis(
  p: OpParams,
  x: Operand,
  axisArg: number | null,
): { shape: Shape; axis: number; value: Operand["value"] } {
  if (axisArg !== null) return { shape: x.shape, axis: normalizeAxis(p.op, axisArg, x.shape.length), value: x.value };
  const size = x.shape.every((d) => d !== null) ? sizeOf(x.shape as number[]) : null;
  return {
    shape: [size],
    axis: 0,
    value: (inputs) => {
      const t = x.value(inputs);
      return new Tensor([t.size], t.data);
    },
  };
}

/** Keras 3's take and take_along_axis, (x, indices, axis=None): `bind` gets the axis (null: flattened). */
function takeOp(
  name: string,
  summary: string,
  keras: string,
  bind: (p: OpParams, x: Operand, indices: Operand, axisArg: number | null) => BoundOp,
): OpDefinition {
  return define(name, summary, { tf: [], params: ["x", "indices"], keras: [keras] }, (p) => {
    const [x, indices] = [p.operand("x"), p.operand("indices")];
    const axisArg = p.has("axis") ? p.int("axis") : null;
    p.checkAllRead();
    return bind(p, x, indices, axisArg);
  });
}

/** tf.gather / Keras 3 take: the indices a constant or a Keras tensor. */
function bindGather(
  p: OpParams,
  x: Operand,
  indices: Operand,
  axisArg: number | null,
  batchDims: number,
  wrap: boolean,
): BoundOp {
  const { shape: s, axis, value } = alongAxis(p, x, axisArg);
  const b = batchDims < 0 ? batchDims + indices.shape.length : batchDims;
  if (b < 0 || b > axis || b > indices.shape.length)
    throw opError(p.op, `batch_dims ${batchDims} must be between 0 and the axis (${axis}) and the indices' rank`);
  const sameBatch = (a: Shape, c: Shape): boolean =>
    a.slice(0, b).every((d, i) => d === null || c[i] === null || d === c[i]);
  if (!sameBatch(s, indices.shape)) throw opError(p.op, `the first ${b} axes of the tensor and the indices differ`);
  const shape = [...s.slice(0, axis), ...indices.shape.slice(b), ...s.slice(axis + 1)];
  return single(shape, (inputs) => {
    const t = value(inputs);
    const i = indices.value(inputs);
    if (!sameBatch(t.shape, i.shape))
      throw new KeraslessError("E_INPUT_SHAPE", `${p.op}: the first ${b} axes of the tensor and the indices differ`);
    return gatherIndexed(p.op, t, axis, b, i, wrap);
  });
}

/** NumPy's take_along_axis (Keras 3): indices broadcast with x on the other axes. */
function takeAlongAxis(op: string, x: Tensor, indices: Tensor, axis: number): Tensor {
  const keep = (s: readonly number[]): number[] => s.map((d, i) => (i === axis ? 1 : d));
  const outShape = keep(x.shape).map((d, i) => (d === 1 ? keep(indices.shape)[i] : d));
  outShape[axis] = indices.shape[axis];
  const strides = stridesOf(x.shape);
  const base = gatherOffsets(
    outShape,
    outShape.map((_, i) => (i === axis || x.shape[i] === 1 ? 0 : strides[i])),
    0,
  );
  const at = broadcastOffsets(indices.shape, outShape);
  const n = x.shape[axis];
  const out: TensorData = x.data instanceof Int32Array ? new Int32Array(base.length) : new Float32Array(base.length);
  for (let k = 0; k < out.length; k++)
    out[k] = x.data[base[k] + checkedIndex(op, indices.data[at[k]], n, true) * strides[axis]];
  return new Tensor(outShape, out);
}

/** tf.pad / keras.ops.pad modes: the input index each output index reads, -1 for the constant. */
function padMap(mode: string, n: number, before: number, after: number): AxisMap {
  const map = new Int32Array(n + before + after);
  for (let o = 0; o < map.length; o++) {
    const i = o - before;
    if (i >= 0 && i < n) map[o] = i;
    else if (mode === "CONSTANT") map[o] = -1;
    else if (mode === "REFLECT") map[o] = i < 0 ? -i : 2 * (n - 1) - i;
    else map[o] = i < 0 ? -i - 1 : 2 * n - 1 - i;
  }
  return map;
}

/** [before, after] pairs, one per axis. */
function padPairs(p: OpParams, name: string, rank: number): [number, number][] {
  const v = p.raw(name);
  const ok = (d: unknown): d is number => typeof d === "number" && Number.isInteger(d) && d >= 0;
  if (Array.isArray(v) && v.length === rank && v.every((q) => Array.isArray(q) && q.length === 2 && q.every(ok)))
    return v as [number, number][];
  throw opError(p.op, `${name} must be ${rank} pairs of non-negative integers (one per axis)`);
}

export const INDEX_OPS: readonly OpDefinition[] = [
  define(
    "gather",
    "indices a constant or a Keras tensor, `axis`, `batch_dims` (out-of-range indices fail, as on TF's CPU)",
    {
      tf: ["gather", "compat.v1.gather"],
      params: ["params", "indices", "validate_indices", "axis", "batch_dims"],
      keras: [],
    },
    (p) => {
      const [x, indices] = [p.operand("params"), p.operand("indices")];
      const batchDims = p.int("batch_dims", 0);
      const axis = p.has("axis") ? p.int("axis") : batchDims;
      p.checkAllRead({ validate_indices: null });
      return bindGather(p, x, indices, axis, batchDims, false);
    },
  ),
  takeOp(
    "take",
    "indices a constant or a Keras tensor (negative ones count from the end), `axis` or flattened",
    "Take",
    (p, x, indices, axisArg) => bindGather(p, x, indices, axisArg, 0, true),
  ),
  takeOp(
    "take_along_axis",
    "indices broadcast with the tensor on the other axes (negative ones count from the end), `axis` or flattened",
    "TakeAlongAxis",
    (p, x, indices, axisArg) => {
      const { shape: s, axis, value } = alongAxis(p, x, axisArg);
      if (indices.shape.length !== s.length)
        throw opError(p.op, `indices of rank ${indices.shape.length} for a rank-${s.length} tensor`);
      const others = (t: Shape): Shape => t.map((d, i) => (i === axis ? 1 : d));
      const shape = broadcastSymbolic(p.op, others(s), others(indices.shape)).map((d, i) =>
        i === axis ? indices.shape[axis] : d,
      );
      return single(shape, (inputs) => takeAlongAxis(p.op, value(inputs), indices.value(inputs), axis));
    },
  ),
  tensorOp(
    "pad",
    "modes `CONSTANT` (any `constant_values`), `REFLECT`, `SYMMETRIC`; the batch axis unpadded",
    {
      tf: ["pad", "compat.v1.pad"],
      params: ["tensor", "paddings", "mode", "constant_values"],
      keras: ["Pad"],
      kerasParams: ["tensor", "constant_values"],
      kerasNames: { pad_width: "paddings" },
    },
    (p, x, s) => {
      const pairs = padPairs(p, "paddings", s.length);
      const mode = p.string("mode", "CONSTANT").toUpperCase();
      const fill = p.raw("constant_values") === null ? 0 : p.number("constant_values", 0);
      p.checkAllRead();
      if (mode !== "CONSTANT" && mode !== "REFLECT" && mode !== "SYMMETRIC")
        throw opError(p.op, `mode ${mode} is not supported (CONSTANT, REFLECT, SYMMETRIC)`);
      if (pairs[0][0] !== 0 || pairs[0][1] !== 0) throw opError(p.op, "padding the batch axis is not supported");
      if (mode !== "CONSTANT" && fill !== 0) throw opError(p.op, `constant_values with mode ${mode}`);
      // REFLECT reads at most n - 1 places past an edge, SYMMETRIC n (checked at run time where n is unknown).
      const reach = mode === "REFLECT" ? 1 : 0;
      const check = (n: number, axis: number, atLoad: boolean): void => {
        const [before, after] = pairs[axis];
        if (mode === "CONSTANT" || Math.max(before, after) <= n - reach) return;
        const problem = `paddings ${before}, ${after} do not fit axis ${axis} of size ${n} in ${mode} mode`;
        throw atLoad ? opError(p.op, problem) : new KeraslessError("E_INPUT_SHAPE", `${p.op}: ${problem}`);
      };
      s.forEach((d, axis) => d !== null && axis > 0 && check(d, axis, true));
      return single(
        s.map((d, i) => (d === null ? null : d + pairs[i][0] + pairs[i][1])),
        (inputs) => {
          const t = inputs[x.index];
          const maps = t.shape.map((n, axis) => {
            if (pairs[axis][0] === 0 && pairs[axis][1] === 0) return null;
            check(n, axis, false);
            return padMap(mode, n, pairs[axis][0], pairs[axis][1]);
          });
          return gatherAxes(t, maps, fill);
        },
      );
    },
  ),
  tensorOp(
    "shape",
    "int32 (or int64, computed as int32): the shape as a tensor, e.g. to index or resize by",
    { tf: ["shape", "compat.v1.shape"], params: ["input", "out_type"], keras: [] },
    (p, x, s) => {
      const type = p.raw("out_type") ?? "int32";
      p.checkAllRead();
      if (type !== "int32" && type !== "int64") throw opError(p.op, `out_type ${String(type)} is not supported`);
      return single([s.length], (inputs) => new Tensor([s.length], Int32Array.from(inputs[x.index].shape)));
    },
  ),
];
