/** Ops that select, move or reduce elements: indexing, reductions, reshapes, joins and splits, tile, repeat. */
import { Tensor } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { define, reduction, reshaped, tensorOp, type OpDefinition } from "./bindings.js";
import { concat, gatherAlong, transpose } from "./kernels.js";
import { normalizeAxis, opError, single, type OpParams } from "./params.js";
import { bindGetItem } from "./slicing.js";

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);

function reductionOp(name: string, tf: string, keras: string[], bind: ReturnType<typeof reduction>): OpDefinition {
  // tf.compat.v1's reductions are saved under the same names, with reduction_indices and keep_dims.
  const params = ["input_tensor", "axis", "keepdims"];
  return define(name, "axis (int, list, None), keepdims (or keep_dims)", { tf: [tf], params, keras }, bind);
}

/** A known axis size (splits need one). */
function knownAxis(p: OpParams, s: Shape, axis: number): number {
  const n = s[axis];
  if (n === null) throw opError(p.op, `axis ${axis} has no known size`);
  return n;
}

/** tf.split's num_or_size_splits (a count, or sizes with at most one -1); Keras 3's indices_or_sections. */
function splitSizes(p: OpParams, n: number): number[] {
  const keras = p.has("indices_or_sections");
  const spec = p.ints(keras ? "indices_or_sections" : "num_or_size_splits");
  if (spec === undefined) throw opError(p.op, "the number of splits is missing");
  const raw = p.raw(keras ? "indices_or_sections" : "num_or_size_splits");
  if (typeof raw === "number") {
    if (raw <= 0 || n % raw !== 0) throw opError(p.op, `axis of size ${n} does not split into ${raw} equal parts`);
    return Array<number>(raw).fill(n / raw);
  }
  if (keras) {
    // NumPy's split points, clamped to the axis.
    const points = [0, ...spec.map((i) => Math.min(Math.max(i < 0 ? i + n : i, 0), n)), n];
    return points.slice(1).map((e, i) => Math.max(0, e - points[i]));
  }
  const known = spec.filter((d) => d !== -1).reduce((a, b) => a + b, 0);
  const free = spec.filter((d) => d === -1).length;
  if (spec.some((d) => d < -1) || free > 1 || (free === 0 ? known !== n : known > n))
    throw opError(p.op, `sizes [${spec.join(", ")}] do not split an axis of size ${n}`);
  return spec.map((d) => (d === -1 ? n - known : d));
}

