/**
 * Size, count and offset fields of zip, HDF5 and .npy files, found in a file's bytes, and their
 * corruption to values that readers must check (0, 1, maxima, off by one, huge).
 */
import { flipBits, u8 } from "./bytes.js";
import type { Rng } from "./rng.js";

export interface Field {
  at: number;
  width: 1 | 2 | 4 | 8;
  what: string;
}

function readField(bytes: Uint8Array, f: Field): number {
  let v = 0;
  for (let i = Math.min(f.width, 6) - 1; i >= 0; i--) v = v * 256 + bytes[f.at + i];
  return v;
}

function writeField(bytes: Uint8Array, f: Field, value: number): void {
  let v = value < 0 ? 0 : value;
  for (let i = 0; i < f.width; i++) {
    bytes[f.at + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

export function corruptField(rng: Rng, bytes: Uint8Array, fields: Field[]): [Uint8Array, string] {
  const usable = fields.filter((f) => f.at + f.width <= bytes.length);
  if (usable.length === 0) return [flipBits(rng, bytes), "bit flips (no size field found)"];
  const field = rng.pick(usable);
  const out = u8(bytes);
  const old = readField(bytes, field);
  const max = field.width >= 6 ? 2 ** 48 - 1 : 2 ** (8 * field.width) - 1;
  const choices = [
    0,
    1,
    max,
    max - 1,
    Math.floor(max / 2) + 1,
    old + 1,
    old - 1,
    old * 2,
    old * 256,
    old + bytes.length,
    bytes.length,
    rng.int(max + 1),
  ];
  const value = Math.min(max, rng.pick(choices));
  if (field.width === 8 && rng.chance(0.3)) out.fill(0xff, field.at, field.at + 8);
  else writeField(out, field, value);
  return [out, `${field.what} at byte ${field.at}: ${old} -> ${readField(out, field)}`];
}

function findAll(bytes: Uint8Array, signature: number[], limit = 400): number[] {
  const found: number[] = [];
  outer: for (let i = 0; i + signature.length <= bytes.length && found.length < limit; i++) {
    for (let k = 0; k < signature.length; k++) if (bytes[i + k] !== signature[k]) continue outer;
    found.push(i);
  }
  return found;
}

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

export function zipFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  for (const at of findAll(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    fields.push(
      { at: at + 8, width: 2, what: "zip local method" },
      { at: at + 14, width: 4, what: "zip local crc" },
      { at: at + 18, width: 4, what: "zip local compressed size" },
    );
    fields.push(
      { at: at + 22, width: 4, what: "zip local size" },
      { at: at + 26, width: 2, what: "zip local name length" },
      { at: at + 28, width: 2, what: "zip local extra length" },
    );
  }
  for (const at of findAll(bytes, [0x50, 0x4b, 0x01, 0x02])) {
    fields.push(
      { at: at + 10, width: 2, what: "zip central method" },
      { at: at + 20, width: 4, what: "zip central compressed size" },
      { at: at + 24, width: 4, what: "zip central size" },
    );
    fields.push(
      { at: at + 28, width: 2, what: "zip central name length" },
      { at: at + 30, width: 2, what: "zip central extra length" },
      { at: at + 32, width: 2, what: "zip central comment length" },
    );
    fields.push({ at: at + 42, width: 4, what: "zip central local-header offset" });
  }
  for (const at of findAll(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    fields.push(
      { at: at + 8, width: 2, what: "zip EOCD entries" },
      { at: at + 10, width: 2, what: "zip EOCD total entries" },
      { at: at + 12, width: 4, what: "zip EOCD directory size" },
    );
    fields.push(
      { at: at + 16, width: 4, what: "zip EOCD directory offset" },
      { at: at + 20, width: 2, what: "zip EOCD comment length" },
    );
  }
  return fields;
}

function le(bytes: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + (bytes[at + i] ?? 0);
  return v;
}

/** Size fields of an HDF5 file: superblock, B-tree, symbol table, heaps and the object headers they lead to. */
export function hdf5Fields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [
    { at: 8, width: 1, what: "HDF5 superblock version" },
    { at: 13, width: 1, what: "HDF5 offset size" },
    { at: 14, width: 1, what: "HDF5 length size" },
    { at: 24, width: 8, what: "HDF5 base address" },
    { at: 40, width: 8, what: "HDF5 end-of-file address" },
    { at: 64, width: 8, what: "HDF5 root object header address" },
  ];
  const headers = new Set<number>([le(bytes, 64, 8)]);
  for (const at of findAll(bytes, ascii("TREE"))) {
    fields.push(
      { at: at + 4, width: 1, what: "B-tree node type" },
      { at: at + 5, width: 1, what: "B-tree node level" },
      { at: at + 6, width: 2, what: "B-tree entries used" },
    );
    fields.push({ at: at + 32, width: 8, what: "B-tree child address" }, { at: at + 24, width: 8, what: "B-tree key" });
  }
  for (const at of findAll(bytes, ascii("SNOD"))) {
    const count = le(bytes, at + 6, 2);
    fields.push({ at: at + 6, width: 2, what: "symbol table node count" });
    for (let i = 0; i < Math.min(count, 64); i++) {
      const entry = at + 8 + 40 * i;
      fields.push(
        { at: entry, width: 8, what: "symbol name offset" },
        { at: entry + 8, width: 8, what: "symbol object header address" },
        { at: entry + 16, width: 4, what: "symbol cache type" },
      );
      headers.add(le(bytes, entry + 8, 8));
    }
  }
  for (const at of findAll(bytes, ascii("HEAP")))
    fields.push(
      { at: at + 8, width: 8, what: "local heap size" },
      { at: at + 24, width: 8, what: "local heap data address" },
    );
  for (const at of findAll(bytes, ascii("GCOL"))) {
    fields.push(
      { at: at + 8, width: 8, what: "global heap size" },
      { at: at + 16, width: 2, what: "global heap object index" },
      { at: at + 24, width: 8, what: "global heap object size" },
    );
  }
  for (const header of headers) {
    if (header + 16 > bytes.length || bytes[header] !== 1) continue;
    fields.push(
      { at: header + 2, width: 2, what: "object header message count" },
      { at: header + 8, width: 4, what: "object header size" },
    );
    const end = Math.min(bytes.length, header + 16 + le(bytes, header + 8, 4));
    for (let at = header + 16; at + 8 <= end;) {
      const type = le(bytes, at, 2);
      const size = le(bytes, at + 2, 2);
      const data = at + 8;
      fields.push(
        { at, width: 2, what: `message type (${type})` },
        { at: at + 2, width: 2, what: `message size (type ${type})` },
      );
      if (type === 1) {
        fields.push({ at: data + 1, width: 1, what: "dataspace rank" });
        for (let d = 0; d < Math.min(bytes[data + 1] ?? 0, 8); d++)
          fields.push({ at: data + 8 + 8 * d, width: 8, what: "dataspace dimension" });
      } else if (type === 3)
        fields.push({ at: data, width: 1, what: "datatype class" }, { at: data + 4, width: 4, what: "datatype size" });
      else if (type === 8)
        fields.push(
          { at: data, width: 1, what: "layout version" },
          { at: data + 1, width: 1, what: "layout class" },
          { at: data + 2, width: 8, what: "data address" },
          { at: data + 10, width: 8, what: "data size" },
        );
      else if (type === 12)
        fields.push(
          { at: data, width: 1, what: "attribute version" },
          { at: data + 2, width: 2, what: "attribute name size" },
          { at: data + 4, width: 2, what: "attribute datatype size" },
          { at: data + 6, width: 2, what: "attribute dataspace size" },
        );
      else if (type === 16)
        fields.push(
          { at: data, width: 8, what: "continuation address" },
          { at: data + 8, width: 8, what: "continuation length" },
        );
      else if (type === 17)
        fields.push(
          { at: data, width: 8, what: "symbol table B-tree address" },
          { at: data + 8, width: 8, what: "symbol table heap address" },
        );
      at = data + size;
      if (size === 0 && type === 0) break;
    }
  }
  return fields;
}

export function npyFields(bytes: Uint8Array): Field[] {
  return [
    { at: 6, width: 1, what: "npy major version" },
    { at: 8, width: bytes[6] === 1 ? 2 : 4, what: "npy header length" },
  ];
}
