/**
 * The filter pipeline (HDF5 specification, section IV.A.2.l) and the three filters h5py writes
 * for Keras files: deflate, shuffle and fletcher32.
 */
import { Unzlib, unzlibSync } from "fflate";
import { KeraslessError, describeThrown } from "../../errors.js";
import { MSG_FILTERS, type ObjectHeader } from "./object-header.js";
import type { Hdf5Reader } from "./reader.js";

export const FILTER_DEFLATE = 1;
export const FILTER_SHUFFLE = 2;
export const FILTER_FLETCHER32 = 3;

export interface Filter {
  readonly id: number;
  /** File offset of the filter's description. */
  readonly at: number;
}

/** The dataset's filter pipeline, in the order the filters were applied when writing. */
export function filterPipeline(r: Hdf5Reader, header: ObjectHeader, path: string): Filter[] {
  const message = header.messages.find((m) => m.type === MSG_FILTERS);
  if (message === undefined) return [];
  const { start } = message;
  const version = r.u8(start);
  const count = r.u8(start + 1);
  const list: Filter[] = [];
  let at = version === 1 ? start + 8 : start + 2;
  for (let i = 0; i < count; i++) {
    const id = r.u16(at);
    if (id !== FILTER_DEFLATE && id !== FILTER_SHUFFLE && id !== FILTER_FLETCHER32) {
      throw r.error(
        "E_UNSUPPORTED",
        `dataset "${path}" uses HDF5 filter ${id} (kerasless reads deflate, shuffle and fletcher32)`,
      );
    }
    list.push({ id, at });
    if (version === 1) {
      const nameLength = r.u16(at + 2);
      const values = r.u16(at + 6);
      at += 8 + Math.ceil(nameLength / 8) * 8 + 4 * values + (values % 2) * 4;
    } else {
      const nameLength = id >= 256 ? r.u16(at + 2) : 0;
      const values = r.u16(at + (id >= 256 ? 6 : 4));
      at += (id >= 256 ? 8 : 6) + nameLength + 4 * values;
    }
    if (at > start + message.size)
      throw r.fail("E_HDF5", start, `dataset "${path}": filter pipeline message too short`);
  }
  return list;
}

/**
 * Undoes one filter on a chunk's bytes; `maxBytes` bounds what this stage may hold. What deflate
 * produces is charged to the file's decompression budget as it is produced.
 */
export function applyFilter(
  r: Hdf5Reader,
  id: number,
  data: Uint8Array,
  maxBytes: number,
  itemSize: number,
  at: number,
  where: string,
): Uint8Array {
  if (id === FILTER_DEFLATE) return inflate(r, data, maxBytes, at, where);
  if (id === FILTER_SHUFFLE) return unshuffle(data, itemSize);
  return checkFletcher32(r, data, at, where);
}

/**
 * Stored chunks up to this size are inflated in one call into a buffer of the most they may hold
 * (plus one byte, to see overflow): deflate expands at most 1032x, so an overflowing stream costs
 * at most ~16 MiB of work, while a streaming inflater costs ~0.3 ms to set up (thousands of small
 * chunks took seconds). Without an output buffer fflate reserves 128 KiB per block.
 */
const ONE_CALL_INFLATE_BYTES = 16 * 1024;

function inflate(r: Hdf5Reader, data: Uint8Array, maxBytes: number, at: number, where: string): Uint8Array {
  // Never more than the budget has left: a stage bounded by the budget fails as it crosses it.
  const size = Math.min(maxBytes, r.left("decompressedBytes"));
  const overflow = (written: number): KeraslessError => {
    if (size === maxBytes)
      return r.fail("E_LIMIT", at, `${where}: a chunk inflates to more than the ${maxBytes} bytes it can hold`);
    r.charge("decompressedBytes", written, at);
    return r.fail("E_LIMIT", at, `${where}: a chunk inflates past the decompression budget`);
  };
  if (data.length <= ONE_CALL_INFLATE_BYTES) {
    let out: Uint8Array;
    try {
      out = unzlibSync(data, { out: new Uint8Array(size + 1) });
    } catch (e) {
      // A stored block copied past the end of the buffer.
      if (e instanceof RangeError) throw overflow(size + 1);
      throw r.fail("E_HDF5", at, `${where}: corrupt deflate data in a chunk (${describeThrown(e)})`);
    }
    if (out.length > size) throw overflow(out.length);
    r.charge("decompressedBytes", out.length, at);
    return out;
  }
  const out = new Uint8Array(size);
  let written = 0;
  const inflater = new Unzlib((piece) => {
    if (written + piece.length > size) throw overflow(written + piece.length);
    out.set(piece, written);
    written += piece.length;
  });
  try {
    // As in the zip reader: feed only what can expand to the bytes still expected.
    for (let p = 0; p < data.length;) {
      const step = Math.min(65536, Math.max(512, Math.floor((size - written) / 1032)));
      inflater.push(data.subarray(p, Math.min(p + step, data.length)), p + step >= data.length);
      p += step;
    }
  } catch (e) {
    if (e instanceof KeraslessError) throw e;
    throw r.fail("E_HDF5", at, `${where}: corrupt deflate data in a chunk (${describeThrown(e)})`);
  }
  r.charge("decompressedBytes", written, at);
  return out.subarray(0, written);
}

function unshuffle(data: Uint8Array, itemSize: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const n = Math.floor(data.length / itemSize);
  for (let b = 0; b < itemSize; b++) for (let i = 0; i < n; i++) out[i * itemSize + b] = data[b * n + i];
  out.set(data.subarray(n * itemSize), n * itemSize);
  return out;
}

/**
 * fletcher32: sums of big-endian 16-bit words, folded one's-complement style every 360 words;
 * stored little-endian after the data. HDF5 also accepts the checksum with the bytes of each half
 * swapped (written by old versions).
 */
function checkFletcher32(r: Hdf5Reader, data: Uint8Array, at: number, where: string): Uint8Array {
  if (data.length < 4) throw r.fail("E_HDF5", at, `${where}: chunk too short for its checksum`);
  const body = data.length - 4;
  let sum1 = 0;
  let sum2 = 0;
  let i = 0;
  for (let words = Math.floor(body / 2); words > 0;) {
    const block = Math.min(words, 360);
    words -= block;
    for (let k = 0; k < block; k++, i += 2) {
      sum1 += (data[i] << 8) | data[i + 1];
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  if (body % 2 === 1) {
    sum1 += data[body - 1] << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >>> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >>> 16);
  const checksum = ((sum2 << 16) | sum1) >>> 0;
  const swapped = (((checksum & 0x00ff00ff) << 8) | ((checksum >>> 8) & 0x00ff00ff)) >>> 0;
  const stored = (data[body] | (data[body + 1] << 8) | (data[body + 2] << 16) | (data[body + 3] << 24)) >>> 0;
  if (stored !== checksum && stored !== swapped)
    throw r.fail("E_HDF5", at, `${where}: a chunk fails its fletcher32 checksum`);
  return data.subarray(0, body);
}
