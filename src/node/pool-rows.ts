/**
 * Whether a model's rows (axis 0 of every input) are independent, so that a ModelPool may split a
 * batch along axis 0. A Keras model's are by construction. An ONNX graph's axis 0 may be something
 * else: a time-major sequence (torch's batch_first=False, LSTM layout 0), or rows a node mixes
 * (a reduction or a normalization over axis 0). Splitting those would give other numbers; they run
 * whole on the calling thread instead.
 */
import type { Model } from "../model.js";
import { Tensor, sizeOf } from "../tensor.js";

/** Sizes the probe gives to axes the file leaves open: two rows, three of anything else. */
const PROBE_ROWS = 2;
const PROBE_OTHER = 3;

/**
 * Keras models: true. ONNX models: predict() on a probe batch of two rows must give, row for row
 * and bit for bit, what it gives on each row alone (a graph that does not run on the probe is not
 * split either).
 */
export function rowsIndependent(model: Model): boolean {
  if (model.format !== "onnx") return true;
  const batch = model.inputs.map((info, i) => {
    const shape = info.shape.map((d, axis) => (axis === 0 ? PROBE_ROWS : (d ?? PROBE_OTHER)));
    const size = sizeOf(shape);
    // Integers stay 0 and 1 (valid indices for a Gather or an embedding); floats vary in [-1, 1).
    const data =
      info.dtype === "int32"
        ? Int32Array.from({ length: size }, (_, k) => (k + i) % 2)
        : Float32Array.from({ length: size }, (_, k) => Math.sin(1.7 * k + 0.3 * i + 0.1));
    return new Tensor(shape, data);
  });
  try {
    const whole = model.predict(batch);
    for (let row = 0; row < PROBE_ROWS; row++) {
      const alone = model.predict(batch.map((t) => rowOf(t, row)));
      const same = whole.every((w, j) => {
        const a = alone[j];
        if (w.shape[0] !== PROBE_ROWS || a.shape[0] !== 1 || a.shape.length !== w.shape.length) return false;
        if (a.shape.some((d, k) => k > 0 && d !== w.shape[k])) return false;
        return sameBits(rowOf(w, row).data, a.data);
      });
      if (!same) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function rowOf(t: Tensor, row: number): Tensor {
  const size = sizeOf(t.shape.slice(1));
  return new Tensor([1, ...t.shape.slice(1)], t.data.slice(row * size, (row + 1) * size));
}

function sameBits(a: Float32Array | Int32Array, b: Float32Array | Int32Array): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
