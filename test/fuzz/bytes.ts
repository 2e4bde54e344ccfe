/** Format-blind byte mutations: truncation, bit flips, interesting bytes, chunk duplication/deletion/overwrite. */
import type { Rng } from "./rng.js";

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x39];

export function u8(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

export function truncate(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const cut = rng.chance(0.5) ? bytes.length - 1 - rng.int(Math.min(bytes.length, 64)) : rng.int(bytes.length);
  return bytes.slice(0, Math.max(0, cut));
}

export function flipBits(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = u8(bytes);
  const n = 1 + rng.int(8);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}

export function interestingBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = u8(bytes);
  const n = 1 + rng.int(4);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] = rng.pick(INTERESTING_BYTES);
  return out;
}

export function chunkRange(rng: Rng, length: number): [number, number] {
  const size = 1 + rng.int(Math.max(1, Math.min(length, rng.chance(0.7) ? 64 : 4096)));
  const start = rng.int(Math.max(1, length - size));
  return [start, Math.min(length, start + size)];
}

export function duplicateChunk(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const [a, b] = chunkRange(rng, bytes.length);
  const at = rng.int(bytes.length);
  const out = new Uint8Array(bytes.length + (b - a));
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(a, b), at);
  out.set(bytes.subarray(at), at + (b - a));
  return out;
}

export function deleteChunk(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const [a, b] = chunkRange(rng, bytes.length);
  const out = new Uint8Array(bytes.length - (b - a));
  out.set(bytes.subarray(0, a));
  out.set(bytes.subarray(b), a);
  return out;
}

export function overwriteChunk(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const [a, b] = chunkRange(rng, bytes.length);
  const out = u8(bytes);
  out.copyWithin(rng.int(bytes.length), a, b);
  return out;
}

/** A field of `width` bytes at `at` that holds a size, count, offset or version. */
