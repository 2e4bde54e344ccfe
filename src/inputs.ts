/** Turns what a user passes to predict() into validated tensors, in the model's input order. */
import { KeraslessError } from "./errors.js";
import type { Shape } from "./layers/layer.js";
import { Tensor, formatShape, type DType, type NestedArray } from "./tensor.js";

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

/**
 * The most an input holding no values may span: the product of its sizes, its empty (size 0)
 * axes counted as 1. An input with values is bounded by its data (a file's by its bytes); an
 * empty one by nothing else, and a shape like [2^53 - 1, 0, 3] would otherwise have the CLI run
 * 8.8e12 empty batches, a stream 2^53 empty steps, and the model 2^53 samples whose outputs
 * need not be empty.
 */
export const MAX_EMPTY_SPAN = 2 ** 20;

/**
 * The one check of an input's sizes, made before anything loops over them or allocates for them
 * (predict, stream steps, the CLI's batches): whole numbers >= 0, and an empty input within
 * MAX_EMPTY_SPAN. `what` names the input in messages, e.g. `input "x"`.
 */
export function checkInputShape(
  shape: readonly unknown[],
  what: string,
  valuesGiven?: number,
): asserts shape is readonly number[] {
  let values = 1;
  let span = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      const text = shape.map((x) => (typeof x === "number" ? String(x) : (JSON.stringify(x) ?? String(x))));
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `${what}: shape [${text.join(", ")}] is not a shape (sizes are whole numbers >= 0)`,
      );
    }
    values *= d;
    span *= Math.max(1, d);
  }
  if (valuesGiven !== undefined && valuesGiven !== values) {
    const shown = formatShape(shape as number[]);
    throw new KeraslessError(
      "E_INPUT_SHAPE",
      `${what}: shape ${shown} needs ${values} values, data has ${valuesGiven}`,
    );
  }
  if (values === 0 && span > MAX_EMPTY_SPAN) {
    throw new KeraslessError(
      "E_LIMIT",
      `${what} has shape ${formatShape(shape as number[])} and no values; an empty input may span at most ` +
        `${MAX_EMPTY_SPAN} (its empty axes counted as 1), this one spans ${span}`,
    );
  }
}

function isTensorLike(v: unknown): v is TensorLike {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "shape" in v && "data" in v;
}

export function normalizeInputs(
  given: PredictInput,
  inputs: readonly TensorInfo[],
  /** False for ONNX graphs, whose inputs need not share a batch axis (time-first x, [layers, batch, units] states). */
  sharedBatch = true,
): Tensor[] {
  let list: InputValue[];
  if (inputs.length === 1) {
    if (isRecord(given) && Object.hasOwn(given as object, inputs[0].name))
      list = [(given as Record<string, InputValue>)[inputs[0].name]];
    else if (Array.isArray(given) && given.length === 1 && (isTensorLike(given[0]) || given[0] instanceof Tensor))
      list = [given[0]];
    else if (isRecord(given)) {
      const names = Object.keys(given as object);
      throw new KeraslessError(
        "E_INPUT",
        names.length === 0
          ? `got an empty object; the model's input is "${inputs[0].name}": ` +
              `pass nested arrays, a { shape, data } tensor, or { "${inputs[0].name}": ... }`
          : `unknown input name(s) ${names.join(", ")}; the model's input is "${inputs[0].name}"`,
      );
    } else list = [given as InputValue];
  } else if (Array.isArray(given)) {
    if (given.length !== inputs.length) {
      throw new KeraslessError(
        "E_INPUT",
        `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}), got a list of ` +
          `${given.length}`,
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
      `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}): pass a list or a record ` +
        `keyed by name`,
    );
  }
  const tensors = list.map((value, i) => toTensor(value, inputs[i]));
  if (!sharedBatch) return tensors;
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
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !ArrayBuffer.isView(v) &&
    !isTensorLike(v) &&
    !(v instanceof Tensor)
  );
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
    shape = Array.from(value.shape);
    values = value.data;
    checkInputShape(shape, `input "${info.name}"`, values.length);
  } else if (ArrayBuffer.isView(value)) {
    throw new KeraslessError(
      "E_INPUT",
      `input "${info.name}": a typed array has no shape; pass { shape: [...], data } (the model expects ` +
        `${formatShape(info.shape)})`,
    );
  } else if (!Array.isArray(value)) {
    const got = value === null ? "null" : typeof value === "object" ? "an object without shape and data" : typeof value;
    throw new KeraslessError(
      "E_INPUT",
      `input "${info.name}": got ${got}; pass nested arrays of numbers or a { shape, data } tensor (shape ` +
        `${formatShape(info.shape)})`,
    );
  } else {
    ({ shape, values } = flattenNested(value, info));
    checkInputShape(shape, `input "${info.name}"`);
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
