/**
 * Protobuf-aware edits for .onnx files: the varints of a file (field keys, lengths of nested
 * messages and packed fields, integer values such as dims and data types) found by walking the
 * wire format, and one of them re-encoded to a value a reader must check (0, off by one, 2^31,
 * 2^53, 2^64 - 1, an over-long varint, one left unterminated). The file's length changes with
 * the varint's; nothing else moves.
 */
import { flipBits } from "./bytes.js";
import type { Rng } from "./rng.js";

export interface Varint {
  at: number;
  /** Bytes the varint takes. */
  width: number;
  value: number;
  what: "key" | "length" | "value";
}

function readVarint(bytes: Uint8Array, at: number, end: number): { value: number; width: number } | null {
  let value = 0;
  for (let i = 0; i < 10 && at + i < end; i++) {
    value += (bytes[at + i] & 0x7f) * 2 ** (7 * i);
    if (bytes[at + i] < 0x80) return { value, width: i + 1 };
  }
  return null;
}

/** Every varint of the message in bytes[from, end), nested messages included where they parse. */
export function protobufVarints(bytes: Uint8Array, from = 0, end = bytes.length, depth = 0, out: Varint[] = []) {
  let at = from;
  while (at < end && out.length < 20000) {
    const key = readVarint(bytes, at, end);
    if (key === null || key.value === 0) return out;
    out.push({ at, width: key.width, value: key.value, what: "key" });
    at += key.width;
    const wire = key.value % 8;
    if (wire === 0) {
      const v = readVarint(bytes, at, end);
      if (v === null) return out;
      out.push({ at, width: v.width, value: v.value, what: "value" });
      at += v.width;
    } else if (wire === 2) {
      const length = readVarint(bytes, at, end);
      if (length === null || at + length.width + length.value > end) return out;
      out.push({ at, width: length.width, value: length.value, what: "length" });
      at += length.width;
      // A nested message, if it is one (strings and raw data stop the walk early, harmlessly).
      if (depth < 12) protobufVarints(bytes, at, at + length.value, depth + 1, out);
      at += length.value;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return out;
  }
  return out;
}

function encode(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** One varint of an .onnx file re-encoded to a hostile value. */
export function corruptVarint(rng: Rng, bytes: Uint8Array): [Uint8Array, string] {
  const varints = protobufVarints(bytes);
  if (varints.length === 0) return [flipBits(rng, bytes), "bit flips (no protobuf varint found)"];
  const v = rng.pick(varints);
  const old = BigInt(v.value);
  const choice = rng.int(10);
  let replacement: number[];
  let described: string;
  if (choice === 0) {
    replacement = [...new Array<number>(10).fill(0xff), 0x01];
    described = "an 11-byte varint";
  } else if (choice === 1) {
    replacement = [0x80, 0x80, 0x80];
    described = "an unterminated varint";
  } else {
    const values = [0n, 1n, old + 1n, old - 1n, old * 2n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n];
    const value = values[choice - 1] ?? old;
    replacement = encode(value);
    described = String(BigInt.asUintN(64, value));
  }
  const out = new Uint8Array(bytes.length - v.width + replacement.length);
  out.set(bytes.subarray(0, v.at));
  out.set(replacement, v.at);
  out.set(bytes.subarray(v.at + v.width), v.at + replacement.length);
  return [out, `protobuf ${v.what} at byte ${v.at}: ${v.value} -> ${described}`];
}
