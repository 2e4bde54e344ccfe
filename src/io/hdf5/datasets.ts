/**
 * Dataset values (HDF5 specification, section IV.A.2.i, the data layout message): contiguous,
 * compact and chunked storage, converted to float32.
 */
import { btreeV1Leaves } from "./btree.js";
import { datatype, decodeNumbers, elementCount, readNumbers, type NumberType } from "./datatypes.js";
import { FILTER_DEFLATE, FILTER_FLETCHER32, applyFilter, filterPipeline, type Filter } from "./filters.js";
import { MSG_DATATYPE, MSG_LAYOUT, requireMessage, type Message, type ObjectHeader } from "./object-header.js";
import { UNDEFINED, type Hdf5Reader } from "./reader.js";

/** The values of the dataset whose object header is `header`, as float32, row-major. */
export function readDataset(
  r: Hdf5Reader,
  header: ObjectHeader,
  shape: number[],
  path: string,
  maxDecompressedBytes: number,
): Float32Array {
  const where = `dataset "${path}"`;
  const datatypeMessage = requireMessage(r, header, MSG_DATATYPE, path);
  const type = datatype(r, datatypeMessage.start, datatypeMessage.size);
  if (type.kind !== "number") {
    const holds = type.kind === "unsupported" ? type.description : "strings";
    throw r.error("E_HDF5", `${where} holds ${holds}, expected numbers`);
  }
  const count = elementCount(shape, () =>
    r.fail("E_LIMIT", header.address, `${where}: shape [${shape.join(", ")}] is too large`),
  );
  const needed = count * type.size;
  const layout = requireMessage(r, header, MSG_LAYOUT, path);
  const version = r.u8(layout.start);
  let layoutClass: number;
  let at: number;
  if (version === 1 || version === 2) {
    layoutClass = r.u8(layout.start + 2);
    at = layout.start + 8;
  } else if (version === 3 || version === 4) {
    layoutClass = r.u8(layout.start + 1);
    at = layout.start + 2;
    if (version === 4 && layoutClass === 2)
      throw r.error(
        "E_UNSUPPORTED",
        `${where} uses a version 4 chunk index (HDF5 1.10 "latest" format), which kerasless does not read`,
      );
  } else {
    throw r.fail("E_HDF5", layout.start, `${where}: data layout version ${version}`);
  }
  const filters = filterPipeline(r, header, path);
  if (layoutClass === 2)
    return readChunked(r, { layout, version, at, shape, type, filters, where }, maxDecompressedBytes);
  if (filters.length > 0) throw r.fail("E_HDF5", layout.start, `${where}: filters on data that is not chunked`);
  let dataStart: number;
  let available: number;
  if (layoutClass === 1) {
    dataStart = r.address(at, "a data address");
    if (dataStart === UNDEFINED) {
      // h5py allocates no storage for empty datasets; a non-empty one without data holds only fill values.
      if (count === 0) return new Float32Array(0);
      throw r.fail("E_HDF5", at, `${where} has no data written`);
    }
    available = version >= 3 ? r.u64(at + 8, "a data size") : needed;
  } else if (layoutClass === 0) {
    if (version >= 3) {
      available = r.u16(at);
      dataStart = at + 2;
    } else {
      const dims = r.u8(layout.start + 1);
      available = r.u32(at + 4 * dims);
      dataStart = at + 4 * dims + 4;
    }
    if (dataStart + available > layout.start + layout.size)
      throw r.fail("E_HDF5", at, `${where}: compact data overruns its message`);
  } else {
    throw r.fail("E_HDF5", layout.start, `${where}: unknown layout class ${layoutClass}`);
  }
  if (available < needed)
    throw r.fail(
      "E_HDF5",
      at,
      `${where}: shape [${shape.join(", ")}] needs ${needed} bytes, its storage has ${available}`,
    );
  r.need(dataStart, needed, `the data of ${where}`);
  // Every read is charged, so a file naming one dataset many times cannot multiply memory.
  r.charge("valueBytes", 4 * count, at);
  return readNumbers(r, dataStart, count, type);
}

interface ChunkedLayout {
  readonly layout: Message;
  readonly version: number;
  /** File offset of the layout's class-specific fields. */
  readonly at: number;
  readonly shape: number[];
  readonly type: NumberType;
  readonly filters: Filter[];
  readonly where: string;
}

