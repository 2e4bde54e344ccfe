/**
 * Datatype and dataspace messages (HDF5 specification, sections IV.A.2.b and IV.A.2.d) and the
 * conversion of stored numbers to float32.
 */
import type { KeraslessError } from "../../errors.js";
import type { Hdf5Reader } from "./reader.js";

export type NumberType = { kind: "number"; format: "int" | "uint" | "float"; size: 1 | 2 | 4 | 8; bigEndian: boolean };

export type Datatype =
  | NumberType
  | { kind: "string"; size: number; padding: number; utf8: boolean }
  | { kind: "vlen-string"; padding: number; utf8: boolean }
  | { kind: "unsupported"; description: string };

const CLASS_NAMES = [
  "integer",
  "float",
  "time",
  "string",
  "bitfield",
  "opaque",
  "compound",
  "reference",
  "enum",
  "variable-length",
  "array",
];

/** The datatype message of `size` bytes at `start`. */
export function datatype(r: Hdf5Reader, start: number, size: number): Datatype {
  // Enumeration (h5py's booleans): read as its base integer type, which follows; a file could
  // nest enums thousands deep, so they are unwrapped in a loop, a few levels at most.
  for (let depth = 0; r.u8(start) % 16 === 8; depth++) {
    if (depth === 4) return { kind: "unsupported", description: "an enumeration of enumerations" };
    start += 8;
    size -= 8;
  }
  r.need(start, Math.max(size, 8), "a datatype message");
  const classAndVersion = r.u8(start);
  const typeClass = classAndVersion & 0x0f;
  const bits0 = r.u8(start + 1);
  const elementSize = r.u32(start + 4);
  const sized = (n: number): n is 1 | 2 | 4 | 8 => n === 1 || n === 2 || n === 4 || n === 8;
  switch (typeClass) {
    case 0: {
      // Fixed point: byte order, sign; bit offset and precision must describe a whole number type.
      if (!sized(elementSize) || r.u16(start + 8) !== 0 || r.u16(start + 10) !== 8 * elementSize) {
        return { kind: "unsupported", description: `a ${elementSize}-byte integer with unusual bit layout` };
      }
      return { kind: "number", format: bits0 & 0x08 ? "int" : "uint", size: elementSize, bigEndian: (bits0 & 1) === 1 };
    }
    case 1: {
      // Floating point: IEEE half, single or double (checked through the exponent and mantissa sizes).
      const ieee: Record<number, [number, number]> = { 2: [5, 10], 4: [8, 23], 8: [11, 52] };
      const expected = ieee[elementSize];
      if (
        expected === undefined ||
        (bits0 & 0x40) !== 0 ||
        r.u8(start + 13) !== expected[0] ||
        r.u8(start + 15) !== expected[1]
      ) {
        return { kind: "unsupported", description: `a ${elementSize}-byte non-IEEE float` };
      }
      return { kind: "number", format: "float", size: elementSize as 2 | 4 | 8, bigEndian: (bits0 & 1) === 1 };
    }
    case 3:
      return { kind: "string", size: elementSize, padding: bits0 & 0x0f, utf8: bits0 >> 4 === 1 };
    case 9:
      if ((bits0 & 0x0f) === 1)
        return { kind: "vlen-string", padding: (bits0 >> 4) & 0x0f, utf8: (r.u8(start + 2) & 0x0f) === 1 };
      return { kind: "unsupported", description: "a variable-length sequence" };
    default:
      return { kind: "unsupported", description: `a ${CLASS_NAMES[typeClass] ?? `class ${typeClass}`} datatype` };
  }
}

/** The dimensions of a dataspace message; undefined for a null dataspace (no data at all). */
export function dataspace(r: Hdf5Reader, message: { start: number; size: number }, what: string): number[] | undefined {
  const { start } = message;
  const version = r.u8(start);
  if (version !== 1 && version !== 2) throw r.fail("E_HDF5", start, `${what}: dataspace version ${version}`);
  const rank = r.u8(start + 1);
  if (rank > 32) throw r.fail("E_HDF5", start + 1, `${what}: a dataspace of rank ${rank} (HDF5 allows 32)`);
  if (version === 2 && r.u8(start + 3) === 2) return undefined;
  const dims = version === 1 ? start + 8 : start + 4;
  if (dims + 8 * rank > start + message.size)
    throw r.fail("E_HDF5", start, `${what}: dataspace message too short for rank ${rank}`);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(r.u64(dims + 8 * i, "a dimension size"));
  return shape;
}

/** Product of the dimensions, failing (rather than losing precision) beyond 2^32 elements. */
export function elementCount(shape: readonly number[], tooLarge: () => KeraslessError): number {
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > 2 ** 32) throw tooLarge();
  }
  return count;
}

/** `count` numbers of `type` stored at `at` in the file, as float32. */
export function readNumbers(r: Hdf5Reader, at: number, count: number, type: NumberType): Float32Array {
  r.need(at, count * type.size, "data");
  if (type.format === "float" && type.size === 4 && !type.bigEndian) {
    // Copy once into an aligned buffer and view it: the common case for Keras weights.
    return new Float32Array(r.bytes.slice(at, at + 4 * count).buffer);
  }
  return decodeNumbers(r.view, at, count, type);
}

/** Into `out` when given (a Float64Array keeps 64-bit integers exact up to 2^53; the ONNX reader's). */
export function decodeNumbers<T extends Float32Array | Float64Array = Float32Array>(
  view: DataView,
  at: number,
  count: number,
  type: NumberType,
  out: T = new Float32Array(count) as T,
): T {
  const little = !type.bigEndian;
  const { format, size } = type;
  for (let i = 0, p = at; i < count; i++, p += size) {
    let v: number;
    if (format === "float")
      v =
        size === 4
          ? view.getFloat32(p, little)
          : size === 8
            ? view.getFloat64(p, little)
            : float16(view.getUint16(p, little));
    else if (size === 1) v = format === "int" ? view.getInt8(p) : view.getUint8(p);
    else if (size === 2) v = format === "int" ? view.getInt16(p, little) : view.getUint16(p, little);
    else if (size === 4) v = format === "int" ? view.getInt32(p, little) : view.getUint32(p, little);
    else v = Number(format === "int" ? view.getBigInt64(p, little) : view.getBigUint64(p, little));
    out[i] = v;
  }
  return out;
}

function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
