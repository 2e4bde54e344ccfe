/**
 * Axes and broadcasting, shared by the layer families: Keras' axis arguments made non-negative
 * and checked at load time, and numpy-style broadcasting of per-position parameters onto an input.
 */
import { formatShape, sizeOf } from "../tensor.js";
import type { Layer } from "./layer.js";

/** One axis for an input of `rank` made non-negative; the batch axis or an axis out of range is a config error. */
export function resolveAxis(layer: Layer, axis: number, rank: number): number {
  const resolved = axis < 0 ? axis + rank : axis;
  if (resolved < 1 || resolved >= rank)
    throw layer.error("E_CONFIG", `axis ${axis} is not a non-batch axis of a rank-${rank} input`);
  return resolved;
}

/** Axes made non-negative for `rank` and sorted; out of range, duplicate or batch axes are config errors. */
export function resolveAxes(layer: Layer, axes: readonly number[], rank: number): number[] {
  const resolved = axes.map((a) => (a < 0 ? a + rank : a));
  if (resolved.some((a) => a < 1 || a >= rank) || new Set(resolved).size !== resolved.length) {
    throw layer.error("E_CONFIG", `axis ${formatShape(axes)} is not a set of non-batch axes of a rank-${rank} input`);
  }
  return resolved.sort((a, b) => a - b);
}

/** The shape with every axis not in `axes` set to 1 (the shape of per-position parameters). */
export function keepAxes(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? d : 1));
}

/** The shape with every axis in `axes` set to 1 (the shape of statistics reduced over them). */
export function reduceAxes(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * For every element of a tensor of `shape`, the flat index of the value that `source` (of shape
 * `sourceShape`, right-aligned, each size 1 or equal) supplies to it under broadcasting. Null when
 * the shapes do not broadcast.
 */
export function broadcastIndex(shape: readonly number[], sourceShape: readonly number[]): Int32Array | null {
  const rank = shape.length;
  const offset = rank - sourceShape.length;
  if (offset < 0) return null;
  // The source stride of each target axis (0 where the source repeats).
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let k = sourceShape.length - 1; k >= 0; k--) {
    const d = sourceShape[k];
    if (d !== 1 && d !== shape[k + offset]) return null;
    if (d !== 1) strides[k + offset] = stride;
    stride *= d;
  }
  const size = sizeOf(shape);
  const out = new Int32Array(size);
  if (size === 0) return out;
  const coord = new Array<number>(rank).fill(0);
  let index = 0;
  for (let i = 0; i < size; i++) {
    out[i] = index;
    for (let d = rank - 1; d >= 0; d--) {
      index += strides[d];
      if (++coord[d] < shape[d]) break;
      index -= strides[d] * shape[d];
      coord[d] = 0;
    }
  }
  return out;
}

/**
 * broadcastIndex for one input shape at a time, kept while calls bring the same shape (so that
 * streaming steps reuse it without allocating).
 */
export class BroadcastIndexCache {
  private shape: readonly number[] = [];
  private value: Int32Array | null = null;

  constructor(private readonly sourceShapeFor: (shape: readonly number[]) => readonly number[]) {}

  get(layer: Layer, shape: readonly number[]): Int32Array {
    if (this.value === null || !sameDims(shape, this.shape)) {
      const source = this.sourceShapeFor(shape);
      const index = broadcastIndex(shape, source);
      if (index === null)
        throw layer.error(
          "E_INPUT_SHAPE",
          `values of shape ${formatShape(source)} do not broadcast to the input shape ${formatShape(shape)}`,
        );
      this.shape = [...shape];
      this.value = index;
    }
    return this.value;
  }
}
