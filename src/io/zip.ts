/**
 * Reads members of a zip archive (a Keras 3 `.keras` file). The directory is parsed here, with
 * every size, count and offset checked against the bytes present; deflated members are inflated
 * by fflate's streaming Inflate, a few KiB at a time, so that a member can never produce more
 * than its declared size and the declared sizes together never exceed the decompression cap.
 * See docs/decisions.md ("Zip reader") for why fflate's unzipSync is not used.
 */
import { Inflate } from "fflate";
import { KeraslessError, describeThrown } from "../errors.js";

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export interface ZipLimits {
  /** Most bytes all wanted members may decompress to, together. */
  maxDecompressedBytes: number;
}

/**
 * Default cap on decompressed bytes: 16 MiB, or 20 times the archive's size when that is more.
 * Keras stores members uncompressed; a re-zipped model compresses its weights by ~1.1x and its
 * config by ~10x, while a zip bomb inflates ~1000x.
 */
export function defaultDecompressionCap(compressedSize: number): number {
  return Math.max(16 * 1024 * 1024, 20 * compressedSize);
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** Deflate's largest expansion: 258 bytes from about two bits. */
const MAX_RATIO = 1032;

interface Entry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Where its central directory record starts (for messages). */
  at: number;
}

/** Extracts the members whose names `want` accepts. */
export function readZip(
  bytes: Uint8Array,
  file: string,
  want: (name: string) => boolean,
  limits: ZipLimits = { maxDecompressedBytes: defaultDecompressionCap(bytes.length) },
): Map<string, Uint8Array> {
  const fail = (problem: string, code: "E_ZIP" | "E_LIMIT" | "E_UNSUPPORTED" = "E_ZIP"): never => {
    throw new KeraslessError(code, problem, { file });
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => view.getUint16(at, true);
  const u32 = (at: number): number => view.getUint32(at, true);
  const u64 = (at: number, what: string): number => {
    const value = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
    if (!Number.isSafeInteger(value)) fail(`${what} at byte ${at} is larger than any file`);
    return value;
  };

  // The end-of-central-directory record: the last one whose comment ends exactly at the end.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (u32(at) === EOCD && at + 22 + u16(at + 20) === bytes.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail("not a complete zip archive: the end-of-central-directory record is missing (truncated file?)");
  let count = u16(eocd + 10);
  let directorySize = u32(eocd + 12);
  let directoryOffset = u32(eocd + 16);
  let directoryEnd = eocd;
  if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0 || u16(eocd + 8) !== count)
    fail("multi-part (split) zip archives are not supported", "E_UNSUPPORTED");
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    // Zip64: the real values are in the zip64 end-of-central-directory record.
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== ZIP64_LOCATOR)
      fail(`the zip64 locator expected at byte ${Math.max(locator, 0)} is missing`);
    const record = u64(locator + 8, "the zip64 record offset");
    if (record + 56 > locator || u32(record) !== ZIP64_EOCD)
      fail(`no zip64 end-of-central-directory record at byte ${record}`);
    count = u64(record + 32, "the zip64 entry count");
    directorySize = u64(record + 40, "the zip64 directory size");
    directoryOffset = u64(record + 48, "the zip64 directory offset");
    directoryEnd = record;
  }
  if (directoryOffset + directorySize > directoryEnd) {
    fail(
      `the central directory (${directorySize} bytes at byte ${directoryOffset}) runs past the ` +
        `end-of-directory record at byte ${directoryEnd}`,
    );
  }
  if (count * 46 > directorySize)
    fail(
      `the archive claims ${count} entries, but its ${directorySize}-byte central directory ` +
        `holds at most ${Math.floor(directorySize / 46)}`,
    );

  const entries = new Map<string, Entry>();
  let at = directoryOffset;
  const end = directoryOffset + directorySize;
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || u32(at) !== CENTRAL) fail(`central directory entry #${i} at byte ${at} is malformed`);
    const nameLength = u16(at + 28);
    const recordEnd = at + 46 + nameLength + u16(at + 30) + u16(at + 32);
    if (recordEnd > end)
      fail(`central directory entry #${i} at byte ${at} runs past the directory's end at byte ${end}`);
    const name = decodeName(bytes.subarray(at + 46, at + 46 + nameLength));
    if (want(name)) {
      if (entries.has(name))
        fail(`the archive has two members named "${name}" (central directory entry #${i} at byte ${at})`);
      const entry: Entry = {
        name,
        flags: u16(at + 8),
        method: u16(at + 10),
        crc: u32(at + 16),
        compressedSize: u32(at + 20),
        size: u32(at + 24),
        localOffset: u32(at + 42),
        at,
      };
      readZip64Extra(entry, at + 46 + nameLength, u16(at + 30));
      entries.set(name, entry);
    }
    at = recordEnd;
  }

  function readZip64Extra(entry: Entry, extraStart: number, extraLength: number): void {
    const needSize = entry.size === 0xffffffff;
    const needCompressed = entry.compressedSize === 0xffffffff;
    const needOffset = entry.localOffset === 0xffffffff;
    if (!needSize && !needCompressed && !needOffset) return;
    for (let p = extraStart; p + 4 <= extraStart + extraLength;) {
      const id = u16(p);
      const length = u16(p + 2);
      if (p + 4 + length > extraStart + extraLength) break;
      if (id === 0x0001) {
        let q = p + 4;
        const take = (what: string): number => {
          if (q + 8 > p + 4 + length) fail(`the zip64 field of "${entry.name}" at byte ${p} is too short`);
          const value = u64(q, what);
          q += 8;
          return value;
        };
        if (needSize) entry.size = take("a zip64 size");
        if (needCompressed) entry.compressedSize = take("a zip64 compressed size");
        if (needOffset) entry.localOffset = take("a zip64 offset");
        return;
      }
      p += 4 + length;
    }
    fail(`"${entry.name}" (central directory entry at byte ${entry.at}) needs a zip64 field, and has none`);
  }

  let declared = 0;
  for (const entry of entries.values()) {
    declared += entry.size;
    if (declared > limits.maxDecompressedBytes) {
      fail(
        `the wanted members decompress to more than ${limits.maxDecompressedBytes} bytes ` +
          `("${entry.name}" alone declares ${entry.size}); ` +
          "raise maxDecompressedBytes in the load options if the file is trusted",
        "E_LIMIT",
      );
    }
  }

  const out = new Map<string, Uint8Array>();
  for (const entry of entries.values()) out.set(entry.name, extract(entry));
  return out;

  function extract(entry: Entry): Uint8Array {
    const where = `"${entry.name}" (local header at byte ${entry.localOffset})`;
    if (entry.flags & 0x1) fail(`${where} is encrypted`, "E_UNSUPPORTED");
    const local = entry.localOffset;
    if (local + 30 > directoryOffset || u32(local) !== LOCAL) fail(`${where}: no local file header there`);
    const nameLength = u16(local + 26);
    const dataStart = local + 30 + nameLength + u16(local + 28);
    if (dataStart > directoryOffset) fail(`${where}: the local header runs into the central directory`);
    if (decodeName(bytes.subarray(local + 30, local + 30 + nameLength)) !== entry.name) {
      fail(`${where}: the local header names a different file than the central directory`);
    }
    if (u16(local + 8) !== entry.method)
      fail(`${where}: the local header and the central directory disagree on the compression method`);
    if (dataStart + entry.compressedSize > directoryOffset) {
      fail(
        `${where}: its ${entry.compressedSize} compressed bytes run past the start of the ` +
          `central directory at byte ${directoryOffset}`,
      );
    }
    const data = bytes.subarray(dataStart, dataStart + entry.compressedSize);
    let content: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size)
        fail(`${where} is stored uncompressed, but its sizes differ (${entry.compressedSize} and ${entry.size})`);
      content = data;
    } else if (entry.method === 8) {
      content = inflateExactly(data, entry.size, where);
    } else {
      return fail(
        `${where} uses compression method ${entry.method}; kerasless reads stored (0) and deflated (8) members`,
        "E_UNSUPPORTED",
      );
    }
    if (crc32(content) !== entry.crc) fail(`${where}: the data does not match its CRC-32 (corrupted file?)`);
    return content;
  }

  /** Inflates into a buffer of exactly `size` bytes, stopping as soon as more would come out. */
  function inflateExactly(data: Uint8Array, size: number, where: string): Uint8Array {
    const content = new Uint8Array(size);
    let written = 0;
    let finished = false;
    const inflater = new Inflate((chunk, final) => {
      if (written + chunk.length > size) fail(`${where} inflates to more than its declared ${size} bytes`);
      content.set(chunk, written);
      written += chunk.length;
      finished = final;
    });
    try {
      // Feed only as much as can expand to the bytes still expected, so that a member lying about
      // its size overshoots by at most ~0.5 MB before it is caught.
      for (let p = 0; p < data.length;) {
        const step = Math.min(65536, Math.max(512, Math.floor((size - written) / MAX_RATIO)));
        inflater.push(data.subarray(p, Math.min(p + step, data.length)), p + step >= data.length);
        p += step;
      }
      if (data.length === 0) inflater.push(data, true);
    } catch (e) {
      if (e instanceof KeraslessError) throw e;
      fail(`${where}: the deflate data is corrupt (${describeThrown(e)})`);
    }
    if (!finished || written !== size) fail(`${where} inflates to ${written} bytes, its header says ${size}`);
    return content;
  }
}

const nameDecoder = new TextDecoder("utf-8");

function decodeName(bytes: Uint8Array): string {
  return nameDecoder.decode(bytes);
}

let crcTables: Int32Array | undefined;

/**
 * Eight CRC-32 tables of 256 entries, table k at k * 256: table 0 advances the CRC by one byte,
 * table k by a byte followed by k zero bytes (so eight bytes are folded in per step).
 */
function makeCrcTables(): Int32Array {
  const tables = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = tables[(k - 1) * 256 + n];
      tables[k * 256 + n] = (previous >>> 8) ^ tables[previous & 0xff];
    }
  }
  return tables;
}

/** CRC-32 (IEEE 802.3), as zip records it; eight bytes per step (weights make up most of a file). */
export function crc32(bytes: Uint8Array): number {
  const t = (crcTables ??= makeCrcTables());
  let crc = -1;
  let i = 0;
  for (const whole = bytes.length - (bytes.length & 7); i < whole; i += 8) {
    const low = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    crc =
      t[1792 + (low & 0xff)] ^
      t[1536 + ((low >>> 8) & 0xff)] ^
      t[1280 + ((low >>> 16) & 0xff)] ^
      t[1024 + (low >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
