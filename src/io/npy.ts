/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), for tensors going in and out of models.
 * Reads little-endian float32/float64/int32/int64 arrays in C order; float64 becomes float32 and
 * int64 becomes int32 (values outside the int32 range are an error). Writes version 1.0 files.
 * No Node built-ins: this module also runs in browsers.
 */
import { KeraslessError } from "../errors.js";

export interface NpyArray {
  shape: number[];
  dtype: "float32" | "int32";
  data: Float32Array | Int32Array;
}

/** Longest header read: NumPy's default max_header_size is 10,000 bytes. */
const MAX_HEADER_BYTES = 65536;

/** NumPy 2's most dimensions (NPY_MAXDIMS). */
const MAX_RANK = 64;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** How each supported `descr` is stored and what it becomes. */
const DESCRS: Record<string, { itemSize: number; dtype: "float32" | "int32" }> = {
  "<f4": { itemSize: 4, dtype: "float32" },
  "<f8": { itemSize: 8, dtype: "float32" },
  "<i4": { itemSize: 4, dtype: "int32" },
  "<i8": { itemSize: 8, dtype: "int32" },
};

/** True when the bytes start with the .npy magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** What a .npy header says, checked against the size of the file. */
export interface NpyHeader {
  shape: number[];
  /** The stored element type: "<f4", "<f8", "<i4" or "<i8". */
  descr: string;
  /** What the values become. */
  dtype: "float32" | "int32";
  /** Bytes per stored element. */
  itemSize: number;
  /** Where the data starts (the header's length in bytes). */
  dataStart: number;
  /** The number of elements. */
  count: number;
}

/**
 * How many bytes the header of a .npy file takes (its data's offset), from at least the first
 * 12 bytes of the file (fewer if the file is shorter). Checks the magic string and the version.
 */
export function npyDataStart(bytes: Uint8Array, file: string, fileSize: number = bytes.length): number {
  const fail = (problem: string): never => {
    throw new KeraslessError("E_FORMAT", problem, { file });
  };
  if (!isNpy(bytes)) fail("not a NumPy .npy file (the magic string \\x93NUMPY is missing)");
  if (bytes.length < 8) fail("truncated .npy file: the version bytes are missing");
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0)
    fail(`unknown .npy format version ${major}.${minor} (kerasless reads 1.0, 2.0 and 3.0)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthSize;
  if (bytes.length < headerStart) fail("truncated .npy file: the header length is missing");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerStart + headerLength;
  if (dataStart > fileSize) {
    fail(`truncated .npy file: the header claims ${headerLength} bytes, only ${fileSize - headerStart} follow`);
  }
  // NumPy itself refuses headers over 10,000 bytes unless told otherwise (max_header_size).
  if (headerLength > MAX_HEADER_BYTES)
    fail(`the .npy header is ${headerLength} bytes long; kerasless reads headers of up to ${MAX_HEADER_BYTES}`);
  return dataStart;
}

/**
 * Parses the header at the start of `bytes` (which must hold at least the whole header) of a
 * .npy file of `fileSize` bytes, and checks that the data the shape needs is exactly what the
 * file holds, without allocating anything the header merely claims.
 */
export function parseNpyHeader(bytes: Uint8Array, file: string, fileSize: number = bytes.length): NpyHeader {
  const fail = (problem: string): never => {
    throw new KeraslessError("E_FORMAT", problem, { file });
  };
  const dataStart = npyDataStart(bytes, file, fileSize);
  if (bytes.length < dataStart) fail(`truncated .npy file: the header needs ${dataStart} bytes`);
  const major = bytes[6];
  const headerBytes = bytes.subarray(8 + (major === 1 ? 2 : 4), dataStart);
  const headerText = major === 3 ? decodeUtf8(headerBytes, fail) : latin1(headerBytes);
  const header = parseHeader(headerText, fail);

  const descr = header.descr;
  if (typeof descr !== "string")
    return fail("the .npy header's 'descr' is not a string (structured arrays are not supported)");
  const spec = Object.hasOwn(DESCRS, descr) ? DESCRS[descr] : undefined;
  if (spec === undefined) {
    throw new KeraslessError(
      "E_UNSUPPORTED",
      `unsupported .npy dtype '${descr}' (kerasless reads little-endian <f4, <f8, <i4 and <i8)`,
      { file },
    );
  }
  if (header.fortran_order === true) {
    throw new KeraslessError(
      "E_UNSUPPORTED",
      "the array is stored in Fortran order; save it in C order (numpy.ascontiguousarray) instead",
      { file },
    );
  }
  if (header.fortran_order !== false) fail("the .npy header's 'fortran_order' is not True or False");
  const shape = header.shape;
  if (!Array.isArray(shape)) return fail("the .npy header's 'shape' is not a tuple");
  // NumPy's own limit; a header can otherwise claim a million dimensions of size 1 in a few MB.
  if (shape.length > MAX_RANK)
    fail(`the .npy header's shape has ${shape.length} dimensions (NumPy allows ${MAX_RANK})`);

  // Count the elements without ever exceeding what the file can hold.
  const available = fileSize - dataStart;
  let count = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
      fail(`the .npy header's shape (${shape.join(", ")}) is not a list of sizes`);
  }
  const dims = shape as number[];
  if (!dims.includes(0)) {
    for (const d of dims) {
      count *= d;
      if (count * spec.itemSize > available) {
        fail(`the .npy header's shape (${dims.join(", ")}) needs more data than the ${available} bytes the file holds`);
      }
    }
  } else {
    count = 0;
  }
  const needed = count * spec.itemSize;
  if (needed !== available) {
    fail(`the .npy header's shape (${dims.join(", ")}) needs ${needed} bytes of data, the file holds ${available}`);
  }
  return { shape: [...dims], descr, dtype: spec.dtype, itemSize: spec.itemSize, dataStart, count };
}

