/** Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum. */
import { Tensor, formatShape } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, type Shape } from "./layer.js";
import { toFloat32 } from "./core.js";
import type { LayerDefinition } from "./registry-types.js";

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === null || b[i] === null || d === b[i]);
}

/** An elementwise merge of inputs that all have the same shape. */
class ElementwiseMerge extends Layer {
  constructor(
    reader: ConfigReader,
    private readonly combine: (values: Float32Array[], out: Float32Array) => void,
    private readonly inputCount: number | [number, number],
  ) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, this.inputCount);
    this.declareWeights([]);
    for (const shape of inputShapes.slice(1)) {
      if (!sameShape(shape, inputShapes[0])) {
        throw this.error("E_UNSUPPORTED", `inputs of different shapes (${inputShapes.map(formatShape).join(", ")}) are not supported`);
      }
    }
    return [inputShapes[0].map((d, i) => d ?? inputShapes.find((s) => s[i] !== null)?.[i] ?? null)];
  }

  call(inputs: Tensor[]): Tensor[] {
    for (const x of inputs) {
      if (x.size !== inputs[0].size || !sameShape(x.shape, inputs[0].shape)) {
        throw this.error("E_INPUT_SHAPE", `inputs have different shapes: ${inputs.map((t) => formatShape(t.shape)).join(", ")}`);
      }
    }
    const out = new Float32Array(inputs[0].size);
    this.combine(inputs.map(toFloat32), out);
    return [new Tensor(inputs[0].shape, out)];
  }
}

const fold =
  (start: (x: number) => number, step: (acc: number, x: number) => number, finish: (acc: number, n: number) => number = (a) => a) =>
  (values: Float32Array[], out: Float32Array): void => {
    for (let i = 0; i < out.length; i++) {
      let acc = start(values[0][i]);
      for (let k = 1; k < values.length; k++) acc = step(acc, values[k][i]);
      out[i] = finish(acc, values.length);
    }
  };

const subtract = (values: Float32Array[], out: Float32Array): void => {
  for (let i = 0; i < out.length; i++) out[i] = values[0][i] - values[1][i];
};

/** Concatenate along `axis` (not the batch axis). */
export class Concatenate extends Layer {
  private readonly configuredAxis: number;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.configuredAxis = reader.int("axis", -1);
  }

  private axisFor(rank: number): number {
    const axis = this.configuredAxis < 0 ? rank + this.configuredAxis : this.configuredAxis;
    if (axis <= 0 || axis >= rank) throw this.error("E_CONFIG", `axis ${this.configuredAxis} is not a non-batch axis of rank-${rank} inputs`);
    return axis;
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, [1, 64]);
    this.declareWeights([]);
    const rank = inputShapes[0].length;
    const axis = this.axisFor(rank);
    for (const shape of inputShapes) {
      if (shape.length !== rank || !sameShape([...shape.slice(0, axis), ...shape.slice(axis + 1)], [...inputShapes[0].slice(0, axis), ...inputShapes[0].slice(axis + 1)])) {
        throw this.error("E_CONFIG", `cannot concatenate shapes ${inputShapes.map(formatShape).join(", ")} on axis ${this.configuredAxis}`);
      }
    }
    const joined = inputShapes.some((s) => s[axis] === null) ? null : inputShapes.reduce((n, s) => n + (s[axis] as number), 0);
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

const many: [number, number] = [1, 64];

export const mergeLayers: LayerDefinition[] = [
  { className: "Concatenate", family: "merge", summary: "any non-batch `axis`", create: (r) => new Concatenate(r) },
  { className: "Add", family: "merge", summary: "inputs of equal shape", create: (r) => new ElementwiseMerge(r, fold((x) => x, (a, x) => a + x), many) },
  { className: "Subtract", family: "merge", summary: "two inputs of equal shape", create: (r) => new ElementwiseMerge(r, subtract, 2) },
  { className: "Multiply", family: "merge", summary: "inputs of equal shape", create: (r) => new ElementwiseMerge(r, fold((x) => x, (a, x) => a * x), many) },
  { className: "Average", family: "merge", summary: "inputs of equal shape", create: (r) => new ElementwiseMerge(r, fold((x) => x, (a, x) => a + x, (a, n) => a / n), many) },
  { className: "Maximum", family: "merge", summary: "inputs of equal shape", create: (r) => new ElementwiseMerge(r, fold((x) => x, (a, x) => (x > a || Number.isNaN(x) ? x : a)), many) },
  { className: "Minimum", family: "merge", summary: "inputs of equal shape", create: (r) => new ElementwiseMerge(r, fold((x) => x, (a, x) => (x < a || Number.isNaN(x) ? x : a)), many) },
];
