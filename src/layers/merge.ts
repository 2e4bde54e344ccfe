/** Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum. */
import { Tensor, formatShape, sizeOf, toFloat32 } from "../tensor.js";
import { resolveAxis } from "./axes.js";
import type { ConfigReader } from "./config.js";
import { Layer, POINTWISE, type Mask, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/** `shape` with axes of size 1 after the batch axis, up to `rank` (Keras expands lower-rank inputs at axis 1). */
function expanded<T extends number | null>(shape: readonly T[], rank: number): (T | 1)[] {
  return [shape[0], ...new Array<1>(rank - shape.length).fill(1), ...shape.slice(1)];
}

/** The inputs' shapes broadcast (NumPy's rule after expanded()), or null when they do not broadcast. */
function broadcastShapes(shapes: readonly Shape[]): Shape | null {
  const rank = shapes.reduce((r, s) => Math.max(r, s.length), 0);
  const full = shapes.map((s) => expanded(s, rank));
  const out: (number | null)[] = [];
  for (let a = 0; a < rank; a++) {
    let d: number | null = 1;
    for (const s of full) {
      const x = s[a];
      if (x === 1) continue;
      if (x === null) d = d === 1 ? null : d;
      else if (d === 1 || d === null) d = x;
      else if (x !== d) return null;
    }
    out.push(d);
  }
  return out;
}

/** A merge folds its inputs value by value: acc = step(acc, next input's value), then finish(acc, count). */
type Step = (acc: number, x: number) => number;
type Finish = (acc: number, n: number) => number;

/**
 * The fold over inputs broadcast to `outShape` (each input's `shapes` entry already expanded to
 * its rank): an odometer over the outer axes, one run along the last axis per input.
 */
function broadcastFold(
  values: Float32Array[],
  shapes: readonly number[][],
  outShape: readonly number[],
  out: Float32Array,
  step: Step,
): void {
  const rank = outShape.length;
  const inner = outShape[rank - 1];
  if (out.length === 0) return;
  const strides = shapes.map((s) => {
    const st = new Array<number>(rank);
    let size = 1;
    for (let a = rank - 1; a >= 0; a--) {
      st[a] = s[a] === 1 ? 0 : size;
      size *= s[a];
    }
    return st;
  });
  const index = new Array<number>(rank).fill(0);
  const offsets = new Array<number>(values.length).fill(0);
  for (let base = 0; base < out.length; base += inner) {
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      const at = offsets[k];
      const s = strides[k][rank - 1];
      if (k === 0) for (let j = 0; j < inner; j++) out[base + j] = v[at + j * s];
      else for (let j = 0; j < inner; j++) out[base + j] = step(out[base + j], v[at + j * s]);
    }
    for (let a = rank - 2; a >= 0; a--) {
      index[a]++;
      for (let k = 0; k < values.length; k++) offsets[k] += strides[k][a];
      if (index[a] < outShape[a]) break;
      for (let k = 0; k < values.length; k++) offsets[k] -= strides[k][a] * index[a];
      index[a] = 0;
    }
  }
}

/**
 * An elementwise merge: inputs of equal shape, or shapes that broadcast as Keras broadcasts them
 * (a lower-rank input gains axes after the batch axis; then axes of size 1 repeat), as in
 * squeeze-and-excitation blocks ([batch, h, w, c] * [batch, 1, 1, c]).
 */
class ElementwiseMerge extends Layer {
  override readonly supportsMasking = true;
  override readonly freshOutputs = true;
  private readonly kerasMajor: number;

  constructor(
    reader: ConfigReader,
    private readonly step: Step,
    private readonly finish: Finish | null,
    private readonly inputCount: number | [number, number],
  ) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
  }

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override computeMask(_inputs: readonly Tensor[], masks: Masks): (Mask | null)[] {
    // Keras 3 ORs the masks and gives none if any input has none; Keras 2 ANDs those present.
    const present = masks.filter((m): m is Mask => m !== null);
    if (present.length === 0 || (this.kerasMajor === 3 && present.length < masks.length)) return [null];
    const data = Uint8Array.from(present[0].data);
    for (const m of present.slice(1))
      for (let i = 0; i < data.length; i++) data[i] = this.kerasMajor === 3 ? data[i] | m.data[i] : data[i] & m.data[i];
    return [{ shape: present[0].shape, data }];
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, this.inputCount);
    this.declareWeights([]);
    const shape = broadcastShapes(inputShapes);
    if (shape === null)
      throw this.error("E_CONFIG", `inputs of shapes ${inputShapes.map(formatShape).join(", ")} do not broadcast`);
    return [shape];
  }

  call(inputs: Tensor[]): Tensor[] {
    const values = inputs.map(toFloat32);
    const first = inputs[0];
    if (inputs.every((x) => x.size === first.size && sameShape(x.shape, first.shape))) {
      const out = new Float32Array(first.size);
      const step = this.step;
      if (values.length === 2) {
        // The residual Add of ResNets and MobileNets: one loop, no inner one over the inputs.
        const [a, b] = values;
        for (let i = 0; i < out.length; i++) out[i] = step(a[i], b[i]);
        return [new Tensor(first.shape, this.finished(out, 2))];
      }
      for (let i = 0; i < out.length; i++) {
        let acc = values[0][i];
        for (let k = 1; k < values.length; k++) acc = this.step(acc, values[k][i]);
        out[i] = acc;
      }
      return [new Tensor(first.shape, this.finished(out, values.length))];
    }
    const outShape = broadcastShapes(inputs.map((x) => x.shape));
    if (outShape === null)
      throw this.error(
        "E_INPUT_SHAPE",
        `inputs of shapes ${inputs.map((t) => formatShape(t.shape)).join(", ")} do not broadcast`,
      );
    const shape = outShape as number[];
    const out = new Float32Array(sizeOf(shape));
    const rank = shape.length;
    broadcastFold(
      values,
      inputs.map((x) => expanded(x.shape, rank)),
      shape,
      out,
      this.step,
    );
    return [new Tensor(shape, this.finished(out, values.length))];
  }

  private finished(out: Float32Array, n: number): Float32Array {
    if (this.finish !== null) for (let i = 0; i < out.length; i++) out[i] = this.finish(out[i], n);
    return out;
  }
}

