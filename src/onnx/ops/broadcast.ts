/** Numpy-style broadcasting for the elementwise ops. */
import { formatShape } from "../../tensor.js";
import { broadcastOffsets } from "../../layers/ops/kernels.js";
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
      else throw runtimeError(label, `shapes ${shapes.map(formatShape).join(" and ")} do not broadcast`);
    }
  }
  return out;
}

/**
 * For each output element, the index of the source element it reads (null when the source
 * already has the output's shape, the common case).
 */
export function sourceIndex(outShape: readonly number[], shape: readonly number[]): Int32Array | null {
  const sameShape = shape.length === outShape.length && shape.every((d, i) => d === outShape[i]);
  return sameShape ? null : broadcastOffsets(shape, outShape);
}
