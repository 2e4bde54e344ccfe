/**
 * The zip reader: real .keras files read as before; zip bombs (honest, lying, overlapping and
 * nested) end in an error quickly and with little memory; every directory field is checked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Deflate, unzipSync, zipSync } from "fflate";
import { KeraslessError } from "../../src/errors.js";
import { crc32, readZip } from "../../src/io/zip.js";
import { loadModelFromBytes } from "../../src/load.js";
import { FIXTURES } from "../helpers.js";

const WANT = (name: string): boolean =>
  name === "config.json" || name === "metadata.json" || name === "model.weights.h5";
const seedKeras = new Uint8Array(readFileSync(`${FIXTURES}seed/model.keras`));

function rejects(fn: () => unknown, code: string, pattern: RegExp): KeraslessError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KeraslessError, `expected a KeraslessError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/** A raw deflate stream of `megabytes` MiB of zeros, built from one 1 MiB block repeated (about 1 KiB per MiB). */
function zerosDeflate(megabytes: number): Uint8Array {
  let block = new Uint8Array(0);
  const deflater = new Deflate({ level: 9 }, (chunk) => {
    const joined = new Uint8Array(block.length + chunk.length);
    joined.set(block);
    joined.set(chunk, block.length);
    block = joined;
  });
  deflater.push(new Uint8Array(1024 * 1024));
  deflater.flush(true); // a sync flush: byte-aligned and not final, so the block can be repeated
  const out = new Uint8Array(block.length * megabytes + 5);
  for (let i = 0; i < megabytes; i++) out.set(block, i * block.length);
  out.set([0x01, 0x00, 0x00, 0xff, 0xff], block.length * megabytes); // final empty stored block
  return out;
}

interface Member {
  name: string;
  data: Uint8Array;
  method: 0 | 8;
  size: number;
  crc: number;
  /** Where the member's data starts; members may share data (overlapping bomb). */
  dataOffset?: number;
}

/** Writes a zip whose directory says exactly what the test wants (sizes, CRCs, shared data). */
function writeZip(members: Member[]): Uint8Array {
  const enc = new TextEncoder();
  const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const locals: number[] = [];
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = enc.encode(m.name);
    const header = [
      0x50,
      0x4b,
      0x03,
      0x04,
      ...u16(20),
      ...u16(0),
      ...u16(m.method),
      0,
      0,
      0,
      0,
      ...u32(m.crc),
      ...u32(m.data.length),
      ...u32(m.size),
      ...u16(name.length),
      ...u16(0),
      ...name,
    ];
    locals.push(offset);
    blobs.push(Uint8Array.from(header), m.data);
    offset += header.length + m.data.length;
  }
  const directoryOffset = offset;
  const central: number[] = [];
  members.forEach((m, i) => {
    const name = enc.encode(m.name);
    central.push(
      0x50,
      0x4b,
      0x01,
      0x02,
      ...u16(20),
      ...u16(20),
      ...u16(0),
      ...u16(m.method),
      0,
      0,
      0,
      0,
      ...u32(m.crc),
      ...u32(m.data.length),
      ...u32(m.size),
    );
    central.push(
      ...u16(name.length),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(0),
      ...u32(m.dataOffset ?? locals[i]),
      ...name,
    );
  });
  const end = [
    0x50,
    0x4b,
    0x05,
    0x06,
    0,
    0,
    0,
    0,
    ...u16(members.length),
    ...u16(members.length),
    ...u32(central.length),
    ...u32(directoryOffset),
    0,
    0,
  ];
  const total = offset + central.length + end.length;
  const out = new Uint8Array(total);
  let p = 0;
  for (const blob of blobs) {
    out.set(blob, p);
    p += blob.length;
  }
  out.set(central, p);
  out.set(end, p + central.length);
  return out;
}

test("members of a real .keras file read exactly as fflate's unzipSync reads them", () => {
  const mine = readZip(seedKeras, "model.keras", WANT);
  const theirs = unzipSync(seedKeras);
  assert.deepEqual([...mine.keys()].sort(), ["config.json", "metadata.json", "model.weights.h5"]);
  for (const [name, data] of mine) assert.deepEqual(data, theirs[name], name);
});

