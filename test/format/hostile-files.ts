/**
 * Builders of broken and hostile model files for the hostile corpus (hostile.test.ts): the seed
 * model in every format, zip bombs, bit flips, deep nesting, prototype-polluting keys.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Deflate, unzipSync, zipSync } from "fflate";
import { FIXTURES } from "../helpers.js";
import { H5Builder, VLEN_STRING, attribute, vlenRefs } from "../io/hdf5-builder.js";

export const seedDir = `${FIXTURES}seed/`;
export const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));
export const seed = {
  keras: read(`${seedDir}model.keras`),
  h5: read(`${seedDir}model.h5`),
  json: readFileSync(`${seedDir}model.json`, "utf8"),
  weights: read(`${seedDir}model.weights.h5`),
};
export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
export const SEED_INPUT = {
  shape: [1, 4, 3],
  data: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]),
};

/** A .keras file with this config.json (and the seed's weights). */
export function kerasWith(config: string): Uint8Array {
  const members = unzipSync(seed.keras);
  return zipSync({ ...members, "config.json": encode(config) }, { level: 0 });
}

/** A legacy .h5 file whose model_config attribute is `config` (weights group empty). */
export function legacyH5With(config: string): Uint8Array {
  const b = new H5Builder();
  const text = encode(config);
  const heap = b.globalHeap([text, encode("3.15.1")]);
  const weights = b.group([], [attribute("layer_names", VLEN_STRING, [0], [])]);
  const root = b.group(
    [["model_weights", weights]],
    [
      attribute("model_config", VLEN_STRING, [], vlenRefs([[text.length, heap, 1]])),
      attribute("keras_version", VLEN_STRING, [], vlenRefs([[6, heap, 2]])),
    ],
  );
  return b.finish(root);
}

/** Deflate stream of `megabytes` MiB of zeros (one sync-flushed 1 MiB block, repeated). */
export function zerosDeflate(megabytes: number): Uint8Array {
  let block = new Uint8Array(0);
  const d = new Deflate({ level: 9 }, (c) => {
    const joined = new Uint8Array(block.length + c.length);
    joined.set(block);
    joined.set(c, block.length);
    block = joined;
  });
  d.push(new Uint8Array(1024 * 1024));
  d.flush(true);
  const out = new Uint8Array(block.length * megabytes + 5);
  for (let i = 0; i < megabytes; i++) out.set(block, i * block.length);
  out.set([0x01, 0x00, 0x00, 0xff, 0xff], block.length * megabytes);
  return out;
}

/** A .keras whose model.weights.h5 member is a deflated bomb declaring `declared` bytes. */
export function zipBomb(declared: number): Uint8Array {
  const stream = zerosDeflate(1024);
  const name = encode("model.weights.h5");
  const u16 = (v: number) => [v & 255, (v >> 8) & 255];
  const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
  const local = [
    0x50,
    0x4b,
    3,
    4,
    ...u16(20),
    0,
    0,
    ...u16(8),
    0,
    0,
    0,
    0,
    ...u32(0),
    ...u32(stream.length),
    ...u32(declared),
    ...u16(name.length),
    0,
    0,
    ...name,
  ];
  const central = [
    0x50,
    0x4b,
    1,
    2,
    ...u16(20),
    ...u16(20),
    0,
    0,
    ...u16(8),
    0,
    0,
    0,
    0,
    ...u32(0),
    ...u32(stream.length),
    ...u32(declared),
    ...u16(name.length),
    ...new Array(12).fill(0),
    ...u32(0),
    ...name,
  ];
  const at = local.length + stream.length;
  const end = [0x50, 0x4b, 5, 6, 0, 0, 0, 0, ...u16(1), ...u16(1), ...u32(central.length), ...u32(at), 0, 0];
  const out = new Uint8Array(at + central.length + end.length);
  out.set(local);
  out.set(stream, local.length);
  out.set(central, at);
  out.set(end, at + central.length);
  return out;
}

export function seededBytes(n: number, seedValue: number): Uint8Array {
  let s = seedValue >>> 0;
  return Uint8Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
}

export function flipBits(bytes: Uint8Array, count: number, seedValue: number): Uint8Array {
  const out = bytes.slice();
  const r = seededBytes(count * 4, seedValue);
  for (let i = 0; i < count; i++)
    out[((r[4 * i] << 16) | (r[4 * i + 1] << 8) | r[4 * i + 2]) % out.length] ^= 1 << (r[4 * i + 3] % 8);
  return out;
}

export const nested = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;
export const deepConfig = (depth: number): string => {
  const json = JSON.parse(seed.json);
  json.config.layers[1].config.deep = "@@";
  return JSON.stringify(json).replace('"@@"', nested(depth));
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit arbitrary config JSON
export const withJson = (edit: (json: any) => void): string => {
  const json = JSON.parse(seed.json);
  edit(json);
  return JSON.stringify(json);
};
export const hostileKeys = (): string =>
  // Raw text: JSON.stringify cannot write a "__proto__" key from an object literal.
  seed.json
    .replace(
      '{"module": "keras.layers", "class_name": "LSTM", "config": {',
      '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, ' +
        '"module": "keras.layers", "class_name": "LSTM", ' +
        '"config": {"__proto__": {"units": 99, "polluted": 3}, "prototype": {"polluted": 4}, ',
    )
    .replace(
      '"class_name": "Sequential", "config": {',
      '"class_name": "Sequential", "__proto__": {"polluted": 5}, "config": {"__proto__": {"layers": []}, ',
    );

/** `depth` Sequential models, each the only layer of the next. */
export function nestedModels(depth: number): string {
  let model: unknown = JSON.parse(seed.json);
  for (let i = 0; i < depth; i++) {
    model = {
      module: "keras",
      class_name: "Sequential",
      config: {
        name: `outer_${i}`,
        layers: [
          { module: "keras.layers", class_name: "InputLayer", config: { batch_shape: [null, 4, 3], name: `in_${i}` } },
          model,
        ],
      },
    };
  }
  return JSON.stringify(model);
}

export function keras2Lambda(): string {
  const json = JSON.parse(readFileSync(`${FIXTURES}keras2/lstm_default/model.json`, "utf8"));
  json.config.layers.splice(2, 0, {
    class_name: "Lambda",
    config: {
      name: "marshalled",
      trainable: true,
      dtype: "float32",
      function: [
        "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMIAAAAdABkAYMBUwApAk7aAmxzKQHaBGV2YWwpAdoBeKkAcgQAAAD6CDxzdHJpbmc+" +
          "2gg8bGFtYmRhPgEAAADzAAAAAA==",
        null,
        null,
      ],
      function_type: "lambda",
      module: "__main__",
      output_shape: null,
      output_shape_type: "raw",
      output_shape_module: null,
      arguments: {},
    },
  });
  return JSON.stringify(json);
}

export const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
export const prototypeIntact = (): void => {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
};
