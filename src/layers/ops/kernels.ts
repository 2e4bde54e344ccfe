/**
 * The arithmetic of op layers on dense row-major tensors: NumPy broadcasting, gathers (slicing,
 * transposes, concatenation) and reductions. Index maps are made per call: op layers run once
 * per predict, never per time step.
 */
import { Tensor, sizeOf, type TensorData } from "../../tensor.js";

export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** NumPy's broadcast of two known shapes (checked at load by the symbolic version). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** For each element of `out`, the offset of the element of `shape` broadcast to it. */
export function broadcastOffsets(shape: readonly number[], out: readonly number[]): Int32Array {
  const strides = stridesOf(shape);
  const lead = out.length - shape.length;
  // Stride 0 on broadcast axes.
  const s = out.map((d, i) => (i < lead || shape[i - lead] === 1 ? 0 : strides[i - lead]));
  return gatherOffsets(out, s, 0);
}

/** Offsets base + sum(index[i] * strides[i]) over every index of `shape`, row-major. */
export function gatherOffsets(shape: readonly number[], strides: readonly number[], base: number): Int32Array {
  const n = sizeOf(shape);
  const offsets = new Int32Array(n);
  const index = new Array<number>(shape.length).fill(0);
  let offset = base;
  for (let k = 0; k < n; k++) {
    offsets[k] = offset;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index[axis]++;
      offset += strides[axis];
      if (index[axis] < shape[axis]) break;
      offset -= strides[axis] * index[axis];
      index[axis] = 0;
    }
  }
  return offsets;
}

export function gather(x: Tensor, shape: readonly number[], offsets: Int32Array): Tensor {
  const data: TensorData =
    x.data instanceof Int32Array ? new Int32Array(offsets.length) : new Float32Array(offsets.length);
  for (let k = 0; k < offsets.length; k++) data[k] = x.data[offsets[k]];
  return new Tensor(shape, data);
}

export function binary(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = sizeOf(shape);
  const out = new Float32Array(n);
  const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (same) {
    for (let k = 0; k < n; k++) out[k] = f(a.data[k], b.data[k]);
  } else {
    const oa = broadcastOffsets(a.shape, shape);
    const ob = broadcastOffsets(b.shape, shape);
    for (let k = 0; k < n; k++) out[k] = f(a.data[oa[k]], b.data[ob[k]]);
  }
  return new Tensor(shape, out);
}

export function unary(x: Tensor, f: (v: number) => number): Tensor {
  const out = new Float32Array(x.size);
  for (let k = 0; k < out.length; k++) out[k] = f(x.data[k]);
  return new Tensor(x.shape, out);
}

/** Reduces `axes` (sorted, distinct, non-negative) with `step`, then `finish` (e.g. / count). */
export function reduce(
  x: Tensor,
  axes: readonly number[],
  keepdims: boolean,
  init: number,
  step: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number,
): Tensor {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepdims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const strides = stridesOf(x.shape);
  const outer = gatherOffsets(
    kept,
    strides.map((s, i) => (axes.includes(i) ? 0 : s)),
    0,
  );
  const reducedShape = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
  const inner = gatherOffsets(reducedShape, strides, 0);
  const out = new Float32Array(outer.length);
  for (let k = 0; k < outer.length; k++) {
    let acc = init;
    for (let j = 0; j < inner.length; j++) acc = step(acc, x.data[outer[k] + inner[j]]);
    out[k] = finish(acc, inner.length);
  }
  return new Tensor(outShape, out);
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const strides = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]);
  return gather(
    x,
    shape,
    gatherOffsets(
      shape,
      perm.map((p) => strides[p]),
      0,
    ),
  );
}

/** Concatenates along `axis` (tensors of equal rank, equal other dims). */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis], 0);
  const outer = sizeOf(shape.slice(0, axis));
  const float = xs.some((x) => x.data instanceof Float32Array);
  const data: TensorData = float ? new Float32Array(sizeOf(shape)) : new Int32Array(sizeOf(shape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const x of xs) {
      const chunk = sizeOf(x.shape.slice(axis));
      for (let j = 0; j < chunk; j++) data[o++] = x.data[i * chunk + j];
    }
  }
  return new Tensor(shape, data);
}

export function softmax(x: Tensor, axis: number): Tensor {
  const out = new Float32Array(x.size);
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outer = sizeOf(x.shape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, x.data[base + j * inner]);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += Math.exp(x.data[base + j * inner] - max);
      for (let j = 0; j < n; j++) out[base + j * inner] = Math.exp(x.data[base + j * inner] - max) / sum;
    }
  }
  return new Tensor(x.shape, out);
}
