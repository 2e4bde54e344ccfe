/** `x[...]`: integers, slices (any step), `...` and `None` (newaxis), as NumPy and TF do them. */
import { sizeOf, type Tensor } from "../../tensor.js";
import type { Shape } from "../layer.js";
import { gather, gatherOffsets, stridesOf } from "./kernels.js";
import { isSlicePart, opError, single, type BoundOp } from "./params.js";
import { ELLIPSIS, SliceArg, TensorArg, type OpValue } from "./values.js";

/** Per output axis: an input axis read from `start` by `step` (count from the input size), or a new axis. */
type Part =
  { kind: "index"; axis: number; index: number } | { kind: "slice"; axis: number; slice: SliceArg } | { kind: "new" };

/** Python's slice.indices(): start, step and length of the selection. */
function sliceRange(s: SliceArg, n: number): [number, number, number] {
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

export function bindGetItem(op: string, spec: OpValue, x: TensorArg, shape: Shape): BoundOp {
  const items: readonly OpValue[] = Array.isArray(spec) ? spec : [spec];
  if (!items.every(isSlicePart))
    throw opError(op, "only integers, slices, ... and None can index (no tensors or lists)");
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
    } else if (typeof item === "number") {
      const n = shape[axis];
      if (!Number.isInteger(item) || (n !== null && (item < -n || item >= n)))
        throw opError(op, `index ${item} is out of range for axis ${axis} of size ${n}`);
      if (n === null && item < 0) throw opError(op, `negative index ${item} on an axis of unknown size`);
      parts.push({ kind: "index", axis: axis++, index: item });
    } else {
      const slice = item as SliceArg;
      const n = shape[axis];
      outShape.push(n === null ? null : sliceRange(slice, n)[2]);
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
        base += (p.index < 0 ? p.index + n : p.index) * strides[p.axis];
      } else {
        const [start, step, count] = sliceRange(p.slice, input.shape[p.axis]);
        base += start * strides[p.axis];
        dims.push(count);
        steps.push(step * strides[p.axis]);
      }
    }
    if (sizeOf(dims) === 0) return gather(input, dims, new Int32Array(0));
    return gather(input, dims, gatherOffsets(dims, steps, base));
  });
}
