/**
 * Valid-but-adversarial HDF5 files, one generator per attack class, each sized by `n`: structures
 * shared by many owners, overlapping or nested structures, zero sizes and huge counts. Each
 * generator returns the file and `exercise`, which reads it the way the library does; an honest
 * reader ends in a result or a one-line KeraslessError, in time and memory that grow with the
 * file's size. Used by the regression tests (test/io/hdf5-budgets.test.ts), the complexity tests
 * and the structure-aware fuzzer.
 */
import { zlibSync } from "fflate";
import type { H5Group } from "../../../src/io/hdf5/index.js";
import { H5Builder, VLEN_STRING, attribute, fixedString, le32, le64, vlenRefs } from "../../io/hdf5-builder.js";

export interface Hdf5Attack {
  readonly bytes: Uint8Array;
  /** Reads what the attack targets; returns a summary (or throws). */
  exercise(root: H5Group): unknown;
}

const names = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Fixed-length strings of 0 bytes in a dataspace of `count` elements (count x 0 bytes "fit" anywhere). */
export function zeroSizeStrings(count: number): Hdf5Attack {
  const b = new H5Builder();
  const type = fixedString(0);
  const root = b.group([], [attribute("names0", type, [count], [])]);
  return { bytes: b.finish(root), exercise: (r) => r.stringListAttr("names")?.length };
}

/**
 * `n` groups whose symbol table messages all point at one B-tree and local heap, which lists all
 * `n` groups: read separately, n groups of n links each.
 */
export function sharedSymbolTable(n: number): Hdf5Attack {
  const b = new H5Builder();
  const heap = b.localHeap(names(n, "g"));
  const snod = b.alloc(8 + 40 * n);
  b.ascii(snod, "SNOD");
  b.u8(snod + 4, 1);
  b.u16(snod + 6, n);
  const tree = b.btreeNode(0, 0, [snod]);
  const table: [number, number[]] = [0x11, [...le64(tree), ...le64(heap.address)]];
  const groups = Array.from({ length: n }, () => b.objectHeader([table]));
  groups.forEach((g, i) => {
    b.u64(snod + 8 + 40 * i, heap.offsets[i]);
    b.u64(snod + 8 + 40 * i + 8, g);
  });
  const root = b.objectHeader([table]);
  return {
    bytes: b.finish(root),
    exercise: (r) => {
      let members = 0;
      for (const name of r.keys()) members += r.group(name).keys().length;
      return members;
    },
  };
}

/**
 * `n` version 2 object headers, each nested in a message of the one before: the first holds n
 * messages, the next n-1, ... (n^2/2 if each is parsed on its own).
 */
export function nestedHeaders(n: number): Hdf5Attack {
  const b = new H5Builder();
  const base = b.alloc(14 * n + 4);
  for (let i = 0; i < n; i++) {
    const p = base + 14 * i;
    b.ascii(p, "OHDR");
    b.u8(p + 4, 2);
    b.u8(p + 5, 0x02); // 4-byte chunk size
    b.u32(p + 6, 14 * (n - i) - 10);
    // A NIL message whose 10 bytes of data are the next header's prefix (the last one is empty).
    b.u8(p + 10, 0);
    b.u16(p + 11, i === n - 1 ? 0 : 10);
  }
  const links = names(n, "h").map((name, i): [string, number] => [name, base + 14 * i]);
  const root = b.group(links);
  return {
    bytes: b.finish(root),
    exercise: (r) => r.keys().filter((name) => r.isGroup(name)).length,
  };
}

/** `chunks` attributes `layer_names0..` that all reference one global-heap string of `bytes` bytes. */
export function sharedHeapString(chunks: number, bytes: number): Hdf5Attack {
  const b = new H5Builder();
  const heap = b.globalHeap([new Uint8Array(bytes).fill(0x61)]);
  const refs = vlenRefs([[bytes, heap, 1]]);
  const attributes = names(chunks, "layer_names").map((name) => attribute(name, VLEN_STRING, [1], refs));
  const root = b.objectHeader(attributes.map((a): [number, number[]] => [0x0c, a]));
  return { bytes: b.finish(root), exercise: (r) => r.stringListAttr("layer_names")?.length };
}

/**
 * Strings padded with `n` NULs or spaces then one other character (a trailing-padding regex
 * backtracks over each run: n^2), in attribute names and in space-padded string values.
 */
