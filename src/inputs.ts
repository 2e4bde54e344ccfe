/** Turns what a user passes to predict() into validated tensors, in the model's input order. */
import { KeraslessError } from "./errors.js";
import type { Shape } from "./layers/layer.js";
import { Tensor, formatShape, sizeOf, type DType, type NestedArray } from "./tensor.js";

/** A tensor as plain data: `data` is flat and row-major. */
export interface TensorLike {
  shape: readonly number[];
  data: Float32Array | Int32Array | Float64Array | readonly number[];
  dtype?: DType;
}

export type InputValue = NestedArray | TensorLike | Tensor;
/** One input, a list in the order of model.inputs, or a record keyed by input name. */
export type PredictInput = InputValue | InputValue[] | Record<string, InputValue>;

export interface TensorInfo {
  readonly name: string;
  /** With the batch axis first; null where any size is accepted. */
  readonly shape: Shape;
  readonly dtype: DType;
}

function isTensorLike(v: unknown): v is TensorLike {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "shape" in v && "data" in v;
}

export function normalizeInputs(given: PredictInput, inputs: readonly TensorInfo[]): Tensor[] {
  let list: InputValue[];
  if (inputs.length === 1) {
    if (isRecord(given) && Object.hasOwn(given as object, inputs[0].name))
      list = [(given as Record<string, InputValue>)[inputs[0].name]];
    else if (Array.isArray(given) && given.length === 1 && (isTensorLike(given[0]) || given[0] instanceof Tensor))
      list = [given[0]];
    else list = [given as InputValue];
  } else if (Array.isArray(given)) {
    if (given.length !== inputs.length) {
      throw new KeraslessError(
        "E_INPUT",
        `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}), got a list of ${given.length}`,
      );
    }
    list = given as InputValue[];
  } else if (isRecord(given)) {
    const record = given as Record<string, InputValue>;
    const unknown = Object.keys(record).filter((k) => !inputs.some((i) => i.name === k));
    if (unknown.length > 0)
      throw new KeraslessError(
        "E_INPUT",
        `unknown input name(s) ${unknown.join(", ")}; the model's inputs are ${inputs.map((i) => i.name).join(", ")}`,
      );
    list = inputs.map((info) => {
      // Own keys only: an input named "constructor" or "toString" must not find Object.prototype's.
      if (!Object.hasOwn(record, info.name)) throw new KeraslessError("E_INPUT", `input "${info.name}" is missing`);
      return record[info.name];
    });
  } else {
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}): pass a list or a record keyed by name`,
    );
  }
  const tensors = list.map((value, i) => toTensor(value, inputs[i]));
  const batch = tensors[0].shape[0];
  tensors.forEach((t, i) => {
    if (t.shape[0] !== batch) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `input "${inputs[i].name}" has batch size ${t.shape[0]}, input "${inputs[0].name}" has ${batch}`,
      );
    }
  });
  return tensors;
}

function isRecord(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isTensorLike(v) && !(v instanceof Tensor);
}

function toTensor(value: InputValue, info: TensorInfo): Tensor {
  let shape: number[];
  let values: ArrayLike<number>;
  if (value instanceof Tensor || isTensorLike(value)) {
    if (!Array.isArray(value.shape) && !(value instanceof Tensor))
      throw new KeraslessError("E_INPUT", `input "${info.name}": "shape" is not a list`);
    if (!isNumberArray(value.data))
      throw new KeraslessError("E_INPUT", `input "${info.name}": "data" is not a typed array or a list of numbers`);
    const dtype = (value as TensorLike).dtype;
    if (dtype !== undefined && dtype !== "float32" && dtype !== "int32") {
      throw new KeraslessError(
        "E_INPUT_DTYPE",
        `input "${info.name}": dtype ${JSON.stringify(dtype)} is not float32 or int32`,
      );
    }
    shape = [...value.shape];
    values = value.data;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new KeraslessError("E_INPUT_SHAPE", `input "${info.name}": shape ${formatShape(shape)} is not a shape`);
    if (values.length !== sizeOf(shape)) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `input "${info.name}": shape ${formatShape(shape)} needs ${sizeOf(shape)} values, data has ${values.length}`,
      );
    }
  } else {
    ({ shape, values } = flattenNested(value, info));
  }
  if (shape.length !== info.shape.length || shape.some((d, i) => info.shape[i] !== null && info.shape[i] !== d)) {
    throw new KeraslessError(
      "E_INPUT_SHAPE",
      `input "${info.name}" expects shape ${formatShape(info.shape)}, got ${formatShape(shape)}`,
    );
  }
  if (info.dtype === "int32") {
    const data = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
        throw new KeraslessError(
          "E_INPUT_DTYPE",
          `input "${info.name}" is int32, but value ${v} at flat index ${i} is not a 32-bit integer`,
        );
      }
      data[i] = v;
    }
    return new Tensor(shape, data);
  }
  return new Tensor(shape, values instanceof Float32Array ? values : Float32Array.from(values));
}

function isNumberArray(data: unknown): data is ArrayLike<number> {
  return (
    data instanceof Float32Array || data instanceof Int32Array || data instanceof Float64Array || Array.isArray(data)
  );
}

function flattenNested(value: NestedArray, info: TensorInfo): { shape: number[]; values: number[] } {
  const name = info.name;
  const shape: number[] = [];
  let probe: NestedArray = value;
  // The probe stops one level past the expected rank: deeper (or self-containing) arrays are a rank error.
  while (Array.isArray(probe) && shape.length <= info.shape.length) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  if (shape.length !== info.shape.length) {
    const given = shape.length > info.shape.length ? `[${shape.join(", ")}, ...]` : formatShape(shape);
    throw new KeraslessError("E_INPUT_SHAPE", `input "${name}" expects shape ${formatShape(info.shape)}, got ${given}`);
  }
  const values: number[] = [];
  const walk = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== "number")
        throw new KeraslessError(
          "E_INPUT",
          `input "${name}" holds a ${Array.isArray(v) ? "list" : typeof v} where a number belongs (ragged nesting?)`,
        );
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `input "${name}" is ragged: expected ${shape[depth]} items at depth ${depth}`,
      );
    }
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return { shape, values };
}