function readChunked(r: Hdf5Reader, c: ChunkedLayout, cap: number): Float32Array {
  const { layout, version, at, shape, type, filters, where } = c;
  let dims: number;
  let tree: number;
  let chunkAt: number;
  if (version >= 3) {
    dims = r.u8(at);
    tree = r.address(at + 1, "a chunk B-tree address");
    chunkAt = at + 9;
  } else {
    dims = r.u8(layout.start + 1);
    tree = r.address(at, "a chunk B-tree address");
    chunkAt = at + 8;
  }
  if (dims !== shape.length + 1)
    throw r.fail("E_HDF5", at, `${where}: chunks of rank ${dims - 1} for data of rank ${shape.length}`);
  if (chunkAt + 4 * dims > layout.start + layout.size) throw r.fail("E_HDF5", at, `${where}: layout message too short`);
  const chunk: number[] = [];
  for (let i = 0; i < shape.length; i++) chunk.push(r.u32(chunkAt + 4 * i));
  if (r.u32(chunkAt + 4 * shape.length) !== type.size)
    throw r.fail("E_HDF5", chunkAt, `${where}: chunk element size disagrees with the datatype`);
  if (chunk.some((d) => d === 0)) throw r.fail("E_HDF5", chunkAt, `${where}: a chunk dimension is 0`);
  const count = elementCount(shape, () => r.fail("E_LIMIT", at, `${where}: shape too large`));
  const chunkCount = elementCount(chunk, () => r.fail("E_LIMIT", chunkAt, `${where}: chunk shape too large`));
  const chunkBytes = chunkCount * type.size;
  if (count * 4 > cap || chunkBytes > cap) {
    throw r.fail(
      "E_LIMIT",
      at,
      `${where}: ${count} values in chunks of ${chunkBytes} bytes exceed the ${cap}-byte ` +
        `decompression limit (maxDecompressedBytes)`,
    );
  }
  r.charge("valueBytes", 4 * count, at);
  const out = new Float32Array(count);
  if (count === 0) return out;
  const keySize = 8 + 8 * dims;
  const seenOffsets = new Set<string>();
  const bounds = stageBounds(filters, chunkBytes);
  for (const { child, key } of btreeV1Leaves(r, tree, 1, `the chunk B-tree of ${where}`, keySize)) {
    const storedSize = r.u32(key);
    const mask = r.u32(key + 4);
    const offset: number[] = [];
    for (let i = 0; i < shape.length; i++) {
      const o = r.u64(key + 8 + 8 * i, "a chunk offset");
      if (o % chunk[i] !== 0 || o >= shape[i])
        throw r.fail(
          "E_HDF5",
          key,
          `${where}: chunk offset [${offset.concat(o).join(", ")}] is outside the data or not on a chunk boundary`,
        );
      offset.push(o);
    }
    const id = offset.join(",");
    if (seenOffsets.has(id)) throw r.fail("E_HDF5", key, `${where}: two chunks at offset [${id}]`);
    seenOffsets.add(id);
    r.need(child, storedSize, `a chunk of ${where}`);
    let data = r.bytes.subarray(child, child + storedSize);
    for (let f = filters.length - 1; f >= 0; f--) {
      if (mask & (1 << f)) continue;
      data = applyFilter(r, filters[f].id, data, bounds[f], type.size, child, where);
    }
    if (data.length !== chunkBytes)
      throw r.fail("E_HDF5", child, `${where}: chunk holds ${data.length} bytes, expected ${chunkBytes}`);
    copyChunk(data, chunk, offset, shape, type, out);
  }
  return out;
}

/**
 * The most bytes each stage of a chunk's pipeline can hold: `bounds[f]` is what filter f was given
 * when the file was written (the chunk itself for f = 0), so undoing filter f yields at most that
 * much. Deflate can grow incompressible data a little (zlib's deflateBound, with its wrapper), so a
 * stage feeding another deflate may exceed the chunk's size: [shuffle, deflate, deflate] is valid.
 */
function stageBounds(filters: readonly Filter[], chunkBytes: number): number[] {
  const bounds = [chunkBytes];
  for (const { id } of filters) {
    const n = bounds[bounds.length - 1];
    bounds.push(
      id === FILTER_DEFLATE ? n + Math.ceil(n / 8) + Math.ceil(n / 64) + 11 : id === FILTER_FLETCHER32 ? n + 4 : n,
    );
  }
  return bounds;
}

/** Copies the part of a chunk that lies inside the data into `out` (row-major). */
function copyChunk(
  data: Uint8Array,
  chunk: number[],
  offset: number[],
  shape: number[],
  type: NumberType,
  out: Float32Array,
): void {
  const rank = shape.length;
  const count = data.length / type.size;
  // Little-endian float32 (Keras' weights) is viewed as it is when aligned, not decoded value by value.
  const values =
    type.format === "float" && type.size === 4 && !type.bigEndian && data.byteOffset % 4 === 0
      ? new Float32Array(data.buffer, data.byteOffset, count)
      : decodeNumbers(new DataView(data.buffer, data.byteOffset, data.byteLength), 0, count, type);
  if (rank === 0) {
    out[0] = values[0];
    return;
  }
  const rowLength = Math.min(chunk[rank - 1], shape[rank - 1] - offset[rank - 1]);
  const index = new Array<number>(rank - 1).fill(0);
  for (;;) {
    let inside = true;
    let source = 0;
    let target = 0;
    for (let d = 0; d < rank - 1; d++) {
      if (offset[d] + index[d] >= shape[d]) inside = false;
      source = source * chunk[d] + index[d];
      target = target * shape[d] + offset[d] + index[d];
    }
    if (inside) {
      source *= chunk[rank - 1];
      target = target * shape[rank - 1] + offset[rank - 1];
      for (let i = 0; i < rowLength; i++) out[target + i] = values[source + i];
    }
    let d = rank - 2;
    while (d >= 0 && ++index[d] === chunk[d]) index[d--] = 0;
    if (d < 0) break;
  }
}
