/**
 * A seeded mutation fuzzer over the real fixture files. Case `index` of seed `seed` is always the
 * same input, so any failure can be replayed (`npm run fuzz -- --seed S --replay I`).
 *
 * Each case takes one model from the corpus (every fixture in every format, .npy inputs too),
 * mutates one of its files with 1-3 of: truncation, bit flips, interesting bytes, chunk
 * duplication/deletion/overwrite, size-field corruption (zip headers, HDF5 superblock, object
 * headers, B-tree/heap/symbol-table fields, .npy header), same-length text edits, JSON-aware
 * edits of the model config (numbers, types, class names, deep nesting, `__proto__` keys), and
 * splicing with another corpus file; then loads it, runs summary() and predict(), and classifies
 * the outcome. Anything but a result or a KeraslessError is a finding.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { KeraslessError } from "../../src/errors.js";
import { openHdf5, type H5Group } from "../../src/io/hdf5/index.js";
import { parseNpy } from "../../src/io/npy.js";
import { loadModelFromBytes } from "../../src/load.js";
import { FIXTURES, listFixtures } from "../helpers.js";

export type FileKind = "keras" | "h5" | "json" | "npy" | "hdf5";

export interface CorpusEntry {
  id: string;
  kind: FileKind;
  /** The model file (or the .npy file). */
  main: Uint8Array;
  mainName: string;
  /** The weights file, for model.json entries. */
  weights?: Uint8Array;
  inputs: { shape: number[]; data: number[] }[];
}

export interface FuzzCase {
  index: number;
  entry: CorpusEntry;
  /** Which file was mutated. */
  target: "main" | "weights";
  mutations: string[];
  main: Uint8Array;
  weights?: Uint8Array;
}

export interface Outcome {
  /** "ok" (a result), "error" (a KeraslessError), or "bug" (anything else). */
  kind: "ok" | "error" | "bug";
  /** The error code, or for bugs the exception's constructor name and message. */
  detail: string;
  stack?: string;
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Randomness: every case has its own generator, derived from (seed, index).

export class Rng {
  private state: number;

  constructor(seed: number, index: number) {
    this.state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }

  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Corpus

export function loadCorpus(): CorpusEntry[] {
  const corpus: CorpusEntry[] = [];
  for (const suite of ["seed", "real-world", "keras3", "keras2"]) {
    for (const fixture of listFixtures(suite)) {
      const inputs = fixture.inputs.map((t) => ({ shape: t.shape, data: t.data }));
      for (const format of fixture.formats) {
        const main = new Uint8Array(readFileSync(join(fixture.dir, format.model)));
        const kind: FileKind = format.model.endsWith(".keras")
          ? "keras"
          : format.model.endsWith(".json")
            ? "json"
            : "h5";
        const weights =
          format.weights === undefined ? undefined : new Uint8Array(readFileSync(join(fixture.dir, format.weights)));
        corpus.push({ id: `${fixture.id}/${format.model}`, kind, main, mainName: format.model, weights, inputs });
      }
    }
  }
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".npy"))
        corpus.push({
          id: path.slice(FIXTURES.length),
          kind: "npy",
          main: new Uint8Array(readFileSync(path)),
          mainName: name,
          inputs: [],
        });
      // h5py files in layouts Keras does not write (chunked, compressed, compact, v2 headers): read whole.
      // They are few, so each is listed 10 times (about a tenth of all cases).
      else if (name.endsWith(".h5") && path.includes("/fixtures/hdf5/")) {
        const main = new Uint8Array(readFileSync(path));
        for (let i = 0; i < 10; i++)
          corpus.push({ id: path.slice(FIXTURES.length), kind: "hdf5", main, mainName: name, inputs: [] });
      }
    }
  };
  walk(FIXTURES.replace(/\/$/, ""));
  return corpus;
}

// ---------------------------------------------------------------------------------------------
// Mutations

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x30, 0x39];

function u8(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function truncate(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const cut = rng.chance(0.5) ? bytes.length - 1 - rng.int(Math.min(bytes.length, 64)) : rng.int(bytes.length);
  return bytes.slice(0, Math.max(0, cut));
}

function flipBits(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = u8(bytes);
  const n = 1 + rng.int(8);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}

function interestingBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = u8(bytes);
  const n = 1 + rng.int(4);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] = rng.pick(INTERESTING_BYTES);
  return out;
}

function chunkRange(rng: Rng, length: number): [number, number] {
  const size = 1 + rng.int(Math.max(1, Math.min(length, rng.chance(0.7) ? 64 : 4096)));
  const start = rng.int(Math.max(1, length - size));
  return [start, Math.min(length, start + size)];
}