/** Allocates the array for `count` values of the header's dtype. */
export function npyArray(header: Pick<NpyHeader, "dtype">, count: number): Float32Array | Int32Array {
  return header.dtype === "float32" ? new Float32Array(count) : new Int32Array(count);
}

/**
 * Decodes stored elements (`bytes` holds whole elements, starting at element `firstIndex` of the
 * array, which is only used in messages) into `into`, from its start.
 */
export function decodeNpyData(
  header: Pick<NpyHeader, "descr" | "itemSize">,
  bytes: Uint8Array,
  into: Float32Array | Int32Array,
  file: string,
  firstIndex = 0,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.length / header.itemSize);
  switch (header.descr) {
    case "<f4":
      for (let i = 0; i < count; i++) into[i] = view.getFloat32(4 * i, true);
      break;
    case "<f8":
      for (let i = 0; i < count; i++) into[i] = view.getFloat64(8 * i, true);
      break;
    case "<i4":
      for (let i = 0; i < count; i++) into[i] = view.getInt32(4 * i, true);
      break;
    case "<i8":
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v < -2147483648n || v > 2147483647n) {
          throw new KeraslessError(
            "E_INPUT_VALUE",
            `int64 value ${v} at flat index ${firstIndex + i} does not fit in int32`,
            { file },
          );
        }
        into[i] = Number(v);
      }
      break;
  }
}

export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const header = parseNpyHeader(bytes, file);
  const data = npyArray(header, header.count);
  decodeNpyData(header, bytes.subarray(header.dataStart), data, file);
  return { shape: header.shape, dtype: header.dtype, data };
}

/**
 * The header of a version 1.0 .npy file for `shape` (`<f4` or `<i4`), padded with spaces to
 * `length` bytes if given (so that a header can be rewritten in place once the final shape is
 * known), else to the next multiple of 64.
 */
