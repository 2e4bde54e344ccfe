/**
 * Hostile .onnx files for the structure-aware fuzzer: initializers whose dims claim more than
 * their data holds, packed fields and external data claiming huge lengths and offsets, message
 * bombs (graph -> node -> attribute -> graph ...), and external-data locations that try to leave
 * the model's folder. Built with the tests' protobuf writer (test/onnx/write.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelFromBytes } from "../../../src/load.js";
import { loadModel } from "../../../src/node.js";
import { nestedModel, whileModel } from "../../onnx/loop-models.js";
import { bytes, int, model, node, str, valueInfo, varint, type Bytes } from "../../onnx/write.js";

export interface OnnxAttack {
  bytes: Uint8Array;
  run(): unknown;
}

/** y = x + w, w the initializer `w` given by its TensorProto fields. */
function addModel(initializer: Bytes): Uint8Array {
  return model({
    nodes: [node("Add", ["x", "w"], ["y"])],
    initializers: [initializer],
    inputs: [valueInfo("x", ["n"])],
    outputs: [valueInfo("y", ["n"])],
  });
}

const load = (b: Uint8Array, externalData?: Record<string, Uint8Array>) =>
  loadModelFromBytes({ name: "attack.onnx", bytes: b }, undefined, { externalData });

/** Loads and sums the initializer's parameters (the honest answer: its element count). */
const parameters = (b: Uint8Array, externalData?: Record<string, Uint8Array>) => () =>
  load(b, externalData).summaryData().trainableParams;

/** A float initializer of `dims` with `dataBytes` bytes of raw data. */
export function claimedDims(dims: number[], dataBytes: number): OnnxAttack {
  const t = [
    ...dims.flatMap((d) => int(1, d)),
    ...int(2, 1),
    ...str(8, "w"),
    ...bytes(9, new Array(dataBytes).fill(0)),
  ];
  const b = addModel(t);
  return { bytes: b, run: parameters(b) };
}

/** A TensorProto whose packed int64 dims field claims `claim` bytes (holding one). */
export function packedClaim(claim: number): OnnxAttack {
  const b = addModel([0x0a, ...varint(claim), 1, ...int(2, 1), ...str(8, "w")]);
  return { bytes: b, run: parameters(b) };
}

/** graph -> node -> attribute -> graph ..., `depth` times. */
export function nestedGraphs(depth: number): OnnxAttack {
  let body: Bytes = [];
  for (let i = 0; i < depth; i++) body = bytes(1, bytes(5, [...str(1, "body"), ...bytes(6, body)]));
  const b = Uint8Array.from([...int(1, 8), ...bytes(7, body), ...bytes(8, int(2, 17))]);
  return { bytes: b, run: parameters(b) };
}

/** External data entries of a float initializer of `count` values. */
function externalTensor(count: number, entries: [string, string][]): Bytes {
  return [
    ...int(1, count),
    ...int(2, 1),
    ...str(8, "w"),
    ...entries.flatMap(([k, v]) => bytes(13, [...str(1, k), ...str(2, v)])),
    ...int(14, 1),
  ];
}

/** `count` floats at `offset`, `length` bytes, in a given external file of `fileBytes` bytes. */
export function externalSpan(count: number, offset: string, length: string, fileBytes: number): OnnxAttack {
  const b = addModel(
    externalTensor(count, [
      ["location", "w.bin"],
      ["offset", offset],
      ["length", length],
    ]),
  );
  return { bytes: b, run: parameters(b, { "w.bin": new Uint8Array(fileBytes) }) };
}

/**
 * A model loaded from a path in a fresh folder, whose external data `location` may leave it:
 * beside it are w.bin (honest) and link.bin (a link to a file outside the folder).
 */
export function externalLocation(location: string): OnnxAttack {
  const b = addModel(externalTensor(2, [["location", location]]));
  return {
    bytes: b,
    run: async () => {
      const root = mkdtempSync(join(tmpdir(), "kerasless-fuzz-"));
      try {
        const folder = join(root, "model");
        writeFileSync(join(root, "secret.bin"), new Uint8Array(8));
        mkdirSync(folder);
        writeFileSync(join(folder, "w.bin"), new Uint8Array(8));
        symlinkSync(join(root, "secret.bin"), join(folder, "link.bin"));
        writeFileSync(join(folder, "model.onnx"), b);
        return (await loadModel(join(folder, "model.onnx"))).summaryData().trainableParams;
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/** Loops nested `depth` deep, each of `tripCount` iterations, adding 1: tripCount^depth, or E_LIMIT. */
export function nestedLoops(depth: number, tripCount: number): OnnxAttack {
  const b = nestedModel(depth, tripCount);
  return { bytes: b, run: () => Array.from(load(b).predict({ shape: [1], data: [1] })[0].data) };
}

/** A while loop whose M claims `tripCount` and whose condition stops it after `limit` iterations. */
export function whileLoop(limit: number, tripCount: number): OnnxAttack {
  const b = whileModel(limit, tripCount);
  return { bytes: b, run: () => load(b).predict({ shape: [1], data: [0] })[1].shape[0] };
}
