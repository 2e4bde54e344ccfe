/**
 * The security boundary of the HDF5 reader: every read of a file's bytes goes through these
 * bounds-checked accessors, and every structure is parsed once per file through `once()`.
 */
import { KeraslessError, type ErrorCode } from "../../errors.js";

/** An undefined address (all bits set), as HDF5 writes for "nothing here". */
export const UNDEFINED = -1;

/**
 * What one load of a file may parse or produce, whatever its structures share, overlap or repeat.
 * Each is `perFileByte` times the file's size, at least `floor`; an honest file needs at most
 * about 1x (no two of its structures occupy the same bytes). Listed in docs/robustness.md.
 */
export const BUDGETS = {
  /** Object header messages parsed (each takes 4 bytes or more). */
  messages: { perFileByte: 1 / 4, floor: 4096, what: "object header messages" },
  /** Links, symbol table entries, B-tree entries and global heap objects read (each 8 bytes or more). */
  entries: { perFileByte: 1 / 8, floor: 4096, what: "links, B-tree entries and heap objects" },
  /** Bytes of attribute values decoded (their data and the heap strings they reference). */
  attributeBytes: { perFileByte: 2, floor: 1024 * 1024, what: "bytes of attribute values" },
  /** Float32 bytes produced by dataset reads (4 per value; a stored value takes 1 to 8 bytes). */
  valueBytes: { perFileByte: 4, floor: 16 * 1024 * 1024, what: "bytes of dataset values" },
} as const;

export type BudgetKind = keyof typeof BUDGETS | "decompressedBytes";

const utf8Decoder = new TextDecoder("utf-8");
const latin1Decoder = new TextDecoder("latin1");

export class Hdf5Reader {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Added to every address (non-zero only with a user block); set once the superblock is read. */
  base = 0;
  private readonly parsed = new Map<string, Map<number, unknown>>();
  private readonly totals: Record<BudgetKind, number>;
  private readonly remaining: Record<BudgetKind, number>;

  /** `maxDecompressedBytes` bounds what inflating chunks may produce across the whole load. */
  constructor(bytes: Uint8Array, file: string, maxDecompressedBytes: number) {
    this.bytes = bytes;
    this.file = file;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const scaled = (b: { perFileByte: number; floor: number }): number =>
      Math.max(b.floor, Math.ceil(b.perFileByte * bytes.length));
    this.totals = {
      messages: scaled(BUDGETS.messages),
      entries: scaled(BUDGETS.entries),
      attributeBytes: scaled(BUDGETS.attributeBytes),
      valueBytes: Math.max(scaled(BUDGETS.valueBytes), maxDecompressedBytes),
      decompressedBytes: maxDecompressedBytes,
    };
    this.remaining = { ...this.totals };
  }

  /** Spends `amount` of a whole-file budget; `at` locates the structure in the error. */
  charge(kind: BudgetKind, amount: number, at: number): void {
    this.remaining[kind] -= amount;
    if (this.remaining[kind] < 0) {
      const problem =
        kind === "decompressedBytes"
          ? `the file's chunks inflate to more than ${this.totals[kind]} bytes (maxDecompressedBytes)`
          : `the file asks for more than ${this.totals[kind]} ${BUDGETS[kind].what}, the budget for a file ` +
            `of its size (its structures share, overlap or repeat data)`;
      throw this.fail("E_LIMIT", at, problem);
    }
  }

  /** What is left of a budget. */
  left(kind: BudgetKind): number {
    return Math.max(0, this.remaining[kind]);
  }

  /**
   * The structure of `kind` at `address`, parsed by `parse` the first time it is asked for and
   * shared by every later request in this file.
   */
  once<T>(kind: string, address: number, parse: () => T): T {
    let table = this.parsed.get(kind);
    if (table === undefined) this.parsed.set(kind, (table = new Map()));
    if (table.has(address)) return table.get(address) as T;
    const value = parse();
    table.set(address, value);
    return value;
  }

  fail(code: ErrorCode, at: number, problem: string): KeraslessError {
    return new KeraslessError(code, `HDF5 structure at byte ${at}: ${problem}`, { file: this.file });
  }

  error(code: ErrorCode, problem: string): KeraslessError {
    return new KeraslessError(code, problem, { file: this.file });
  }

  /** Throws unless `length` bytes at `at` are in the file. */
  need(at: number, length: number, what: string): void {
    if (!(at >= 0 && length >= 0 && at + length <= this.bytes.length)) {
      throw new KeraslessError(
        "E_HDF5",
        `${what} (${length} bytes at byte ${at}) lies outside the file (${this.bytes.length} bytes)`,
        { file: this.file },
      );
    }
  }

  u8(at: number): number {
    this.need(at, 1, "a field");
    return this.bytes[at];
  }

  u16(at: number): number {
    this.need(at, 2, "a field");
    return this.view.getUint16(at, true);
  }

  u32(at: number): number {
    this.need(at, 4, "a field");
    return this.view.getUint32(at, true);
  }

  /** An 8-byte length or count; values beyond 2^53 are never sizes of anything in memory. */
  u64(at: number, what: string): number {
    this.need(at, 8, what);
    const low = this.view.getUint32(at, true);
    const high = this.view.getUint32(at + 4, true);
    if (high >= 0x200000) throw this.fail("E_HDF5", at, `${what} (${high} * 2^32 + ${low}) is larger than any file`);
    return high * 2 ** 32 + low;
  }

  /** An unsigned integer of 1, 2, 4 or 8 bytes (the variable-width sizes of v2 structures). */
  uint(at: number, bytes: number, what: string): number {
    return bytes === 8 ? this.u64(at, what) : bytes === 4 ? this.u32(at) : bytes === 2 ? this.u16(at) : this.u8(at);
  }

  /** An 8-byte address made absolute, or UNDEFINED. */
  address(at: number, what: string): number {
    this.need(at, 8, what);
    if (this.view.getUint32(at, true) === 0xffffffff && this.view.getUint32(at + 4, true) === 0xffffffff)
      return UNDEFINED;
    return this.base + this.u64(at, what);
  }

  /** An address that must be defined and inside the file. */
  requireAddress(at: number, what: string): number {
    const address = this.address(at, what);
    if (address === UNDEFINED) throw this.fail("E_HDF5", at, `${what} is undefined`);
    this.need(address, 1, what);
    return address;
  }

  signature(at: number, expected: string, what: string): void {
    this.need(at, 4, what);
    for (let i = 0; i < 4; i++) {
      if (this.bytes[at + i] !== expected.charCodeAt(i))
        throw this.fail("E_HDF5", at, `expected ${what} (signature "${expected}")`);
    }
  }

  text(start: number, length: number, utf8: boolean): string {
    this.need(start, length, "a string");
    return (utf8 ? utf8Decoder : latin1Decoder).decode(this.bytes.subarray(start, start + length));
  }
}
