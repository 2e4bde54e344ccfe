/** Numpy-style broadcasting for the elementwise ops. */
import { runtimeError } from "./types.js";

export function broadcastShape(shapes: readonly (readonly number[])[], label: string): number[] {
  const rank = shapes.reduce((r, s) => Math.max(r, s.length), 0);
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const axis = rank - s.length + i;
      const d = s[i];
      if (d === out[axis] || d === 1) continue;
      if (out[axis] === 1) out[axis] = d;
      else throw runtimeError(label, `shapes ${shapes.map((x) => `[${x.join(", ")}]`).join(" and ")} do not broadcast`);
    }
  }
  return out;
}

/**
 * For each output element, the index of the source element it reads (null when the source
 * already has the output's shape, the common case).
 */
export function sourceIndex(outShape: readonly number[], shape: readonly number[]): Int32Array | null {
  const size = outShape.reduce((n, d) => n * d, 1);
  const sameShape = shape.length === outShape.length && shape.every((d, i) => d === outShape[i]);
  if (sameShape) return null;
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const axis = rank - shape.length + i;
    strides[axis] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  const index = new Int32Array(size);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let i = 0; i < size; i++) {
    index[i] = offset;
    for (let axis = rank - 1; axis >= 0; axis--) {
      counter[axis]++;
      offset += strides[axis];
      if (counter[axis] < outShape[axis]) break;
      offset -= strides[axis] * counter[axis];
      counter[axis] = 0;
    }
  }
  return index;
}