function duplicateChunk(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const [a, b] = chunkRange(rng, bytes.length);
  const at = rng.int(bytes.length);
  const out = new Uint8Array(bytes.length + (b - a));
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(a, b), at);
  out.set(bytes.subarray(at), at + (b - a));
  return out;
}

function deleteChunk(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const [a, b] = chunkRange(rng, bytes.length);
  const out = new Uint8Array(bytes.length - (b - a));
  out.set(bytes.subarray(0, a));
  out.set(bytes.subarray(b), a);
  return out;
}

function overwriteChunk(rng: Rng, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return bytes;
  const [a, b] = chunkRange(rng, bytes.length);
  const out = u8(bytes);
  out.copyWithin(rng.int(bytes.length), a, b);
  return out;
}

/** A field of `width` bytes at `at` that holds a size, count, offset or version. */
interface Field {
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

function corruptField(rng: Rng, bytes: Uint8Array, fields: Field[]): [Uint8Array, string] {
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

/** Same-length text edits: digits and letters swapped in place (reaches configs inside HDF5 attributes). */
function textEdit(rng: Rng, bytes: Uint8Array): [Uint8Array, string] {
  const out = u8(bytes);
  const digits: number[] = [];
  for (let i = 0; i < bytes.length && digits.length < 20000; i++)
    if (bytes[i] >= 0x30 && bytes[i] <= 0x39 && bytes[i - 1] !== 0x2e) digits.push(i);
  if (digits.length === 0) return [flipBits(rng, bytes), "bit flips (no text)"];
  const at = rng.pick(digits);
  const replacement = rng.pick([0x30, 0x39, 0x2d, 0x20, 0x22, 0x7b, 0x5b]);
  out[at] = replacement;
  return [out, `text byte ${at}: '${String.fromCharCode(bytes[at])}' -> '${String.fromCharCode(replacement)}'`];
}

function spliceWith(rng: Rng, bytes: Uint8Array, corpus: CorpusEntry[]): [Uint8Array, string] {
  const other = rng.pick(corpus);
  const donor = rng.chance(0.5) || other.weights === undefined ? other.main : other.weights;
  const cut = rng.int(bytes.length + 1);
  const from = rng.int(donor.length + 1);
  const out = new Uint8Array(cut + donor.length - from);
  out.set(bytes.subarray(0, cut));
  out.set(donor.subarray(from), cut);
  return [out, `splice: first ${cut} bytes + ${other.id} from byte ${from}`];
}

// -- JSON-aware edits of model configs ------------------------------------------------------

const CLASS_NAMES = [
  "Dense",
  "LSTM",
  "GRU",
  "SimpleRNN",
  "Bidirectional",
  "TimeDistributed",
  "Lambda",
  "Embedding",
  "Reshape",
  "Concatenate",
  "Sequential",
  "Functional",
  "InputLayer",
  "Conv1D",
  "Masking",
  "__proto__",
  "constructor",
  "NoSuchLayer",
];
const HOSTILE_KEYS = ["__proto__", "constructor", "prototype"];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function jsonPaths(
  value: Json,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(path);
  if (out.length > 5000) return out;
  if (Array.isArray(value)) value.forEach((v, i) => jsonPaths(v, [...path, i], out));
  else if (value !== null && typeof value === "object")
    for (const k of Object.keys(value)) jsonPaths(value[k], [...path, k], out);
  return out;
}

function getAt(root: Json, path: (string | number)[]): Json {
  let v: Json = root;
  for (const p of path) v = (v as Record<string | number, Json>)[p];
  return v;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function nest(depth: number, inner: Json): string {
  return "[".repeat(depth) + JSON.stringify(inner) + "]".repeat(depth);
}

export function mutateJsonText(rng: Rng, text: string): [string, string] {
  try {
    return editJson(rng, JSON.parse(text) as Json, text);
  } catch {
    // Not JSON, or nested too deeply for these recursive helpers (an earlier edit nested it).
    return [text, "json edit skipped"];
  }
}

function editJson(rng: Rng, json: Json, text: string): [string, string] {
  const paths = jsonPaths(json);
  const path = rng.pick(paths);
  const current = getAt(json, path);
  const where = path.join(".");
  switch (rng.int(9)) {
    case 0: {
      const value = rng.pick([-1, 0, 1, 2 ** 31, 2 ** 53, 1e300, 1.5, -(2 ** 31), 1e9, 65536]);
      return [JSON.stringify(setAt(json, path, value)), `json ${where} = ${value}`];
    }
    case 1: {
      const value = rng.pick<Json>([null, true, "x", [], {}, [null], { class_name: "Dense", config: {} }, [1, 2, 3]]);
      return [JSON.stringify(setAt(json, path, value)), `json ${where} = ${JSON.stringify(value)}`];
    }
    case 2:
      if (path.length === 0) return [text, "json delete skipped"];
      return [JSON.stringify(setAt(json, path, undefined)), `json delete ${where}`];
    case 3: {
      const classPaths = paths.filter((p) => p[p.length - 1] === "class_name");
      if (classPaths.length === 0) return [text, "json class edit skipped"];
      const target = rng.pick(classPaths);
      const name = rng.pick(CLASS_NAMES);
      return [JSON.stringify(setAt(json, target, name)), `json ${target.join(".")} = "${name}"`];
    }
    case 4: {
      const objects = paths.filter((p) => {
        const v = getAt(json, p);
        return v !== null && typeof v === "object" && !Array.isArray(v);
      });
      const target = rng.pick(objects.length > 0 ? objects : [[]]);
      const key = rng.pick(HOSTILE_KEYS);
      const text2 = JSON.stringify(json);
      const serialized = JSON.stringify(getAt(json, target));
      if (serialized === undefined || !serialized.startsWith("{")) return [text, "json key skipped"];
      const injected = `{"${key}": {"polluted": true, "class_name": "Dense", "units": 3}${serialized.length > 2 ? "," : ""}${serialized.slice(1)}`;
      return [text2.replace(serialized, injected), `json ${target.join(".")} gets key "${key}"`];
    }
    case 5: {
      const depth = rng.pick([100, 600, 5000, 20000]);
      const serialized = JSON.stringify(current);
      const whole = JSON.stringify(json);
      if (serialized === undefined || path.length === 0) return [nest(depth, json), `json nested ${depth} deep`];
      return [whole.replace(serialized, nest(depth, current)), `json ${where} nested ${depth} deep`];
    }
    case 6: {
      if (!Array.isArray(current) || current.length === 0)
        return [JSON.stringify(setAt(json, path, [current, current])), `json ${where} doubled`];
      current.push(...current.slice(0, 1 + rng.int(current.length)));
      return [JSON.stringify(json), `json ${where} items duplicated`];
    }
    case 7: {
      // Give two layers the same name, or point a reference at another layer.
      const names = paths.filter((p) => p[p.length - 1] === "name" && typeof getAt(json, p) === "string");
      if (names.length < 2) return [text, "json rename skipped"];
      const a = rng.pick(names);
      const b = rng.pick(names);
      return [JSON.stringify(setAt(json, a, getAt(json, b))), `json ${a.join(".")} = ${b.join(".")}`];
    }
    default: {
      const value = rng.pick<Json>([[null, null, null], [0, 0, 0], [1e6, 1e6], [-1, 3], [], [null]]);
      const shapes = paths.filter((p) => /shape$/.test(String(p[p.length - 1])));
      const target = shapes.length > 0 ? rng.pick(shapes) : path;
      return [JSON.stringify(setAt(json, target, value)), `json ${target.join(".")} = ${JSON.stringify(value)}`];
    }
  }
}

function mutateKerasConfig(rng: Rng, bytes: Uint8Array): [Uint8Array, string] {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes);
  } catch {
    return [flipBits(rng, bytes), "bit flips (zip unreadable)"];
  }
  const name = rng.chance(0.85) ? "config.json" : "metadata.json";
  const text = new TextDecoder().decode(members[name] ?? new Uint8Array(0));
  const [edited, what] = mutateJsonText(rng, text);
  members[name] = new TextEncoder().encode(edited);
  return [zipSync(members, { level: 0 }), `${name}: ${what}`];
}

function applyOne(
  rng: Rng,
  bytes: Uint8Array,
  kind: FileKind | "weights",
  corpus: CorpusEntry[],
): [Uint8Array, string] {
  const isH5 = kind === "h5" || kind === "weights" || kind === "hdf5";
  const roll = rng.int(12);
  switch (roll) {
    case 0:
      return [truncate(rng, bytes), "truncate"];
    case 1:
      return [flipBits(rng, bytes), "bit flips"];
    case 2:
      return [interestingBytes(rng, bytes), "interesting bytes"];
    case 3:
      return [duplicateChunk(rng, bytes), "duplicate chunk"];
    case 4:
      return [deleteChunk(rng, bytes), "delete chunk"];
    case 5:
      return [overwriteChunk(rng, bytes), "overwrite chunk"];
    case 6:
      return spliceWith(rng, bytes, corpus);
    case 7:
      return textEdit(rng, bytes);
    default: {
      // Structure-aware edits, for the file's format.
      if (kind === "json") {
        const [text, what] = mutateJsonText(rng, new TextDecoder().decode(bytes));
        return [new TextEncoder().encode(text), what];
      }
      if (kind === "keras") {
        if (rng.chance(0.5)) return mutateKerasConfig(rng, bytes);
        // Corrupt the zip headers, or the HDF5 file inside it (kept stored, so the zip stays valid).
        if (rng.chance(0.5)) return corruptField(rng, bytes, zipFields(bytes));
        try {
          const members: Record<string, Uint8Array> = unzipSync(bytes);
          const inner = members["model.weights.h5"];
          if (inner !== undefined) {
            const [mutated, what] = corruptField(rng, inner, hdf5Fields(inner));
            members["model.weights.h5"] = mutated;
            return [zipSync(members, { level: 0 }), `model.weights.h5: ${what}`];
          }
        } catch {
          // fall through
        }
        return corruptField(rng, bytes, zipFields(bytes));
      }
      if (isH5) return corruptField(rng, bytes, hdf5Fields(bytes));
      if (rng.chance(0.5)) return corruptField(rng, bytes, npyFields(bytes));
      return textEdit(rng, bytes);
    }
  }
}

export function makeCase(seed: number, index: number, corpus: CorpusEntry[]): FuzzCase {
  const rng = new Rng(seed, index);
  const entry = rng.pick(corpus);
  const target = entry.weights !== undefined && rng.chance(0.5) ? "weights" : "main";
  let bytes = target === "weights" ? entry.weights! : entry.main;
  const kind = target === "weights" ? "weights" : entry.kind;
  const mutations: string[] = [];
  const n = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
  for (let i = 0; i < n; i++) {
    const [next, what] = applyOne(rng, bytes, kind, corpus);
    bytes = next;
    mutations.push(what);
  }
  return {
    index,
    entry,
    target,
    mutations,
    main: target === "main" ? bytes : entry.main,
    weights: target === "weights" ? bytes : entry.weights,
  };
}

// ---------------------------------------------------------------------------------------------
// Running a case

/** What must hold after every case, whatever the file: Object.prototype untouched. */
export function prototypeIntact(): boolean {
  return (
    Object.getOwnPropertyNames(Object.prototype).length === PROTOTYPE_KEYS &&
    !("polluted" in {}) &&
    Object.getPrototypeOf({}) === Object.prototype
  );
}
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).length;

