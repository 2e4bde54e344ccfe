/**
 * The structure-aware fuzzer: each case picks one attack class (test/fuzz/structures/) and draws
 * its sizes from the case's seeded generator, from honest (a handful) to hostile (tens of
 * thousands, shared by every owner, nested, zero-sized, 2^32-counted). A case must end in the
 * right result or a one-line KeraslessError; driver.ts also holds it to 2 s of CPU time and the
 * memory limits. Case `index` of seed `seed` is always the same file
 * (`npm run fuzz -- --structured --seed S --replay I`).
 */
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { KeraslessError } from "../../src/errors.js";
import { openHdf5 } from "../../src/io/hdf5/index.js";
import { loadModelFromBytes } from "../../src/load.js";
import { FIXTURES } from "../helpers.js";
import type { Outcome } from "./engine.js";
import { Rng } from "./rng.js";
import * as archives from "./structures/archives.js";
import * as h5 from "./structures/hdf5.js";
import * as onnx from "./structures/onnx.js";
import { sharedKernelFile } from "./structures/weights.js";

export interface StructuredCase {
  index: number;
  /** The attack class and its sizes. */
  description: string;
  bytes: Uint8Array;
  run(): unknown;
  /** The result an honest reader gives when it does not refuse the file (undefined: any). */
  expected?: unknown;
}

const seedKeras = (): Uint8Array => new Uint8Array(readFileSync(`${FIXTURES}seed/model.keras`));

/** 2^(0..maxLog2), log-uniform: most cases small, some near the largest size. */
function size(rng: Rng, maxLog2: number): number {
  return Math.max(1, Math.floor(2 ** (rng.next() * maxLog2)));
}

function hdf5Case(attack: h5.Hdf5Attack, expected?: unknown): Omit<StructuredCase, "index" | "description"> {
  return { bytes: attack.bytes, run: () => attack.exercise(openHdf5(attack.bytes, "attack.h5")), expected };
}

type Generator = (rng: Rng) => [description: string, Omit<StructuredCase, "index" | "description">];