test("a deflated re-zip of a model loads and predicts like the stored original", () => {
  const members = unzipSync(seedKeras);
  const deflated = zipSync(members, { level: 9 });
  const input = {
    shape: [1, 4, 3],
    data: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]),
  };
  const a = loadModelFromBytes({ name: "stored.keras", bytes: seedKeras }).predict(input);
  const b = loadModelFromBytes({ name: "deflated.keras", bytes: deflated }).predict(input);
  assert.deepEqual([...b[0].data], [...a[0].data]);
});

test("an honest zip bomb (1 GiB of zeros, declared) is refused before inflating: E_LIMIT, fast, little memory", () => {
  const stream = zerosDeflate(1024);
  assert.ok(stream.length < 1.2 * 1024 * 1024, `bomb is ${stream.length} bytes`);
  const bomb = writeZip([{ name: "model.weights.h5", data: stream, method: 8, size: 1024 * 1024 * 1024 - 1, crc: 0 }]);
  const memoryBefore = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  rejects(
    () => readZip(bomb, "bomb.keras", WANT),
    "E_LIMIT",
    new RegExp(
      /^bomb\.keras: the wanted members decompress to more than 2\d{7} bytes /.source +
        /\("model\.weights\.h5" alone declares 1073741823\)/.source,
    ),
  );
  assert.ok(performance.now() - start < 1000, "took too long");
  assert.ok(process.memoryUsage().arrayBuffers - memoryBefore < 16 * 1024 * 1024);
});

test("a lying zip bomb (1 GiB of zeros declared as 1 KiB) stops right after the declared size", () => {
  const bomb = writeZip([{ name: "config.json", data: zerosDeflate(1024), method: 8, size: 1024, crc: 0 }]);
  const memoryBefore = process.memoryUsage().arrayBuffers;
  const start = performance.now();
  rejects(
    () => readZip(bomb, "liar.keras", WANT),
    "E_ZIP",
    /"config\.json" \(local header at byte 0\) inflates to more than its declared 1024 bytes/,
  );
  const ms = performance.now() - start;
  // Inflating all of it takes seconds (6.6 s measured): stopping early is what this checks.
  assert.ok(ms < 1000, `took ${ms} ms`);
  assert.ok(process.memoryUsage().arrayBuffers - memoryBefore < 16 * 1024 * 1024);
});

test("overlapping members (one compressed kernel referenced by every entry) count against the cap together", () => {
  // Three wanted names, each declaring 8 MiB (24 MiB together, over the 16 MiB default cap), all
  // pointing at the same local header and compressed data.
  const shared = writeZip(
    ["config.json", "metadata.json", "model.weights.h5"].map((name) => ({
      name,
      data: zerosDeflate(8),
      method: 8 as const,
      size: 8 * 1024 * 1024,
      crc: 0,
      dataOffset: 0,
    })),
  );
  rejects(() => readZip(shared, "overlap.keras", WANT), "E_LIMIT", /decompress to more than 16777216 bytes/);
});

test("a 42.zip-style nested archive is never opened recursively: the inner zip is not an HDF5 file", () => {
  const inner = writeZip([
    { name: "model.weights.h5", data: zerosDeflate(64), method: 8, size: 64 * 1024 * 1024, crc: 0 },
  ]);
  let nested = inner;
  for (let level = 0; level < 3; level++) nested = zipSync({ "inner.zip": nested, "x.zip": nested }, { level: 9 });
  const outer = zipSync(
    { "config.json": unzipSync(seedKeras)["config.json"], "model.weights.h5": nested },
    { level: 9 },
  );
  const start = performance.now();
  rejects(
    () => loadModelFromBytes({ name: "42.keras", bytes: outer }),
    "E_HDF5",
    /^42\.keras:model\.weights\.h5: not an HDF5 file/,
  );
  assert.ok(performance.now() - start < 500);
});

