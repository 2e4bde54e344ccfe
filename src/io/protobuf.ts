/**
 * A protocol-buffers wire-format reader (no schema, no code generation): the ONNX decoder walks
 * fields with it. Every length is checked against the bytes present before anything is read or
 * allocated, varints are at most 10 bytes, and nested messages are bounded in depth.
 */
import { KeraslessError } from "../errors.js";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** Deepest message nesting accepted (ONNX graphs nest through attributes and types). */
export const MAX_PROTO_DEPTH = 32;

const utf8 = new TextDecoder("utf-8");

export class ProtoReader {
  pos: number;
  readonly end: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    end: number,
    readonly depth: number,
    private readonly onError: (problem: string) => never,
    view?: DataView,
  ) {
    if (depth > MAX_PROTO_DEPTH) onError(`messages nested deeper than ${MAX_PROTO_DEPTH} levels`);
    this.pos = start;
    this.end = end;
    this.view = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static of(bytes: Uint8Array, file: string): ProtoReader {
    const fail = (problem: string): never => {
      throw new KeraslessError("E_FORMAT", `broken protobuf: ${problem}`, { file });
    };
    return new ProtoReader(bytes, 0, bytes.length, 0, fail);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /**
   * Walks the message's fields: `read` gets each field's number and wire type and reads the value
   * of the fields it knows; a field it did not read (the position has not moved) is skipped here,
   * so every decoder steps over unknown fields the same way.
   */
  fields(read: (field: number, wire: number) => void): void {
    while (this.pos < this.end) {
      const key = this.varint();
      if (key > 0xffffffff || key < 8) this.fail(`field key ${key} at byte ${this.pos}`);
      const wire = key & 7;
      const at = this.pos;
      read(key >>> 3, wire);
      if (this.pos === at) this.skip(wire);
    }
  }

  /** An unsigned varint as a number (exact below 2^53). */
  varint(): number {
    this.varint64();
    return this.hi * 2 ** 32 + this.lo;
  }

  /**
   * A signed int64 or int32 varint (two's complement, as ONNX writes negative dims and attributes;
   * a negative int32 is sign-extended to 10 bytes, so it reads the same).
   */
  int64(): number {
    this.varint64();
    if (this.hi < 2 ** 31) return this.hi * 2 ** 32 + this.lo;
    return -((~this.hi >>> 0) * 2 ** 32 + (~this.lo >>> 0) + 1);
  }

  private lo = 0;
  private hi = 0;

  /** Reads a varint into lo/hi (the low and high 32 bits). */
  private varint64(): void {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`a varint runs past the end of its message at byte ${this.pos}`);
      const b = this.bytes[this.pos++];
      const v = b & 0x7f;
      const shift = 7 * i;
      if (shift < 28) lo |= v << shift;
      else if (shift === 28) {
        lo |= (v & 0x0f) << 28;
        hi |= v >>> 4;
      } else hi |= v << (shift - 32);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    this.fail(`a varint longer than 10 bytes at byte ${this.pos}`);
  }

  float32(): number {
    this.need(4, "a float");
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    this.need(8, "a double");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bytes (a view, not a copy), after checking they are all there. */
  bytesField(): Uint8Array {
    const length = this.varint();
    this.need(length, "a length-delimited field");
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    const b = this.bytesField();
    // Names are short and ASCII: decoding them by hand is several times faster than TextDecoder.
    if (b.length > 64) return utf8.decode(b);
    let text = "";
    for (let i = 0; i < b.length; i++) {
      if (b[i] >= 0x80) return utf8.decode(b);
      text += String.fromCharCode(b[i]);
    }
    return text;
  }

  /** A reader over an embedded message, one level deeper. */
  message(): ProtoReader {
    const length = this.varint();
    this.need(length, "an embedded message");
    const inner = new ProtoReader(this.bytes, this.pos, this.pos + length, this.depth + 1, this.onError, this.view);
    this.pos += length;
    return inner;
  }

  /** Repeated scalars: packed (one length-delimited run) or one value per key, as the writer chose. */
  repeated(wire: number, expected: number, read: (r: ProtoReader) => number, into: number[]): void {
    if (wire === WIRE_BYTES && expected !== WIRE_BYTES) {
      const length = this.varint();
      this.need(length, "a packed repeated field");
      const stop = this.pos + length;
      const inner = new ProtoReader(this.bytes, this.pos, stop, this.depth, this.onError, this.view);
      while (!inner.done) into.push(read(inner));
      this.pos = stop;
      return;
    }
    if (wire !== expected) this.fail(`wire type ${wire} where ${expected} was expected at byte ${this.pos}`);
    into.push(read(this));
  }

  /** Steps over a field this decoder does not use. */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) this.advance(8);
    else if (wire === WIRE_BYTES) this.advance(this.varint());
    else if (wire === WIRE_FIXED32) this.advance(4);
    else this.fail(`unknown wire type ${wire} at byte ${this.pos}`);
  }

  fail(problem: string): never {
    return this.onError(problem);
  }

  private need(length: number, what: string): void {
    if (length > this.end - this.pos)
      this.fail(`${what} of ${length} bytes at byte ${this.pos} runs past the end (${this.end - this.pos} left)`);
  }

  private advance(length: number): void {
    this.need(length, "a skipped field");
    this.pos += length;
  }
}
