/**
 * The values that flow through an ONNX graph in kerasless: float tensors (float32), integer
 * tensors (int64/int32/... held exactly as float64 numbers up to 2^53) and booleans; and the
 * decoding of TensorProtos (initializers, Constant values) into them.
 */
import { formatShape } from "../tensor.js";
import { KeraslessError } from "../errors.js";
import { decodeNumbers, type NumberType } from "../io/hdf5/datatypes.js";
import type { OnnxTensorProto } from "./proto.js";

export type ValueType = "float" | "int" | "bool";
export type ValueData = Float32Array | Float64Array | Uint8Array;

export interface Value {
  readonly type: ValueType;
  readonly shape: readonly number[];
  readonly data: ValueData;
}

/** Most elements one tensor may hold (1 GiB of float32); a file may claim more than it has. */
export const MAX_ELEMENTS = 2 ** 28;

export const DATA_TYPES: Record<number, { name: string; type: ValueType; bytes: number } | undefined> = {
  1: { name: "float32", type: "float", bytes: 4 },
  2: { name: "uint8", type: "int", bytes: 1 },
  3: { name: "int8", type: "int", bytes: 1 },
  4: { name: "uint16", type: "int", bytes: 2 },
  5: { name: "int16", type: "int", bytes: 2 },
  6: { name: "int32", type: "int", bytes: 4 },
  7: { name: "int64", type: "int", bytes: 8 },
  9: { name: "bool", type: "bool", bytes: 1 },
  10: { name: "float16", type: "float", bytes: 2 },
  11: { name: "float64", type: "float", bytes: 8 },
  12: { name: "uint32", type: "int", bytes: 4 },
};

export function dataTypeName(code: number): string {
  return DATA_TYPES[code]?.name ?? `data type ${code}`;
}

/** A value of zeros. */
export function makeValue(type: ValueType, shape: readonly number[]): Value {
  return { type, shape, data: allocate(type, elementCount(shape)) };
}

export function allocate(type: ValueType, size: number): ValueData {
  return type === "float" ? new Float32Array(size) : type === "int" ? new Float64Array(size) : new Uint8Array(size);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks claimed dims before anything is allocated for them. */
export function checkedCount(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new KeraslessError("E_FORMAT", `${what} has a dimension of ${d}`);
    n *= d;
    if (n > MAX_ELEMENTS)
      throw new KeraslessError(
        "E_LIMIT",
        `${what} has shape ${formatShape(dims)}, more than ${MAX_ELEMENTS} elements kerasless allows`,
      );
  }
  return n;
}

/** Where the bytes of an external tensor come from: the named file's bytes, or null if absent. */
export type ExternalFiles = (location: string) => Uint8Array;

export function decodeTensorProto(t: OnnxTensorProto, external: ExternalFiles | null): Value {
  const what = `tensor "${t.name}"`;
  const kind = DATA_TYPES[t.dataType];
  if (kind === undefined)
    throw new KeraslessError("E_UNSUPPORTED", `${what} has ${dataTypeName(t.dataType)}, which kerasless does not read`);
  if (t.hasSegment) throw new KeraslessError("E_UNSUPPORTED", `${what} is segmented, which kerasless does not read`);
  const count = checkedCount(t.dims, what);
  let raw = t.rawData;
  if (t.externalData !== null) raw = externalBytes(t, external, count * kind.bytes);
  const out = allocate(kind.type, count);
  if (raw !== null) {
    if (raw.length !== count * kind.bytes)
      throw new KeraslessError(
        "E_FORMAT",
        `${what} of shape ${formatShape(t.dims)} needs ${count * kind.bytes} bytes of ${kind.name}, ` +
          `its data has ${raw.length}`,
      );
    readRaw(raw, t.dataType, out);
    return { type: kind.type, shape: t.dims, data: out };
  }
  const list =
    t.dataType === 1 ? t.floatData : t.dataType === 7 ? t.int64Data : t.dataType === 11 ? t.doubleData : t.int32Data;
  if (list.length !== count)
    throw new KeraslessError(
      "E_FORMAT",
      `${what} of shape ${formatShape(t.dims)} needs ${count} values, the file gives ${list.length}`,
    );
  // float16 values come as their bits in int32_data: decoded from those bits, as raw data is.
  if (t.dataType === 10) readRaw(new Uint8Array(Uint16Array.from(list).buffer), 10, out);
  else for (let i = 0; i < count; i++) out[i] = list[i];
  return { type: kind.type, shape: t.dims, data: out };
}

/** raw_data stores each data type little-endian, as DATA_TYPES names it (bool: bytes, any nonzero true). */
function readRaw(raw: Uint8Array, dataType: number, out: ValueData): void {
  const { name, bytes } = DATA_TYPES[dataType]!;
  if (out instanceof Uint8Array) for (let i = 0; i < out.length; i++) out[i] = raw[i] === 0 ? 0 : 1;
  else {
    const format = name.replace(/\d/g, "") as NumberType["format"];
    const type: NumberType = { kind: "number", format, size: bytes as NumberType["size"], bigEndian: false };
    decodeNumbers(new DataView(raw.buffer, raw.byteOffset, raw.byteLength), 0, out.length, type, out);
  }
}

function externalBytes(t: OnnxTensorProto, external: ExternalFiles | null, needed: number): Uint8Array {
  const what = `tensor "${t.name}"`;
  const entries = t.externalData!;
  const location = entries.get("location");
  if (location === undefined || location === "")
    throw new KeraslessError("E_FORMAT", `${what} is stored externally but names no location`);
  if (external === null)
    throw new KeraslessError(
      "E_WEIGHTS_MISSING",
      `${what} is stored in the external file "${location}": pass its bytes (options.externalData)`,
    );
  const bytes = external(location);
  const offset = integerEntry(entries.get("offset"), 0, what, "offset");
  const length = integerEntry(entries.get("length"), needed, what, "length");
  if (offset > bytes.length || length > bytes.length - offset)
    throw new KeraslessError(
      "E_FORMAT",
      `${what}: external data at offset ${offset}, length ${length} runs past the end of "${location}" ` +
        `(${bytes.length} bytes)`,
    );
  return bytes.subarray(offset, offset + length);
}

function integerEntry(text: string | undefined, fallback: number, what: string, key: string): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,15}$/.test(text))
    throw new KeraslessError("E_FORMAT", `${what}: external data ${key} "${text}" is not a byte count`);
  return Number(text);
}
