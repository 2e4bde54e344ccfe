/**
 * A seeded mutation fuzzer over the real fixture files. Case `index` of seed `seed` is always the
 * same input, so any failure can be replayed (`npm run fuzz -- --seed S --replay I`).
 *
 * Each case takes one model from the corpus (every fixture in every format, .onnx and .npy too),
 * mutates one of its files with 1-3 of: truncation, bit flips, interesting bytes, chunk
 * duplication/deletion/overwrite, size-field corruption (zip headers, HDF5 superblock, object
 * headers, B-tree/heap/symbol-table fields, .npy header, protobuf varints), same-length text
 * edits, JSON-aware edits of the model config (numbers, types, class names, deep nesting,
 * `__proto__` keys), and splicing with another corpus file; then loads it, runs summary() and
 * predict(), and classifies the outcome. Anything but a result or a KeraslessError is a finding.
 */
import { KeraslessError } from "../../src/errors.js";
import { openHdf5, type H5Group } from "../../src/io/hdf5/index.js";
import { parseNpy } from "../../src/io/npy.js";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import type { CorpusEntry } from "./corpus.js";
import { applyOne } from "./mutations.js";
import { Rng } from "./rng.js";

export { loadCorpus, type CorpusEntry, type FileKind } from "./corpus.js";
export { mutateJsonText } from "./json-edits.js";
export { hdf5Fields, npyFields, zipFields } from "./fields.js";
export { Rng } from "./rng.js";

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