test("the cap is configurable per load", () => {
  const deflated = zipSync(unzipSync(seedKeras), { level: 9 });
  rejects(
    () => loadModelFromBytes({ name: "small-cap.keras", bytes: deflated }, undefined, { maxDecompressedBytes: 1000 }),
    "E_LIMIT",
    /more than 1000 bytes/,
  );
  const bomb = writeZip([{ name: "config.json", data: zerosDeflate(32), method: 8, size: 32 * 1024 * 1024, crc: 0 }]);
  // Raising the cap lets the honest 32 MiB member inflate (then it is not a valid config).
  rejects(
    () => readZip(bomb, "raised.keras", WANT, { maxDecompressedBytes: 64 * 1024 * 1024 }),
    "E_ZIP",
    /does not match its CRC-32/,
  );
});

test("directory fields are checked against the bytes present", () => {
  const good = writeZip([
    {
      name: "config.json",
      data: new TextEncoder().encode("{}"),
      method: 0,
      size: 2,
      crc: crc32(new TextEncoder().encode("{}")),
    },
  ]);
  assert.equal(new TextDecoder().decode(readZip(good, "good.zip", WANT).get("config.json")), "{}");
  const eocd = good.length - 22;
  const central = eocd - 57; // 46-byte record + the 11-byte name
  const cases: [string, (z: Uint8Array, v: DataView) => void, string, RegExp][] = [
    [
      "entry count beyond the directory",
      (_, v) => (v.setUint16(eocd + 8, 65000, true), v.setUint16(eocd + 10, 65000, true)),
      "E_ZIP",
      /claims 65000 entries, but its \d+-byte central directory holds at most 1/,
    ],
    [
      "directory past its end",
      (_, v) => v.setUint32(eocd + 16, 0x7fffffff, true),
      "E_ZIP",
      /the central directory \(\d+ bytes at byte 2147483647\) runs past the end-of-directory record/,
    ],
    ["split archive", (_, v) => v.setUint16(eocd + 4, 1, true), "E_UNSUPPORTED", /multi-part/],
    [
      "local header offset",
      (_, v) => v.setUint32(central + 42, 999999, true),
      "E_ZIP",
      /local header at byte 999999\): no local file header there/,
    ],
    ["compressed size", (_, v) => v.setUint32(central + 20, 9999, true), "E_ZIP", /9999 compressed bytes run past/],
    ["crc", (z) => (z[central + 16] ^= 1), "E_ZIP", /does not match its CRC-32/],
    ["method", (z) => ((z[8] = 99), (z[central + 10] = 99)), "E_UNSUPPORTED", /compression method 99/],
    ["encrypted", (z) => (z[central + 8] = 1), "E_UNSUPPORTED", /is encrypted/],
    ["local name differs", (z) => (z[30] = 0x43), "E_ZIP", /the local header names a different file/],
    ["truncated", () => undefined, "E_ZIP", /end-of-central-directory record is missing/],
  ];
  for (const [what, patch, code, pattern] of cases) {
    const z = what === "truncated" ? good.slice(0, good.length - 5) : good.slice();
    patch(z, new DataView(z.buffer));
    rejects(() => readZip(z, "bad.zip", WANT), code, pattern);
  }
  const twice = writeZip([
    { name: "config.json", data: new Uint8Array(0), method: 0, size: 0, crc: 0 },
    { name: "config.json", data: new Uint8Array(0), method: 0, size: 0, crc: 0 },
  ]);
  rejects(() => readZip(twice, "twice.zip", WANT), "E_ZIP", /two members named "config\.json"/);
});

test("crc32 gives the standard check value and the CRC fflate records, at every length around its 8-byte steps", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  let seed = 7;
  for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 65537]) {
    const data = new Uint8Array(length).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    const archive = zipSync({ "member.bin": data }, { level: 0 });
    // A stored member's CRC-32 sits at byte 14 of its local header (the first record).
    const recorded = new DataView(archive.buffer, archive.byteOffset).getUint32(14, true);
    assert.equal(crc32(data), recorded, `length ${length}`);
  }
});