export function runCase(c: FuzzCase): Outcome {
  const start = performance.now();
  try {
    if (c.entry.kind === "npy") {
      parseNpy(c.main, c.entry.mainName);
    } else if (c.entry.kind === "hdf5") {
      readAllOf(openHdf5(c.main, c.entry.mainName));
    } else {
      const model = loadModelFromBytes(
        { name: c.entry.mainName, bytes: c.main },
        c.weights === undefined ? undefined : { name: "model.weights.h5", bytes: c.weights },
      );
      model.summary();
      model.getWeights();
      model.predict(c.entry.inputs.map((t) => ({ shape: t.shape, data: t.data })));
    }
    return finish("ok", "result");
  } catch (e) {
    if (e instanceof KeraslessError) {
      if (/[\n\r\u2028\u2029]/.test(e.message))
        return finish("bug", `KeraslessError message spans lines: ${JSON.stringify(e.message.slice(0, 300))}`);
      return finish("error", e.code);
    }
    const name = e instanceof Error ? e.constructor.name : typeof e;
    return finish(
      "bug",
      `${name}: ${e instanceof Error ? e.message : String(e)}`,
      e instanceof Error ? e.stack : undefined,
    );
  }

  function finish(kind: Outcome["kind"], detail: string, stack?: string): Outcome {
    const ms = performance.now() - start;
    if (!prototypeIntact()) return { kind: "bug", detail: "Object.prototype was modified", ms };
    return { kind, detail, stack, ms };
  }
}

/** Reads every attribute and dataset reachable from `root`, visiting at most 2000 objects. */
function readAllOf(root: H5Group): void {
  const queue = [root];
  for (let visits = 0; queue.length > 0 && visits < 2000; visits++) {
    const group = queue.shift()!;
    for (const name of group.attributeNames()) group.attr(name);
    for (const key of group.keys()) {
      if (group.isGroup(key)) queue.push(group.group(key));
      else group.dataset(key).readFloat32();
    }
  }
}

export function describeCase(c: FuzzCase): string {
  return `#${c.index} ${c.entry.id}${c.target === "weights" ? " (weights)" : ""}: ${c.mutations.join("; ")}`;
}