export function npyHeader(shape: readonly number[], dtype: "float32" | "int32", length?: number): Uint8Array {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new KeraslessError("E_INPUT_SHAPE", `[${shape.join(", ")}] is not a shape`);
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${dtype === "float32" ? "<f4" : "<i4"}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Pad with spaces and end with a newline so that the data starts at a multiple of 64 bytes.
  const unpadded = 10 + header.length + 1;
  const total = length ?? unpadded + ((64 - (unpadded % 64)) % 64);
  if (total < unpadded)
    throw new KeraslessError(
      "E_LIMIT",
      `the .npy header for shape [${shape.join(", ")}] does not fit in ${total} bytes`,
    );
  header += " ".repeat(total - unpadded) + "\n";
  if (header.length > 0xffff)
    throw new KeraslessError("E_LIMIT", "the shape is too long for a version 1.0 .npy header");
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/** Little-endian bytes of float32/int32 values (the .npy data of `<f4`/`<i4`). */
export function npyData(data: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(4 * data.length);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  else for (let i = 0; i < data.length; i++) view.setInt32(4 * i, data[i], true);
  return out;
}

/** A version 1.0 .npy file holding `data` (`<f4` or `<i4`) with the given shape, in C order. */
export function writeNpy(shape: readonly number[], data: Float32Array | Int32Array): Uint8Array {
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new KeraslessError("E_INPUT_SHAPE", `[${shape.join(", ")}] is not a shape`);
    count *= d;
  }
  if (count !== data.length) {
    throw new KeraslessError(
      "E_INPUT_SHAPE",
      `shape [${shape.join(", ")}] needs ${count} values, the data has ${data.length}`,
    );
  }
  const header = npyHeader(shape, data instanceof Float32Array ? "float32" : "int32");
  const out = new Uint8Array(header.length + 4 * count);
  out.set(header, 0);
  out.set(npyData(data), header.length);
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function decodeUtf8(bytes: Uint8Array, fail: (problem: string) => never): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("the .npy header is not valid UTF-8");
  }
}

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/**
 * Parses the header: a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (7, 4, 3), }`.
 * Accepts the literal subset NumPy writes: dicts, tuples, lists, strings, integers, booleans, None.
 */
function parseHeader(text: string, fail: (problem: string) => never): Record<string, PyValue> {
  let pos = 0;
  const bad = (what: string): never =>
    fail(`malformed .npy header (${what} at character ${pos}): ${JSON.stringify(text.trim().slice(0, 120))}`);
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 8) bad("nesting too deep");
    skip();
    const c = text[pos];
    if (c === "{") {
      pos++;
      // No prototype: a '__proto__' key is an ordinary key here, never the object's prototype.
      const dict: Record<string, PyValue> = Object.create(null) as Record<string, PyValue>;
      for (;;) {
        skip();
        if (text[pos] === "}") {
          pos++;
          return dict;
        }
        const key = value(depth + 1);
        if (typeof key !== "string") bad("a dict key that is not a string");
        skip();
        if (text[pos] !== ":") bad("a missing ':'");
        pos++;
        dict[key as string] = value(depth + 1);
        skip();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== "}") bad("a missing ',' or '}'");
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      pos++;
      const items: PyValue[] = [];
      for (;;) {
        skip();
        if (text[pos] === close) {
          pos++;
          return items;
        }
        items.push(value(depth + 1));
        skip();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== close) bad(`a missing ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) bad("an unterminated string");
      const s = text.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    const word = /^(?:[-+]?\d+L?|True|False|None)/.exec(text.slice(pos, pos + 40));
    if (word === null) return bad("an unexpected character");
    pos += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    return Number(word[0].replace(/L$/, ""));
  };
  const result = value(0);
  skip();
  if (pos !== text.length) bad("extra text after the dict");
  if (typeof result !== "object" || result === null || Array.isArray(result))
    return fail("the .npy header is not a dict");
  return result;
}