/** Concatenate along `axis` (not the batch axis). */
export class Concatenate extends Layer {
  override readonly supportsMasking = true;
  private readonly configuredAxis: number;
  private readonly kerasMajor: number;
  private joinsTime = false;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.configuredAxis = reader.int("axis", -1);
    this.kerasMajor = reader.context.kerasMajor;
  }

  override streamBehaviour(): StreamBehaviour {
    return this.joinsTime ? { kind: "refused", reason: "concatenates along the time axis" } : POINTWISE;
  }

  /**
   * Keras broadcasts each input's mask over its features (all ones where an input has none),
   * concatenates them like the values and reduces over the last axis: any() in Keras 3, all()
   * in Keras 2.
   */
  override computeMask(inputs: readonly Tensor[], masks: Masks, [output]: readonly Tensor[]): (Mask | null)[] {
    if (masks.every((m) => m === null)) return [null];
    const rank = output.rank;
    const axis = this.axisFor(rank);
    const shape = output.shape.slice(0, -1);
    const data = new Uint8Array(sizeOf(shape));
    const maskAt = (k: number, i: number): number => masks[k]?.data[i] ?? 1;
    if (axis === rank - 1) {
      const any = this.kerasMajor === 3;
      for (let i = 0; i < data.length; i++) {
        let v = any ? 0 : 1;
        for (let k = 0; k < inputs.length; k++) v = any ? v | maskAt(k, i) : v & maskAt(k, i);
        data[i] = v;
      }
    } else {
      const outer = sizeOf(output.shape.slice(0, axis));
      const inner = sizeOf(output.shape.slice(axis + 1, -1));
      let offset = 0;
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < inputs.length; k++) {
          const width = inputs[k].shape[axis] * inner;
          for (let j = 0; j < width; j++) data[offset++] = maskAt(k, o * width + j);
        }
      }
    }
    return [{ shape, data }];
  }

  private axisFor(rank: number): number {
    return resolveAxis(this, this.configuredAxis, rank);
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, [1, 64]);
    this.declareWeights([]);
    const rank = inputShapes[0].length;
    const axis = this.axisFor(rank);
    this.joinsTime = axis === 1 && rank > 2;
    for (const shape of inputShapes) {
      if (
        shape.length !== rank ||
        !sameShape(
          [...shape.slice(0, axis), ...shape.slice(axis + 1)],
          [...inputShapes[0].slice(0, axis), ...inputShapes[0].slice(axis + 1)],
        )
      ) {
        throw this.error(
          "E_CONFIG",
          `cannot concatenate shapes ${inputShapes.map(formatShape).join(", ")} on axis ${this.configuredAxis}`,
        );
      }
    }
    const joined = inputShapes.some((s) => s[axis] === null)
      ? null
      : inputShapes.reduce((n, s) => n + (s[axis] as number), 0);
    return [inputShapes[0].map((d, i) => (i === axis ? joined : d))];
  }

  call(inputs: Tensor[]): Tensor[] {
    const shape0 = inputs[0].shape;
    const axis = this.axisFor(shape0.length);
    const outer = shape0.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape0.slice(axis + 1).reduce((a, b) => a * b, 1);
    const widths = inputs.map((x) => x.shape[axis] * inner);
    for (const x of inputs) {
      if (x.shape.length !== shape0.length || x.shape.some((d, i) => i !== axis && d !== shape0[i])) {
        throw this.error("E_INPUT_SHAPE", `cannot concatenate ${inputs.map((t) => formatShape(t.shape)).join(", ")}`);
      }
    }
    const total = widths.reduce((a, b) => a + b, 0);
    const out = new Float32Array(outer * total);
    const data = inputs.map(toFloat32);
    for (let o = 0; o < outer; o++) {
      let offset = o * total;
      for (let k = 0; k < inputs.length; k++) {
        out.set(data[k].subarray(o * widths[k], (o + 1) * widths[k]), offset);
        offset += widths[k];
      }
    }
    const shape = [...shape0];
    shape[axis] = inputs.reduce((n, x) => n + x.shape[axis], 0);
    return [new Tensor(shape, out)];
  }
}

const layer = family("merge");
const many: [number, number] = [1, 64];
const broadcasting = "broadcasting as Keras does (a lower-rank input gains axes after the batch axis)";

/** A merge of inputs value by value. */
const elementwise = (className: string, step: Step, finish: Finish | null = null): LayerDefinition =>
  layer(className, `inputs of equal shape, or ${broadcasting}`, (r) => new ElementwiseMerge(r, step, finish, many));

export const mergeLayers: LayerDefinition[] = [
  layer("Concatenate", "any non-batch `axis`", (r) => new Concatenate(r)),
  elementwise("Add", (a, x) => a + x),
  layer(
    "Subtract",
    `two inputs of equal shape, or ${broadcasting}`,
    (r) => new ElementwiseMerge(r, (a, x) => a - x, null, 2),
  ),
  elementwise("Multiply", (a, x) => a * x),
  elementwise(
    "Average",
    (a, x) => a + x,
    (a, n) => a / n,
  ),
  elementwise("Maximum", (a, x) => (x > a || Number.isNaN(x) ? x : a)),
  elementwise("Minimum", (a, x) => (x < a || Number.isNaN(x) ? x : a)),
];
