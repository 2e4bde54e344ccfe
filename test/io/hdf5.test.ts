/**
 * The HDF5 reader on files built byte by byte (test/io/hdf5-builder.ts): valid structures read
 * back exactly, and hostile ones (shared or cyclic B-trees, link cycles, lying sizes, string and
 * chunk bombs) end in a KeraslessError quickly, before anything large is allocated.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { zlibSync } from "fflate";
import { KeraslessError } from "../../src/errors.js";
import { openHdf5, type H5Group } from "../../src/io/hdf5/index.js";
import { FLOAT32, H5Builder, VLEN_STRING, attribute, fixedString, le64, vlenRefs } from "./hdf5-builder.js";

function rejects(fn: () => unknown, code: string, pattern: RegExp, withinMs = 1000): KeraslessError {
  const start = performance.now();
  try {
    fn();
  } catch (e) {
    const ms = performance.now() - start;
    assert.ok(e instanceof KeraslessError, `expected a KeraslessError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(ms < withinMs, `took ${ms} ms`);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

test("a built file with groups, a dataset and string attributes reads back exactly", () => {
  const b = new H5Builder();
  const heap = b.globalHeap([new TextEncoder().encode("dense"), new TextEncoder().encode("lstm_1")]);
  const w = b.dataset([1, 2, 3, 4, 5, 6], [2, 3]);
  const inner = b.group(
    [["w", w]],
    [
      attribute(
        "weight_names",
        VLEN_STRING,
        [2],
        vlenRefs([
          [5, heap, 1],
          [6, heap, 2],
        ]),
      ),
      attribute("title", fixedString(8), [], [...new TextEncoder().encode("abc"), 0, 0, 0, 0, 0]),
      attribute("scale", FLOAT32, [], [...f32([0.5])]),
    ],
  );
  const root = b.group([["g", inner]]);
  const file = openHdf5(b.finish(root), "built.h5");
  assert.deepEqual(file.keys(), ["g"]);
  assert.ok(file.isGroup("g"));
  assert.deepEqual(file.group("g").stringListAttr("weight_names"), ["dense", "lstm_1"]);
  assert.equal(file.group("g").attr("title"), "abc");
  assert.equal(file.group("g").attr("scale"), 0.5);
  assert.equal(file.group("g").attr("missing"), undefined);
  const dataset = file.dataset("g/w");
  assert.deepEqual(dataset.shape, [2, 3]);
  assert.deepEqual([...dataset.readFloat32()], [1, 2, 3, 4, 5, 6]);
});

test("chunked data with deflate and shuffle, including partial edge chunks, reads back in row-major order", () => {
  // shape [5, 3] in chunks of [2, 2]: chunks at rows 0, 2, 4 and columns 0, 2 (edges are padded).
  const shape = [5, 3];
  const value = (r: number, c: number): number => 10 * r + c;
  const chunks: [number[], Uint8Array][] = [];
  for (let r = 0; r < 5; r += 2) {
    for (let c = 0; c < 3; c += 2) {
      const raw = f32([value(r, c), value(r, c + 1), value(r + 1, c), value(r + 1, c + 1)]);
      // shuffle: byte k of every element together, then deflate (the order HDF5 applies them).
      const shuffled = new Uint8Array(16);
      for (let k = 0; k < 4; k++) for (let i = 0; i < 4; i++) shuffled[k * 4 + i] = raw[i * 4 + k];
      chunks.push([[r, c, 0], zlibSync(shuffled)]);
    }
  }
  const b = new H5Builder();
  const d = b.chunkedDataset(shape, [2, 2], chunks, [2, 1]);
  const file = openHdf5(b.finish(b.group([["d", d]])), "chunked.h5");
  const expected: number[] = [];
  for (let r = 0; r < 5; r++) for (let c = 0; c < 3; c++) expected.push(value(r, c));
  assert.deepEqual([...file.dataset("d").readFloat32()], expected);
});

test("a group B-tree whose nodes share a child is rejected at once, not walked exponentially", () => {
  const b = new H5Builder();
  const heap = b.localHeap(["x"]);
  const leaf = b.symbolNode([[heap.offsets[0], b.dataset([1], [1])]]);
  // level 0 node -> the leaf; 2000 level-1 entries -> that node; the root -> 2000 x the level-1 node.
  const level0 = b.btreeNode(0, 0, [leaf]);
  const level1 = b.btreeNode(0, 1, new Array(2000).fill(level0));
  const root = b.btreeNode(0, 2, new Array(2000).fill(level1));
  const group = b.objectHeader([[0x11, [...le64(root), ...le64(heap.address)]]]);
  const file = openHdf5(b.finish(group), "dag.h5");
  rejects(
    () => file.keys(),
    "E_HDF5",
    /^dag\.h5: group "\/": HDF5 structure at byte \d+: a group B-tree visits this node twice/,
  );
});

test("a B-tree node that is its own child, or sits at the wrong level, is an error", () => {
  const b = new H5Builder();
  const heap = b.localHeap(["x"]);
  const node = b.btreeNode(0, 1, [0]);
  b.u64(node + 24 + 8, node); // child 0 -> the node itself
  const group = b.objectHeader([[0x11, [...le64(node), ...le64(heap.address)]]]);
  const file = openHdf5(b.finish(group), "selfref.h5");
  rejects(() => file.keys(), "E_HDF5", /visits this node twice|at level 1, expected 0/);
});

test("an object header continuation that loops back to itself is an error", () => {
  const b = new H5Builder();
  const header = b.objectHeader([
    [0x10, [...le64(0), ...le64(24)]],
    [0x00, new Array(8).fill(0)],
  ]);
  b.u16(header + 2, 1000); // claim more messages than there are, so the loop would go on
  b.u64(header + 16 + 8, header + 16); // the continuation points at the header's own message block
  const file = openHdf5(b.finish(header), "continuation.h5");
  rejects(
    () => file.keys(),
    "E_HDF5",
    /object "\/": HDF5 structure at byte \d+: object header continuation loops back/,
  );
});

test("hard and soft link cycles are detected", () => {
  const b = new H5Builder();
  // root -> "a" -> "up" (hard link back to the root); root -> "s1" -> "s2" -> "s1" (soft); root -> "self" -> "/".
  const a = b.group([["up", 0]]);
  const root = b.group([
    ["a", a],
    ["s1", "soft", "s2"],
    ["s2", "soft", "/s1"],
    ["self", "soft", "/"],
  ]);
  // Patch "up" to point at the root's object header now that its address is known.
  const bytes = b.finish(root);
  const view = new DataView(bytes.buffer);
  const snod = findSignature(bytes, "SNOD");
  view.setUint32(snod + 8 + 8, root, true);
  const file = openHdf5(bytes, "cycles.h5");
  rejects(
    () => file.group("a/up"),
    "E_HDF5",
    /^cycles\.h5: link cycle: "\/a\/up" points back to its own ancestor group/,
  );
  rejects(() => file.has("s1"), "E_HDF5", /soft link "\/s\d" -> "\/?s\d": more than 16 soft links in a row/);
  rejects(
    () => file.group("self"),
    "E_HDF5",
    /link cycle: soft link "\/self" -> "\/" points back to its own ancestor group/,
  );
});

test("a string attribute whose elements all point at one big heap object cannot multiply memory", () => {
  const b = new H5Builder();
  const heap = b.globalHeap([new Uint8Array(64 * 1024).fill(0x61)]);
  // 4,000 references to the same 64 KiB string (as many as fit in one attribute message):
  // 262 MB of strings from a 130 KB file.
  const attr = attribute("names", VLEN_STRING, [4000], vlenRefs(new Array(4000).fill([65536, heap, 1])));
  const root = b.group([], [attr]);
  const file = openHdf5(b.finish(root), "strings.h5");
  rejects(
    () => file.attr("names"),
    "E_LIMIT",
    /attribute "names" of "\/": its strings add up to more bytes than the file has/,
  );
});

test("group names that overlap in the local heap cannot multiply memory", () => {
  const b = new H5Builder();
  const long = "n".repeat(100000);
  const heap = b.localHeap([long]);
  const dataset = b.dataset([1], [1]);
  // 2000 entries naming the same 100 KB string from different offsets.
  const entries = Array.from({ length: 2000 }, (_, i): [number, number] => [heap.offsets[0] + i, dataset]);
  const node = b.symbolNode(entries);
  const group = b.objectHeader([[0x11, [...le64(b.btreeNode(0, 0, [node])), ...le64(heap.address)]]]);
  const file = openHdf5(b.finish(group), "names.h5");
  rejects(() => file.keys(), "E_HDF5", /link names add up to more bytes than their local heap holds/);
});

test("sizes a file states are checked before anything is allocated", () => {
  const b = new H5Builder();
  const huge = b.dataset([1, 2, 3], [3]);
  const lying = b.dataset([1, 2, 3], [3]);
  const root = b.group([
    ["huge", huge],
    ["lying", lying],
    ["attr", b.group([], [attribute("big", FLOAT32, [1_000_000], [...f32([1, 2])])])],
  ]);
  const bytes = b.finish(root);
  const view = new DataView(bytes.buffer);
  // huge: 2^40 elements; lying: a million elements over 12 bytes of data.
  view.setUint32(huge + 16 + 8 + 8, 0, true);
  view.setUint32(huge + 16 + 8 + 8 + 4, 256, true);
  view.setUint32(lying + 16 + 8 + 8, 1_000_000, true);
  const file = openHdf5(bytes, "sizes.h5");
  assert.deepEqual(file.dataset("huge").shape, [2 ** 40]);
  rejects(
    () => file.dataset("huge").readFloat32(),
    "E_LIMIT",
    /dataset "\/huge": shape \[1099511627776\] is too large/,
  );
  rejects(
    () => file.dataset("lying").readFloat32(),
    "E_HDF5",
    /dataset "\/lying": shape \[1000000\] needs 4000000 bytes, its storage has 12/,
  );
  rejects(
    () => file.group("attr").attr("big"),
    "E_HDF5",
    /attribute "big" of "\/attr": 1000000 values of 4 bytes do not fit in the 8 bytes of the message/,
  );
});

test("chunked data: the decompression cap, a chunk that inflates past its size, and chunks outside the data", () => {
  const zeros = zlibSync(new Uint8Array(4 * 1024 * 1024));
  // Honest: 64 chunks of 1 Mi zeros (256 MiB of float32) in a ~260 KB file.
  const honest = new H5Builder();
  const offsets = Array.from({ length: 64 }, (_, i): [number[], Uint8Array] => [[i * 1024 * 1024, 0], zeros]);
  const big = honest.chunkedDataset([64 * 1024 * 1024], [1024 * 1024], offsets, [1]);
  const honestFile = openHdf5(honest.finish(honest.group([["d", big]])), "honest.h5");
  rejects(
    () => honestFile.dataset("d").readFloat32(),
    "E_LIMIT",
    /dataset "\/d": 67108864 values in chunks of 4194304 bytes exceed the 16777216-byte decompression limit/,
  );

  // Lying: the layout says chunks of 16 values, each chunk inflates to 4 MiB.
  const lying = new H5Builder();
  const small = lying.chunkedDataset(
    [32],
    [16],
    [
      [[0, 0], zeros],
      [[16, 0], zeros],
    ],
    [1],
  );
  const lyingFile = openHdf5(lying.finish(lying.group([["d", small]])), "lying.h5");
  const start = process.memoryUsage().arrayBuffers;
  rejects(
    () => lyingFile.dataset("d").readFloat32(),
    "E_LIMIT",
    /a chunk inflates to more than the 64 bytes it can hold/,
  );
  assert.ok(process.memoryUsage().arrayBuffers - start < 64 * 1024 * 1024);

  const outside = new H5Builder();
  const off = outside.chunkedDataset([4], [2], [[[6, 0], f32([1, 2])]]);
  rejects(
    () =>
      openHdf5(outside.finish(outside.group([["d", off]])), "outside.h5")
        .dataset("d")
        .readFloat32(),
    "E_HDF5",
    /chunk offset \[6\] is outside the data/,
  );

  const twice = new H5Builder();
  const dup = twice.chunkedDataset(
    [4],
    [2],
    [
      [[0, 0], f32([1, 2])],
      [[0, 0], f32([3, 4])],
    ],
  );
  rejects(
    () =>
      openHdf5(twice.finish(twice.group([["d", dup]])), "twice.h5")
        .dataset("d")
        .readFloat32(),
    "E_HDF5",
    /two chunks at offset \[0\]/,
  );
});

test("structures kerasless does not read are named: dense link storage, other superblocks and address sizes", () => {
  const b = new H5Builder();
  const group = b.objectHeader([[0x02, [0, 0, ...le64(4096), ...le64(8192)]]]);
  const file = openHdf5(b.finish(group), "dense.h5");
  rejects(() => file.keys(), "E_UNSUPPORTED", /group "\/": its links are in dense storage/);

  const odd = new H5Builder().finish(new H5Builder().alloc(8));
  odd[8] = 9;
  rejects(() => openHdf5(odd, "v9.h5"), "E_UNSUPPORTED", /superblock version 9/);
  const narrow = new H5Builder().finish(new H5Builder().alloc(8));
  narrow[13] = 4;
  rejects(() => openHdf5(narrow, "narrow.h5"), "E_UNSUPPORTED", /4-byte addresses/);
});

test("addresses and offsets outside the file name the byte they were read at", () => {
  const b = new H5Builder();
  const w = b.dataset([1, 2], [2]);
  const bytes = b.finish(b.group([["w", w]]));
  const view = new DataView(bytes.buffer);
  view.setUint32(w + 16 + 24 + 8 + 24 + 8 + 2, 1 << 30, true); // the data address
  const file = openHdf5(bytes, "far.h5");
  rejects(
    () => file.dataset("w").readFloat32(),
    "E_HDF5",
    /the data of dataset "\/w" \(8 bytes at byte 1073741824\) lies outside the file/,
  );
});

test("every kind of damage to a small file ends in a result or a KeraslessError", () => {
  const b = new H5Builder();
  const heap = b.globalHeap([new TextEncoder().encode("abc")]);
  const w = b.dataset([1, 2, 3, 4], [2, 2], [attribute("names", VLEN_STRING, [1], vlenRefs([[3, heap, 1]]))]);
  const bytes = b.finish(b.group([["g", b.group([["w", w]])]]));
  const readAll = (file: H5Group): void => {
    for (const key of file.keys()) {
      if (file.isGroup(key)) readAll(file.group(key));
      else {
        file.dataset(key).readFloat32();
        file.attr("names");
      }
    }
  };
  // Every byte set to 0x00, 0xff and flipped in its top bit, one at a time.
  for (let i = 0; i < bytes.length; i++) {
    for (const value of [0x00, 0xff, bytes[i] ^ 0x80]) {
      const copy = bytes.slice();
      copy[i] = value;
      try {
        readAll(openHdf5(copy, "damaged.h5"));
      } catch (e) {
        assert.ok(e instanceof KeraslessError, `byte ${i} = ${value}: ${String(e)}`);
      }
    }
  }
});

function findSignature(bytes: Uint8Array, text: string): number {
  const codes = [...text].map((c) => c.charCodeAt(0));
  for (let i = 0; i < bytes.length; i++) if (codes.every((c, k) => bytes[i + k] === c)) return i;
  throw new Error(`${text} not found`);
}

test('members named "", "." or with a "/" are errors: they would name the group itself or another path', () => {
  for (const name of ["", ".", "a/b"]) {
    const b = new H5Builder();
    const w = b.dataset([1], [1]);
    const file = openHdf5(b.finish(b.group([[name, w]])), "names.h5");
    rejects(
      () => file.keys(),
      "E_HDF5",
      new RegExp(
        `group "/" has a member with the invalid name ` +
          `${JSON.stringify(JSON.stringify(name)).slice(1, -1).replace(/[./]/g, "\\$&")}`,
      ),
    );
  }
});

test("an enumeration type nested 8,000 deep is refused without recursing", () => {
  const b = new H5Builder();
  const enums: number[] = [];
  for (let i = 0; i < 8000; i++) enums.push(0x18, 0, 0, 0, 1, 0, 0, 0);
  const type = [...enums, ...FLOAT32];
  const root = b.group([], [attribute("deep", type, [], [...f32([1])])]);
  const file = openHdf5(b.finish(root), "enum.h5");
  rejects(() => file.attr("deep"), "E_UNSUPPORTED", /attribute "deep" of "\/" has an enumeration of enumerations/);
});
