/**
 * Linear time and memory in the HDF5 reader: each structure is built at size n and 8n, then
 * opened and read (median CPU time of several runs); the time and retained-memory ratios must stay near 8,
 * below 8 x 3 (generous for a noisy shared machine, but far below the 64 of a quadratic walk).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openHdf5 } from "../../src/io/hdf5/index.js";
import * as h5 from "../fuzz/structures/hdf5.js";
import { FLOAT32, H5Builder, VLEN_STRING, attribute, vlenRefs } from "./hdf5-builder.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const RUNS = 5;
const MAX_RATIO = 8 * 3;

interface Structure {
  name: string;
  n: number;
  build(n: number): h5.Hdf5Attack;
}

/** A group of n datasets, each with an attribute; reading lists, resolves and reads them all. */
function wideGroup(n: number): h5.Hdf5Attack {
  const b = new H5Builder();
  const members = Array.from({ length: n }, (_, i): [string, number] => [
    `d${i}`,
    b.dataset([i, i + 1], [2], [attribute("a", FLOAT32, [1], [0, 0, 128, 63])]),
  ]);
  return {
    bytes: b.finish(b.group(members)),
    exercise: (r) => r.keys().reduce((sum, name) => sum + r.dataset(name).readFloat32()[1], 0),
  };
}

/** n variable-length strings in one attribute, each its own global heap object. */
function heapStrings(n: number): h5.Hdf5Attack {
  const b = new H5Builder();
  const strings = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`layer_${i}`));
  const heap = b.globalHeap(strings);
  const refs = vlenRefs(strings.map((s, i): [number, number, number] => [s.length, heap, i + 1]));
  const root = b.group([], [attribute("layer_names", VLEN_STRING, [n], refs)]);
  return { bytes: b.finish(root), exercise: (r) => r.stringListAttr("layer_names")?.length };
}

const STRUCTURES: Structure[] = [
  { name: "a group of n datasets with attributes", n: 300, build: wideGroup },
  { name: "n global-heap strings in one attribute", n: 500, build: heapStrings },
  { name: "n groups sharing one symbol table (counted, not listed)", n: 1000, build: sharedTable },
  { name: "n soft links to absolute paths", n: 1000, build: h5.absoluteSoftLinks },
  { name: "n nested v2 object headers (until the message budget)", n: 1000, build: h5.nestedHeaders },
  {
    name: "n attributes sharing a heap string (until the attribute budget)",
    n: 400,
    build: (n) => h5.sharedHeapString(n, 20_000),
  },
  { name: "strings padded n deep", n: 7000, build: (n) => h5.paddedStrings(n, 8) },
  { name: "a dataset of n deflated chunks", n: 400, build: (n) => h5.sharedChunkTree(1, n, 256) },
  { name: "n datasets sharing one chunk tree", n: 100, build: (n) => h5.sharedChunkTree(n, 4, 64) },
];

/** sharedSymbolTable, read by member counts (listing n names in n groups is n^2 by definition). */
function sharedTable(n: number): h5.Hdf5Attack {
  const attack = h5.sharedSymbolTable(n);
  return {
    bytes: attack.bytes,
    exercise: (r) => r.keys().reduce((sum, name) => sum + r.group(name).memberCount(), 0),
  };
}

/** CPU time (ms) and retained heap (bytes) of opening and reading the file once; errors count as results. */
function once(attack: h5.Hdf5Attack): { ms: number; bytes: number } {
  gc();
  const before = process.memoryUsage().heapUsed;
  // CPU time, not wall time: on a loaded shared machine a run can wait for a core.
  const start = process.cpuUsage();
  const root = openHdf5(attack.bytes, "n.h5");
  try {
    attack.exercise(root);
  } catch {
    // A budget error is the end of the work: its time is what is measured.
  }
  const used = process.cpuUsage(start);
  const ms = (used.user + used.system) / 1000;
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  // Keep the root (and its caches) alive until after the measurement.
  if (root.path !== "/") throw new Error("unreachable");
  return { ms, bytes };
}

/**
 * Medians over runs that alternate the two sizes (after one untimed run of each, which pays for
 * compiling the reader), so that load on a shared machine falls on both alike.
 */
function measure(small: h5.Hdf5Attack, large: h5.Hdf5Attack): { ms: number; bytes: number }[] {
  once(small);
  once(large);
  const runs = [small, large].map(() => ({ ms: [] as number[], bytes: 0 }));
  for (let run = 0; run < RUNS; run++) {
    [small, large].forEach((attack, i) => {
      const { ms, bytes } = once(attack);
      runs[i].ms.push(ms);
      runs[i].bytes = Math.max(runs[i].bytes, bytes);
    });
  }
  return runs.map((r) => ({ ms: r.ms.sort((a, b) => a - b)[RUNS >> 1], bytes: r.bytes }));
}

for (const s of STRUCTURES) {
  test(`linear: ${s.name} (n = ${s.n} and ${8 * s.n})`, (t) => {
    const small = s.build(s.n);
    const large = s.build(8 * s.n);
    const fileRatio = large.bytes.length / small.bytes.length;
    const [a, b] = measure(small, large);
    // Floors keep sub-millisecond and sub-megabyte noise from deciding the ratio.
    const timeRatio = b.ms / Math.max(a.ms, 2);
    const memoryRatio = b.bytes / Math.max(a.bytes, 4 * 1024 * 1024);
    t.diagnostic(
      `file x${fileRatio.toFixed(1)}; time ${a.ms.toFixed(1)} -> ${b.ms.toFixed(1)} ms (x${timeRatio.toFixed(1)}); ` +
        `retained ${(a.bytes / 2 ** 20).toFixed(1)} -> ${(b.bytes / 2 ** 20).toFixed(1)} MiB ` +
        `(x${memoryRatio.toFixed(1)})`,
    );
    assert.ok(
      timeRatio < MAX_RATIO,
      `time ratio ${timeRatio.toFixed(1)} (${a.ms.toFixed(1)} -> ${b.ms.toFixed(1)} ms)`,
    );
    assert.ok(memoryRatio < MAX_RATIO, `memory ratio ${memoryRatio.toFixed(1)}`);
  });
}
