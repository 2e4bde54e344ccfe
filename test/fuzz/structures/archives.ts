/**
 * Valid-but-adversarial zip (.keras) and .npy files: huge counts, members that overlap or share
 * data, sizes claimed beyond what is present, shapes that claim more than the data holds. Each
 * returns the file and how to read it (through the library's public entry points).
 */
import { unzipSync, zipSync } from "fflate";
import { parseNpy } from "../../../src/io/npy.js";
import { loadModelFromBytes } from "../../../src/load.js";

export interface FileAttack {
  readonly bytes: Uint8Array;
  readonly name: string;
  run(): unknown;
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A .keras file with these members (stored), loaded as a model. */
export function kerasFile(members: Record<string, Uint8Array>, name = "attack.keras"): FileAttack {
  const bytes = zipSync(members, { level: 0 });
  return { bytes, name, run: () => loadModelFromBytes({ name, bytes }).summary() };
}

/** The members of a real .keras file, with `weights` as its model.weights.h5. */
export function kerasWithWeights(seedKeras: Uint8Array, weights: Uint8Array): FileAttack {
  return kerasFile({ ...unzipSync(seedKeras), "model.weights.h5": weights });
}

/** A .keras whose central directory lists `n` more members (tiny, unwanted) beside the real ones. */
export function manyMembers(seedKeras: Uint8Array, n: number): FileAttack {
  const members: Record<string, Uint8Array> = unzipSync(seedKeras);
  const empty = new Uint8Array(0);
  for (let i = 0; i < n; i++) members[`assets/${i}`] = empty;
  return kerasFile(members);
}

/**
 * A .keras whose wanted members' central directory records all point at one local header (the
 * first one's): overlapping members.
 */
export function overlappingMembers(seedKeras: Uint8Array): FileAttack {
  const bytes = zipSync(unzipSync(seedKeras), { level: 0 });
  const view = new DataView(bytes.buffer);
  const eocd = bytes.length - 22;
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  for (let i = 0; i < count; i++) {
    view.setUint32(at + 42, 0, true);
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return { bytes, name: "overlap.keras", run: () => loadModelFromBytes({ name: "overlap.keras", bytes }) };
}

/**
 * A .keras whose model.weights.h5 claims `declared` bytes in the central directory and its local
 * header while holding its real size: sizes claimed beyond what is present.
 */
export function claimedMemberSize(seedKeras: Uint8Array, declared: number): FileAttack {
  const bytes = zipSync(unzipSync(seedKeras), { level: 0 });
  const view = new DataView(bytes.buffer);
  const eocd = bytes.length - 22;
  const count = view.getUint16(eocd + 10, true);
  let at = view.getUint32(eocd + 16, true);
  const wanted = encode("model.weights.h5");
  for (let i = 0; i < count; i++) {
    const nameLength = view.getUint16(at + 28, true);
    const name = bytes.subarray(at + 46, at + 46 + nameLength);
    if (name.length === wanted.length && name.every((b, k) => b === wanted[k])) {
      view.setUint32(at + 20, declared, true);
      view.setUint32(at + 24, declared, true);
    }
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return { bytes, name: "claimed.keras", run: () => loadModelFromBytes({ name: "claimed.keras", bytes }) };
}

/** A .npy file with this header text (version 2.0) and `dataBytes` bytes of data. */
export function npyFile(header: string, dataBytes: number): FileAttack {
  const text = encode(header);
  const bytes = new Uint8Array(12 + text.length + dataBytes);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
  new DataView(bytes.buffer).setUint32(8, text.length, true);
  bytes.set(text, 12);
  return { bytes, name: "attack.npy", run: () => parseNpy(bytes, "attack.npy").data.length };
}

/** .npy shapes: `dims` (huge, zero, many) over `dataBytes` bytes of float32 data. */
export function npyShape(dims: readonly number[], dataBytes: number): FileAttack {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  return npyFile(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, dataBytes);
}
