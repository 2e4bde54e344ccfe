/**
 * `x[...]`: integers, slices (any step), `...` and `None` (newaxis), as NumPy and TF do them; in
 * tf.keras also scalar Keras tensors as indexes and slice bounds (e.g. `x[:, :tf.shape(y)[1]]`),
 * read at run time.
 */
import { KeraslessError } from "../../errors.js";
import { sizeOf, type Tensor } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { gather, gatherOffsets, stridesOf } from "./kernels.js";
import { checkedIndex } from "./ops-index.js";
import { isSlicePart, opError, single, type BoundOp } from "./params.js";
import { ELLIPSIS, SliceArg, TensorArg, type OpValue, type SliceBound } from "./values.js";

/** Per output axis: an input axis read from `start` by `step` (count from the input size), or a new axis. */
type Part =
  | { kind: "index"; axis: number; index: number | TensorArg }
  | { kind: "slice"; axis: number; slice: SliceArg }
  | { kind: "new" };

/** A bound's value for this call: a tensor's one value, which must be an integer. */
function boundValue(op: string, b: SliceBound, inputs: readonly Tensor[]): number | null {
  if (!(b instanceof TensorArg)) return b;
  const v = inputs[b.index].data[0];
  if (!Number.isInteger(v)) throw new KeraslessError("E_INPUT_VALUE", `${op}: index ${v} is not an integer`);
  return v;
}

/** A slice's bounds once read. */
type Bounds = { readonly start: number | null; readonly stop: number | null; readonly step: number | null };

/** Python's slice.indices(): start, step and length of the selection. */
function sliceRange(s: Bounds, n: number): number[] {
  const step = s.step ?? 1;
  const clamp = (v: number | null, dflt: number, lo: number, hi: number): number => {
    if (v === null) return dflt;
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, lo), hi);
  };
  const start = step > 0 ? clamp(s.start, 0, 0, n) : clamp(s.start, n - 1, -1, n - 1);
  const stop = step > 0 ? clamp(s.stop, n, 0, n) : clamp(s.stop, -1, -1, n - 1);
  const count =
    step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
  return [start, step, count];
}

function hasTensor(s: SliceArg): boolean {
  return [s.start, s.stop, s.step].some((b) => b instanceof TensorArg);
}

export function bindGetItem(op: string, spec: OpValue, x: TensorArg, shapes: readonly Shape[]): BoundOp {
  const shape = shapes[x.index];
  const items: readonly OpValue[] = Array.isArray(spec) ? spec : [spec];
  const scalar = (b: OpValue): boolean => !(b instanceof TensorArg) || shapes[b.index].length === 0;
  const scalars = (v: OpValue): boolean =>
    v instanceof SliceArg ? [v.start, v.stop, v.step].every(scalar) : scalar(v);
  if (!items.every((v) => isSlicePart(v) && scalars(v)))
    throw opError(op, "only integers, slices, ..., None and scalar Keras tensors can index (no lists)");
  const ellipses = items.filter((i) => i === ELLIPSIS).length;
  if (ellipses > 1) throw opError(op, "an index can have only one ellipsis");
  const consumed = items.filter((i) => i !== ELLIPSIS && i !== null).length;
  if (consumed > shape.length) throw opError(op, `too many indices for a rank-${shape.length} tensor`);
  // The ellipsis (or the end) stands for full slices of the axes no item names.
  const fill = Array<OpValue>(shape.length - consumed).fill(new SliceArg(null, null, null));
  const at = items.indexOf(ELLIPSIS);
  const full = at >= 0 ? items.slice(0, at).concat(fill, items.slice(at + 1)) : items.concat(fill);
  const parts: Part[] = [];
  const outShape: (number | null)[] = [];
  let axis = 0;
  for (const item of full) {
    if (item === null) {
      parts.push({ kind: "new" });
      outShape.push(1);
    } else if (item instanceof TensorArg) {
      parts.push({ kind: "index", axis: axis++, index: item });
    } else if (typeof item === "number") {
      const n = shape[axis];
      if (!Number.isInteger(item) || (n !== null && (item < -n || item >= n)))
        throw opError(op, `index ${item} is out of range for axis ${axis} of size ${n}`);
      if (n === null && item < 0) throw opError(op, `negative index ${item} on an axis of unknown size`);
      parts.push({ kind: "index", axis: axis++, index: item });
    } else {
      const slice = item as SliceArg;
      const n = shape[axis];
      outShape.push(n === null || hasTensor(slice) ? null : sliceRange(slice as Bounds, n)[2]);
      parts.push({ kind: "slice", axis: axis++, slice });
    }
  }
  return single(outShape, (inputs: readonly Tensor[]): Tensor => {
    const input = inputs[x.index];
    const strides = stridesOf(input.shape);
    let base = 0;
    const dims: number[] = [];
    const steps: number[] = [];
    for (const p of parts) {
      if (p.kind === "new") {
        dims.push(1);
        steps.push(0);
      } else if (p.kind === "index") {
        const n = input.shape[p.axis];
        base += checkedIndex(op, boundValue(op, p.index, inputs) as number, n, true) * strides[p.axis];
      } else {
        const [start0, stop, step0] = [p.slice.start, p.slice.stop, p.slice.step].map((b) => boundValue(op, b, inputs));
        const bounds = { start: start0, stop, step: step0 };
        if (bounds.step === 0) throw new KeraslessError("E_INPUT_VALUE", `${op}: slice step 0`);
        const [start, step, count] = sliceRange(bounds, input.shape[p.axis]);
        base += start * strides[p.axis];
        dims.push(count);
        steps.push(step * strides[p.axis]);
      }
    }
    if (sizeOf(dims) === 0) return gather(input, dims, new Int32Array(0));
    return gather(input, dims, gatherOffsets(dims, steps, base));
  });
}
