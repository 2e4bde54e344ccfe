/** Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum. */
import { Tensor, formatShape, sizeOf, toFloat32 } from "../tensor.js";
import { resolveAxis } from "./axes.js";
import type { ConfigReader } from "./config.js";
import { Layer, POINTWISE, type Mask, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/** An elementwise merge of inputs that all have the same shape. */
class ElementwiseMerge extends Layer {
  override readonly supportsMasking = true;
  private readonly kerasMajor: number;

  constructor(
    reader: ConfigReader,
    private readonly combine: (values: Float32Array[], out: Float32Array) => void,
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
    for (const shape of inputShapes.slice(1)) {
      if (!sameShape(shape, inputShapes[0])) {
        throw this.error(
          "E_UNSUPPORTED",
          `inputs of different shapes (${inputShapes.map(formatShape).join(", ")}) are not supported`,
        );
      }
    }
    return [inputShapes[0].map((d, i) => d ?? inputShapes.find((s) => s[i] !== null)?.[i] ?? null)];
  }

  call(inputs: Tensor[]): Tensor[] {
    for (const x of inputs) {
      if (x.size !== inputs[0].size || !sameShape(x.shape, inputs[0].shape)) {
        throw this.error(
          "E_INPUT_SHAPE",
          `inputs have different shapes: ${inputs.map((t) => formatShape(t.shape)).join(", ")}`,
        );
      }
    }
    const out = new Float32Array(inputs[0].size);
    this.combine(inputs.map(toFloat32), out);
    return [new Tensor(inputs[0].shape, out)];
  }
}

/** Combines the inputs value by value: acc = step(acc, next input's value), then finish(acc, count). */
const fold =
  (step: (acc: number, x: number) => number, finish: (acc: number, n: number) => number = (a) => a) =>
  (values: Float32Array[], out: Float32Array): void => {
    for (let i = 0; i < out.length; i++) {
      let acc = values[0][i];
      for (let k = 1; k < values.length; k++) acc = step(acc, values[k][i]);
      out[i] = finish(acc, values.length);
    }
  };

const subtract = (values: Float32Array[], out: Float32Array): void => {
  for (let i = 0; i < out.length; i++) out[i] = values[0][i] - values[1][i];
};

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

/** A merge of inputs of equal shape, value by value. */
const elementwise = (
  className: string,
  step: (acc: number, x: number) => number,
  finish?: (acc: number, n: number) => number,
): LayerDefinition =>
  layer(className, "inputs of equal shape", (r) => new ElementwiseMerge(r, fold(step, finish), many));

export const mergeLayers: LayerDefinition[] = [
  layer("Concatenate", "any non-batch `axis`", (r) => new Concatenate(r)),
  elementwise("Add", (a, x) => a + x),
  layer("Subtract", "two inputs of equal shape", (r) => new ElementwiseMerge(r, subtract, 2)),
  elementwise("Multiply", (a, x) => a * x),
  elementwise(
    "Average",
    (a, x) => a + x,
    (a, n) => a / n,
  ),
  elementwise("Maximum", (a, x) => (x > a || Number.isNaN(x) ? x : a)),
  elementwise("Minimum", (a, x) => (x < a || Number.isNaN(x) ? x : a)),
];
