/**
 * The arithmetic of op layers on dense row-major tensors: NumPy broadcasting, gathers (slicing,
 * transposes, concatenation) and reductions. Index maps are made per call: op layers run once
 * per predict, never per time step.
 */
import { Tensor, sizeOf, type TensorData } from "../../tensor.js";

/** Row-major strides: the element count of the axes after each axis. */
export function stridesOf(shape: readonly number[]): number[] {
  return shape.map((_, axis) => sizeOf(shape.slice(axis + 1)));
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

/**
 * Offsets base + sum(index[i] * strides[i]) over every index of `shape`, row-major: built axis by
 * axis, each offset so far followed by its steps along the next axis.
 */
export function gatherOffsets(shape: readonly number[], strides: readonly number[], base: number): Int32Array {
  let offsets = Int32Array.of(base);
  shape.forEach((n, axis) => {
    const next = new Int32Array(offsets.length * n);
    for (let k = 0; k < offsets.length; k++) {
      for (let i = 0; i < n; i++) next[k * n + i] = offsets[k] + i * strides[axis];
    }
    offsets = next;
  });
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

/** out[o, j, i] = x[o, index[j], i] along `axis`: the selections split, unstack, tile and repeat make. */
export function gatherAlong(x: Tensor, axis: number, index: readonly number[]): Tensor {
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const n = x.shape[axis];
  const shape = x.shape.slice();
  shape[axis] = index.length;
  const data: TensorData =
    x.data instanceof Int32Array ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const j of index) {
      const from = (i * n + j) * inner;
      for (let k = 0; k < inner; k++) data[o++] = x.data[from + k];
    }
  }
  return new Tensor(shape, data);
}

/** NumPy's where(condition, x, y), all three broadcast. */
export function select(condition: Tensor, x: Tensor, y: Tensor): Tensor {
  const shape = broadcastShapes(broadcastShapes(condition.shape, x.shape), y.shape);
  const [oc, ox, oy] = [condition, x, y].map((t) => broadcastOffsets(t.shape, shape));
  const out = new Float32Array(oc.length);
  for (let k = 0; k < out.length; k++) out[k] = condition.data[oc[k]] !== 0 ? x.data[ox[k]] : y.data[oy[k]];
  return new Tensor(shape, out);
}

/** tf.one_hot: a new axis of `depth` at `axis`, on_value at each index (none for indices outside [0, depth)). */
export function oneHot(x: Tensor, depth: number, axis: number, on: number, off: number, int: boolean): Tensor {
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis));
  const shape = [...x.shape.slice(0, axis), depth, ...x.shape.slice(axis)];
  const data: TensorData = int ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape));
  data.fill(off);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const k = x.data[o * inner + i];
      if (Number.isInteger(k) && k >= 0 && k < depth) data[(o * depth + k) * inner + i] = on;
    }
  }
  return new Tensor(shape, data);
}
