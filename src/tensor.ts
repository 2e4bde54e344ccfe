/** A dense row-major tensor: the only value type that flows through a model. */
export type DType = "float32" | "int32";
export type TensorData = Float32Array | Int32Array;

/** Nested JavaScript arrays of numbers, as a user would write them. */
export type NestedArray = number | NestedArray[];

export class Tensor {
  readonly shape: readonly number[];
  readonly data: TensorData;

  constructor(shape: readonly number[], data: TensorData) {
    // A copy, typed read-only; not frozen: freezing cost more than a small model's arithmetic.
    this.shape = shape.slice();
    this.data = data;
  }

  get dtype(): DType {
    return this.data instanceof Int32Array ? "int32" : "float32";
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The values as nested arrays (like `numpy.ndarray.tolist()`). */
  toArray(): NestedArray {
    const { shape, data } = this;
    if (shape.length === 0) return data[0];
    const build = (axis: number, offset: number): NestedArray[] => {
      const n = shape[axis];
      const out: NestedArray[] = new Array(n);
      if (axis === shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = data[offset + i];
        return out;
      }
      const stride = sizeOf(shape.slice(axis + 1));
      for (let i = 0; i < n; i++) out[i] = build(axis + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }
}

/**
 * One tensor alive as long as the module. V8 keeps the hidden classes that a class's instances
 * get as their fields are set only while some instance holds them: a major garbage collection
 * that finds no tensor alive (between two predict() calls, say) drops them, and with them the
 * optimized code of every function that handles tensors (the graph run, the layers' calls),
 * which V8 then deoptimizes and compiles again on the next predict(): on a 4000-layer chain, more
 * CPU time than the run itself (test/complexity/graph.test.ts). Exported so that it is kept: a
 * module's unexported constant that nothing reads is not.
 */
export const KEEPS_TENSOR_CLASS_ALIVE = new Tensor([0], new Float32Array(0));

/** The tensor's values as float32 (integer inputs are converted, as Keras casts them). */
export function toFloat32(x: Tensor): Float32Array {
  return x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? "None" : String(d))).join(", ")}]`;
}