const GENERATORS: Generator[] = [
  (rng) => {
    const count = rng.chance(0.5) ? 2 ** 32 : size(rng, 20);
    return [`HDF5 0-byte strings x${count}`, hdf5Case(h5.zeroSizeStrings(count))];
  },
  (rng) => {
    const n = size(rng, 12);
    return [`HDF5 ${n} groups sharing one symbol table`, hdf5Case(h5.sharedSymbolTable(n), n * n)];
  },
  (rng) => {
    const n = size(rng, 13);
    return [`HDF5 ${n} nested v2 object headers`, hdf5Case(h5.nestedHeaders(n), n)];
  },
  (rng) => {
    const chunks = size(rng, 12);
    const bytes = size(rng, 17);
    return [
      `HDF5 ${chunks} attributes sharing a ${bytes}-byte heap string`,
      hdf5Case(h5.sharedHeapString(chunks, bytes), chunks),
    ];
  },
  (rng) => {
    const n = size(rng, 15);
    const attributes = 1 + rng.int(6);
    const expected = [...Array(attributes).fill(0), ...Array(attributes).fill(n + 1)];
    return [
      `HDF5 ${attributes}+${attributes} strings padded ${n} deep`,
      hdf5Case(h5.paddedStrings(n, attributes), expected),
    ];
  },
  (rng) => {
    const n = size(rng, 12);
    return [`HDF5 ${n} absolute soft links`, hdf5Case(h5.absoluteSoftLinks(n), 2 * n)];
  },
  (rng) => {
    const groups = size(rng, 11);
    const members = size(rng, 11);
    const attack = h5.sharedBTreeNodes(groups, members);
    return [`HDF5 ${groups} B-trees sharing a leaf of ${members}`, hdf5Case(attack, groups * members)];
  },
  (rng) => {
    const dims = Array.from({ length: 1 + rng.int(4) }, () => rng.pick([0, 1, 2, 2 ** 20, 2 ** 32, 2 ** 52]));
    const count = dims.reduce((a, b) => a * b, 1);
    return [`HDF5 dataspace [${dims.join(", ")}] over 8 bytes`, hdf5Case(h5.claimedShape(dims), count)];
  },
  (rng) => {
    const datasets = size(rng, 8);
    const chunks = size(rng, 6);
    const values = size(rng, 20);
    const attack = h5.sharedChunkTree(datasets, chunks, values);
    const description = `HDF5 ${datasets} datasets sharing ${chunks} chunks of ${values} zeros`;
    return [description, hdf5Case(attack, datasets * chunks * values)];
  },
  (rng) => {
    const layers = size(rng, 6);
    const width = size(rng, 11);
    const repeat = rng.chance(0.3);
    const bytes = sharedKernelFile(layers, width, repeat ? ["kernel", "kernel"] : ["kernel"]);
    const name = "shared.h5";
    const description = `legacy .h5: ${layers} Dense(${width}) sharing one kernel${repeat ? ", listed twice" : ""}`;
    return [description, { bytes, run: () => loadModelFromBytes({ name, bytes }).summary() }];
  },
  (rng) => {
    const inner = rng.pick([
      () => h5.sharedSymbolTable(size(rng, 11)),
      () => h5.nestedHeaders(size(rng, 12)),
      () => h5.sharedHeapString(size(rng, 11), size(rng, 16)),
    ])();
    const attack = archives.kerasWithWeights(seedKeras(), inner.bytes);
    return [".keras wrapping an adversarial model.weights.h5", { bytes: attack.bytes, run: attack.run }];
  },
  (rng) => {
    const n = size(rng, 15);
    const attack = archives.manyMembers(seedKeras(), n);
    return [`.keras with ${n} extra members`, { bytes: attack.bytes, run: attack.run }];
  },
  (rng) => {
    const attack = rng.chance(0.5)
      ? archives.overlappingMembers(seedKeras())
      : archives.claimedMemberSize(seedKeras(), rng.pick([0, 1, 2 ** 31, 2 ** 32 - 1]));
    return [".keras with overlapping or mis-sized members", { bytes: attack.bytes, run: attack.run }];
  },
  (rng) => {
    const dims = Array.from({ length: size(rng, rng.chance(0.2) ? 14 : 3) }, () =>
      rng.pick([0, 1, 3, 2 ** 31, 2 ** 53 - 1]),
    );
    const count = dims.reduce((a, b) => a * b, 1);
    const dataBytes = rng.chance(0.5) && count <= 2 ** 16 ? 4 * count : rng.int(64);
    const attack = archives.npyShape(dims, dataBytes);
    const described = dims.length > 6 ? `${dims.length} dims` : dims.join(", ");
    return [
      `.npy shape (${described}) over ${dataBytes} bytes`,
      { bytes: attack.bytes, run: attack.run, expected: count },
    ];
  },
  (rng) => {
    const dims = Array.from({ length: 1 + rng.int(4) }, () => rng.pick([0, 1, 3, 2 ** 31, 2 ** 53 - 1]));
    const count = dims.reduce((a, b) => a * b, 1);
    const dataBytes = rng.chance(0.5) && count <= 2 ** 16 ? 4 * count : rng.int(64);
    const attack = onnx.claimedDims(dims, dataBytes);
    return [`ONNX initializer [${dims.join(", ")}] over ${dataBytes} bytes`, { ...attack, expected: count }];
  },
  (rng) => {
    const claim = rng.pick([1, 2 ** 31 - 1, 2 ** 32, 2 ** 53, size(rng, 30)]);
    return [`ONNX packed dims claiming ${claim} bytes`, onnx.packedClaim(claim)];
  },
  (rng) => {
    const depth = size(rng, 10);
    return [`ONNX subgraphs nested ${depth} deep`, onnx.nestedGraphs(depth)];
  },
  (rng) => {
    const depth = 1 + rng.int(4);
    const trips = rng.pick([0, 1, 3, 2 ** 31, 2 ** 62]);
    const total = trips ** depth;
    return [
      `ONNX Loops nested ${depth} deep, M = ${trips} each`,
      { ...onnx.nestedLoops(depth, trips), expected: total <= 2 ** 20 ? [total] : undefined },
    ];
  },
  (rng) => {
    const limit = rng.pick([1, 3, 2 ** 20, 2 ** 40]);
    const trips = rng.pick([0, 2, 2 ** 31, 2 ** 62]);
    const count = Math.min(limit, trips);
    return [
      `ONNX while Loop claiming M = ${trips}, ending after ${limit} iterations`,
      { ...onnx.whileLoop(limit, trips), expected: count <= 2 ** 16 ? count : undefined },
    ];
  },
  (rng) => {
    const count = size(rng, 10);
    const fileBytes = rng.chance(0.5) ? 4 * count : size(rng, 16);
    const offset = rng.pick(["0", "4", String(fileBytes), "4294967296", "9007199254740991", "-1", "1e3", ""]);
    const length = rng.pick([String(4 * count), "0", String(fileBytes), "9007199254740991", "0x10"]);
    const attack = onnx.externalSpan(count, offset, length, fileBytes);
    return [
      `ONNX external data of ${count} floats at offset "${offset}", length "${length}" of ${fileBytes} bytes`,
      { ...attack, expected: count },
    ];
  },
  (rng) => {
    const location = rng.pick([
      "w.bin",
      "./w.bin",
      "../secret.bin",
      "sub/../../secret.bin",
      "/etc/passwd",
      "C:\\secret.bin",
      "link.bin",
      ".",
      "..",
      "w.bin\0x",
      "missing.bin",
    ]);
    return [
      `ONNX external data at location ${JSON.stringify(location)}`,
      { ...onnx.externalLocation(location), expected: 2 },
    ];
  },
];

export function makeStructuredCase(seed: number, index: number): StructuredCase {
  const rng = new Rng(seed, index);
  const [description, body] = rng.pick(GENERATORS)(rng);
  return { index, description, ...body };
}

export function describeStructuredCase(c: StructuredCase): string {
  return `#${c.index} ${c.description} (${c.bytes.length} bytes)`;
}

export async function runStructuredCase(c: StructuredCase): Promise<Outcome> {
  const start = performance.now();
  const finish = (kind: Outcome["kind"], detail: string, stack?: string): Outcome => ({
    kind,
    detail,
    stack,
    ms: performance.now() - start,
  });
  try {
    const result = await c.run();
    if (c.expected !== undefined && !isDeepStrictEqual(result, c.expected))
      return finish(
        "bug",
        `wrong result: ${JSON.stringify(result)?.slice(0, 200)}, expected ${JSON.stringify(c.expected)?.slice(0, 200)}`,
      );
    return finish("ok", "result");
  } catch (e) {
    if (e instanceof KeraslessError) {
      if (/[\n\r\u2028\u2029]/.test(e.message)) return finish("bug", `KeraslessError message spans lines`);
      return finish("error", e.code);
    }
    const name = e instanceof Error ? e.constructor.name : typeof e;
    return finish(
      "bug",
      `${name}: ${e instanceof Error ? e.message : String(e)}`,
      e instanceof Error ? e.stack : undefined,
    );
  }
}