export const SHAPE_OPS: readonly OpDefinition[] = [
  tensorOp(
    "getitem",
    "integers, slices with any step, `...`, `None`, scalar Keras tensors as indexes and bounds (tf.keras)",
    { tf: ["__operators__.getitem"], params: ["tensor", "slice_spec"], keras: ["GetItem"] },
    (p, x) => {
      const spec = p.raw("slice_spec") ?? [];
      p.checkAllRead({ var: null });
      return bindGetItem(p.op, spec, x, p.shapes);
    },
  ),
  reductionOp(
    "mean",
    "math.reduce_mean",
    ["Mean"],
    reduction(
      0,
      (a, v) => a + v,
      (a, n) => a / n,
    ),
  ),
  reductionOp(
    "sum",
    "math.reduce_sum",
    ["Sum"],
    reduction(0, (a, v) => a + v),
  ),
  reductionOp("max", "math.reduce_max", ["Max", "Amax"], reduction(-Infinity, Math.max)),
  reductionOp("min", "math.reduce_min", ["Min", "Amin"], reduction(Infinity, Math.min)),
  reductionOp(
    "prod",
    "math.reduce_prod",
    ["Prod"],
    reduction(1, (a, v) => a * v),
  ),
  define(
    "expand_dims",
    "one axis",
    { tf: ["expand_dims", "compat.v1.expand_dims"], params: ["input", "axis"], keras: ["ExpandDims"] },
    (p) => {
      const axis = p.has("dim") ? p.int("dim") : p.int("axis");
      const bound = reshaped(p, "input", (s) => {
        const a = normalizeAxis(p.op, axis, s.length + 1);
        return [...s.slice(0, a), 1, ...s.slice(a)];
      });
      p.checkAllRead({ axis: null });
      return bound;
    },
  ),
  define(
    "squeeze",
    "axis or axes of size 1",
    { tf: ["compat.v1.squeeze", "squeeze"], params: ["input", "axis"], keras: ["Squeeze"] },
    (p) => {
      const axes = p.ints("axis") ?? p.ints("squeeze_dims");
      const bound = reshaped(p, "input", (s) => {
        const all = s.map((_, i) => i).filter((i) => s[i] === 1);
        const drop = (axes ?? all).map((a) => normalizeAxis(p.op, a, s.length));
        for (const a of drop) if (s[a] !== 1) throw opError(p.op, `axis ${a} has size ${s[a]}, not 1`);
        return s.filter((_, i) => !drop.includes(i));
      });
      p.checkAllRead();
      return bound;
    },
  ),
  define(
    "reshape",
    "batch axis included, one -1",
    { tf: ["reshape"], params: ["tensor", "shape"], keras: ["Reshape"], kerasNames: { newshape: "shape" } },
    (p) => {
      const target = p.ints("shape") ?? [];
      const bound = reshaped(p, "tensor", (s) => {
        const tail = s.slice(1);
        const known = tail.every((d) => d !== null) ? (tail as number[]).reduce((a, b) => a * b, 1) : null;
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
  ),
  tensorOp(
    "transpose",
    "any permutation",
    {
      tf: ["compat.v1.transpose", "transpose", "linalg.matrix_transpose"],
      params: ["a", "perm"],
      keras: ["Transpose"],
      kerasNames: { axes: "perm" },
    },
    (p, x, s) => {
      const perm = (p.ints("perm") ?? s.map((_, i) => s.length - 1 - i)).map((a) => normalizeAxis(p.op, a, s.length));
      if (perm.length !== s.length || new Set(perm).size !== perm.length)
        throw opError(p.op, `perm is not a permutation`);
      p.checkAllRead({ conjugate: false });
      return single(
        perm.map((a) => s[a]),
        (inputs) => transpose(inputs[x.index], perm),
      );
    },
  ),
  define(
    "concat",
    "tensors of equal rank",
    { tf: ["concat"], params: ["values", "axis"], keras: ["Concatenate"] },
    (p) => {
      const xs = p.tensors("values");
      const shapes = xs.map((t) => p.shapes[t.index]);
      const axis = normalizeAxis(p.op, p.int("axis"), shapes[0].length);
      p.checkAllRead();
      const shape = shapes[0].map((d, i) =>
        i !== axis ? d : shapes.some((s) => s[i] === null) ? null : shapes.reduce((n, s) => n + (s[i] as number), 0),
      );
      return single(shape, (inputs) =>
        concat(
          xs.map((t) => inputs[t.index]),
          axis,
        ),
      );
    },
  ),
  define("stack", "tensors of equal shape", { tf: ["stack"], params: ["values", "axis"], keras: ["Stack"] }, (p) => {
    const xs = p.tensors("values");
    const s = p.shapes[xs[0].index];
    const axis = normalizeAxis(p.op, p.int("axis", 0), s.length + 1);
    p.checkAllRead();
    const expanded = [...s.slice(0, axis), 1, ...s.slice(axis)];
    const stack = (inputs: readonly Tensor[]): Tensor =>
      concat(
        xs.map((t) => {
          const x = inputs[t.index];
          return new Tensor(expanded.map((d, i) => d ?? x.shape[i]) as number[], x.data);
        }),
        axis,
      );
    return single([...s.slice(0, axis), xs.length, ...s.slice(axis)], stack);
  }),
  tensorOp(
    "split",
    "equal parts or sizes (tf) / split indices (Keras 3) along an axis of known size",
    {
      tf: ["split"],
      params: ["value", "num_or_size_splits", "axis", "num"],
      keras: ["Split"],
      kerasParams: ["value", "indices_or_sections", "axis"],
    },
    (p, x, s) => {
      const axis = normalizeAxis(p.op, p.int("axis", 0), s.length);
      const sizes = splitSizes(p, knownAxis(p, s, axis));
      p.checkAllRead();
      const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
      return {
        shapes: sizes.map((n) => s.map((d, i) => (i === axis ? n : d))),
        run: (inputs) => starts.map((start, i) => gatherAlong(inputs[x.index], axis, range(start, sizes[i]))),
      };
    },
  ),
  tensorOp(
    "unstack",
    "along an axis of known size",
    { tf: ["unstack"], params: ["value", "num", "axis"], keras: ["Unstack"] },
    (p, x, s) => {
      const axis = normalizeAxis(p.op, p.int("axis", 0), s.length);
      const n = knownAxis(p, s, axis);
      if (p.has("num") && p.int("num") !== n) throw opError(p.op, `num does not match the axis size ${n}`);
      p.checkAllRead();
      const shape = s.filter((_, i) => i !== axis);
      const part = (t: Tensor, i: number): Tensor => {
        const one = gatherAlong(t, axis, [i]);
        return new Tensor(
          t.shape.filter((_, a) => a !== axis),
          one.data,
        );
      };
      return {
        shapes: range(0, n).map(() => shape),
        run: (inputs) => range(0, n).map((i) => part(inputs[x.index], i)),
      };
    },
  ),
  tensorOp(
    "tile",
    "constant multiples",
    { tf: ["tile"], params: ["input", "multiples"], keras: ["Tile"], kerasNames: { repeats: "multiples" } },
    (p, x, s) => {
      const given = p.ints("multiples") ?? [];
      p.checkAllRead();
      // Keras 3 (NumPy) pads short multiples with leading 1s.
      if (given.length > s.length || given.some((m) => m < 0))
        throw opError(p.op, `multiples [${given.join(", ")}] do not fit a rank-${s.length} tensor`);
      const multiples = [...Array<number>(s.length - given.length).fill(1), ...given];
      const tile = (t: Tensor): Tensor =>
        multiples.reduce(
          (acc, m, axis) =>
            m === 1
              ? acc
              : gatherAlong(
                  acc,
                  axis,
                  range(0, m * acc.shape[axis]).map((i) => i % acc.shape[axis]),
                ),
          t,
        );
      return single(
        s.map((d, i) => (d === null ? null : d * multiples[i])),
        (inputs) => tile(inputs[x.index]),
      );
    },
  ),
  tensorOp(
    "repeat",
    "repeats per element or one count; axis or flattened",
    { tf: ["repeat"], params: ["input", "repeats", "axis"], keras: ["Repeat"] },
    (p, x, s) => {
      const repeats = p.ints("repeats");
      const axisArg = p.raw("axis");
      const axis = axisArg === undefined || axisArg === null ? null : normalizeAxis(p.op, p.int("axis"), s.length);
      p.checkAllRead();
      if (repeats === undefined || repeats.some((r) => r < 0))
        throw opError(p.op, "repeats must be non-negative integers");
      const flat = s.every((d) => d !== null) ? (s as number[]).reduce((a, b) => a * b, 1) : null;
      const n = axis === null ? flat : s[axis];
      const scalar = typeof p.raw("repeats") === "number";
      if (!scalar && repeats.length !== n)
        throw opError(p.op, `repeats has ${repeats.length} counts for ${n ?? "?"} elements`);
      const total = (count: number | null): number | null =>
        count === null ? null : scalar ? count * repeats[0] : repeats.reduce((a, b) => a + b, 0);
      const indexOf = (count: number): number[] =>
        range(0, count).flatMap((i) => Array<number>(scalar ? repeats[0] : repeats[i]).fill(i));
      return single(axis === null ? [total(flat)] : s.map((d, i) => (i === axis ? total(d) : d)), (inputs) => {
        const t = inputs[x.index];
        const along = axis ?? 0;
        const v = axis === null ? new Tensor([t.size], t.data) : t;
        return gatherAlong(v, along, indexOf(v.shape[along]));
      });
    },
  ),
];