export function paddedStrings(n: number, attributes = 4): Hdf5Attack {
  const b = new H5Builder();
  const list: number[][] = [];
  for (let i = 0; i < attributes; i++)
    list.push(attribute(`${"\0".repeat(n)}${i}`, [0x13, 0, 0, 0, 0, 0, 0, 0], [], []));
  const spaced = new TextEncoder().encode(`${" ".repeat(n)}x`);
  const type = [0x13, 0x02, 0, 0, ...le32(spaced.length)]; // space-padded
  for (let i = 0; i < attributes; i++) list.push(attribute(`spaced${i}`, type, [], Array.from(spaced)));
  const root = b.objectHeader(list.map((a): [number, number[]] => [0x0c, a]));
  return {
    bytes: b.finish(root),
    exercise: (r) => r.attributeNames().map((name) => (name.startsWith("spaced") ? String(r.attr(name)).length : 0)),
  };
}

/** A group of `n` soft links to an absolute path ("/d"), beside `n` other members of the root group. */
export function absoluteSoftLinks(n: number): Hdf5Attack {
  const b = new H5Builder();
  const d = b.dataset([1, 2], [2]);
  const links = names(n, "s").map((name): [string, "soft", string] => [name, "soft", "/d"]);
  const g = b.group(links);
  const filler = names(n, "f").map((name): [string, number] => [name, d]);
  const root = b.group([["d", d], ["g", g], ...filler]);
  return {
    bytes: b.finish(root),
    exercise: (r) => {
      const g = r.group("g");
      return g.keys().reduce((sum, name) => sum + g.dataset(name).shape[0], 0);
    },
  };
}

/**
 * `groups` groups, each with its own B-tree root, all of whose roots point at one shared leaf
 * level listing `members` links: every walk is valid on its own; together they are groups x members.
 */
export function sharedBTreeNodes(groups: number, members: number): Hdf5Attack {
  const b = new H5Builder();
  const d = b.dataset([1], [1]);
  const heap = b.localHeap(names(members, "m"));
  const snod = b.symbolNode(heap.offsets.map((offset): [number, number] => [offset, d]));
  const leaf = b.btreeNode(0, 0, [snod]);
  const list = names(groups, "g").map((name): [string, number] => {
    const tree = b.btreeNode(0, 1, [leaf]);
    return [name, b.objectHeader([[0x11, [...le64(tree), ...le64(heap.address)]]])];
  });
  const root = b.group(list);
  return {
    bytes: b.finish(root),
    exercise: (r) => r.keys().reduce((sum, name) => sum + r.group(name).memberCount(), 0),
  };
}

/** Datasets whose dataspaces claim `dims` (huge, zero or both) over 8 bytes of data. */
export function claimedShape(dims: number[]): Hdf5Attack {
  const b = new H5Builder();
  const d = b.dataset([1, 2], dims);
  const root = b.group([["d", d]]);
  return { bytes: b.finish(root), exercise: (r) => r.dataset("d").readFloat32().length };
}

/**
 * `datasets` chunked datasets sharing one chunk B-tree of `chunks` chunks, every chunk the same
 * stored bytes (a deflated run of `chunkValues` zeros): sharing multiplies what reading inflates.
 */
export function sharedChunkTree(datasets: number, chunks: number, chunkValues: number): Hdf5Attack {
  const b = new H5Builder();
  const stored = zlibSync(new Uint8Array(4 * chunkValues));
  const first = b.chunkedDataset(
    [chunks * chunkValues],
    [chunkValues],
    Array.from({ length: chunks }, (_, i): [number[], Uint8Array] => [[i * chunkValues, 0], stored]),
    [1],
  );
  // Copies of the first dataset's object header: the same layout message, so the same chunk tree.
  const header = b.bytes(first, 16 + b.u32At(first + 8));
  const list: [string, number][] = [["d0", first]];
  for (let i = 1; i < datasets; i++) {
    const at = b.alloc(header.length);
    b.set(at, header);
    list.push([`d${i}`, at]);
  }
  const root = b.group(list);
  return {
    bytes: b.finish(root),
    exercise: (r) => r.keys().reduce((sum, name) => sum + r.dataset(name).readFloat32().length, 0),
  };
}
