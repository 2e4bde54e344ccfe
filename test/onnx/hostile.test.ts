/** Broken and hostile .onnx files: each ends in one typed, one-line KeraslessError, nothing else. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import { FIXTURES, rejects } from "../helpers.js";
import {
  bytes,
  floatAttribute,
  int,
  intAttribute,
  model,
  node,
  reluModel,
  str,
  tensor,
  valueInfo,
  varint,
} from "./write.js";

const load = (b: Uint8Array, externalData?: Record<string, Uint8Array>) =>
  loadModelFromBytes({ name: "m.onnx", bytes: b }, undefined, { externalData });

function refused(b: Uint8Array, code: string, pattern: RegExp, externalData?: Record<string, Uint8Array>): void {
  const e = rejects(() => load(b, externalData), code, pattern);
  assert.ok(!e.message.includes("\n"), "one line");
  assert.match(e.message, /^m\.onnx: /);
}

test("a hand-made model runs (the writer is right)", () => {
  const [y] = load(reluModel()).predict([[-1, 0, 2]]);
  assert.deepEqual([...y.data], [0, 0, 2]);
});

test("protobuf corruption: varints, lengths, nesting", () => {
  refused(Uint8Array.from([0x08, ...new Array<number>(10).fill(0xff), 0x01]), "E_FORMAT", /varint longer than 10/);
  refused(Uint8Array.from([0x08, 0x88]), "E_FORMAT", /varint runs past the end/);
  refused(Uint8Array.from([...int(1, 8), 0x3a, ...varint(2 ** 28), 1, 2]), "E_FORMAT", /runs past the end/);
  // A packed int64 field claiming 2^31 bytes inside a small tensor.
  const packed = model({ nodes: [], initializers: [[0x0a, ...varint(2 ** 31 - 1), 1]], inputs: [], outputs: [] });
  refused(packed, "E_FORMAT", /packed repeated field of 2147483647 bytes/);
  // graph -> node -> attribute -> graph -> ...: a nested message bomb.
  let body: number[] = [];
  for (let i = 0; i < 100; i++) body = bytes(1, bytes(5, bytes(6, body)));
  refused(Uint8Array.from([...int(1, 8), ...bytes(7, body)]), "E_FORMAT", /nested deeper than 32 levels/);
  refused(Uint8Array.from([...int(1, 8), 0x3f]), "E_FORMAT", /unknown wire type 7/);
});

test("every truncation of a real model, and seeded byte corruptions, end in a KeraslessError", () => {
  const original = readFileSync(join(FIXTURES, "onnx/lstm_last_ts/model.onnx"));
  const x = { shape: [2, 6, 5], data: new Float32Array(60) };
  const check = (b: Uint8Array): void => {
    try {
      load(b).predict(x);
    } catch (e) {
      if (!(e instanceof KeraslessError)) throw new Error(`not a KeraslessError: ${String(e)}`, { cause: e });
      assert.ok(!e.message.includes("\n"));
    }
  };
  for (let n = 0; n < original.length; n += 7) check(original.subarray(0, n));
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 300; k++) {
    const b = Uint8Array.from(original);
    for (let j = 0; j < 3; j++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    check(b);
  }
});

test("huge or negative dims, and data shorter than the dims claim, are refused before allocating", () => {
  const graph = (t: number[]) =>
    model({
      nodes: [node("Add", ["x", "w"], ["y"])],
      initializers: [t],
      inputs: [valueInfo("x", [1])],
      outputs: [valueInfo("y", [1])],
    });
  refused(graph(tensor("w", [2 ** 20, 2 ** 20], [1])), "E_LIMIT", /more than 268435456 elements/);
  refused(graph(tensor("w", [-1], [1])), "E_FORMAT", /dimension of -1/);
  refused(graph(tensor("w", [4], [1, 2])), "E_FORMAT", /needs 16 bytes of float32, its data has 8/);
  // ConstantOfShape asked for 2^40 values at load.
  const shape = [
    ...int(1, 2),
    ...int(2, 7),
    ...str(8, "s"),
    ...bytes(9, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]),
  ];
  const bomb = model({
    nodes: [node("ConstantOfShape", ["s"], ["z"]), node("Add", ["x", "z"], ["y"])],
    initializers: [shape],
    inputs: [valueInfo("x", [1])],
    outputs: [valueInfo("y", [1])],
  });
  refused(bomb, "E_LIMIT", /ConstantOfShape.*more than 268435456 elements/);
});

test("external data: missing file, offsets past the end, no location", () => {
  const external = (entries: [string, string][]) =>
    model({
      nodes: [node("Add", ["x", "w"], ["y"])],
      initializers: [
        [
          ...int(1, 2),
          ...int(2, 1),
          ...str(8, "w"),
          ...entries.flatMap(([k, v]) => bytes(13, [...str(1, k), ...str(2, v)])),
          ...int(14, 1),
        ],
      ],
      inputs: [valueInfo("x", [2])],
      outputs: [valueInfo("y", [2])],
    });
  const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
  const ok = load(
    external([
      ["location", "w.bin"],
      ["offset", "4"],
    ]),
    { "w.bin": data },
  );
  assert.deepEqual([...ok.predict({ shape: [2], data: [10, 10] })[0].data], [12, 13]);
  refused(external([["location", "w.bin"]]), "E_WEIGHTS_MISSING", /external file "w.bin": pass its bytes/);
  refused(external([["location", "w.bin"]]), "E_WEIGHTS_MISSING", /"w.bin" was not given/, {});
  refused(
    external([
      ["location", "w.bin"],
      ["offset", "8"],
    ]),
    "E_FORMAT",
    /offset 8, length 8 runs past the end/,
    {
      "w.bin": data,
    },
  );
  refused(
    external([
      ["location", "w.bin"],
      ["offset", "99999999999999999999"],
    ]),
    "E_FORMAT",
    /not a byte count/,
    {
      "w.bin": data,
    },
  );
  refused(external([["offset", "0"]]), "E_FORMAT", /names no location/, { "w.bin": data });
});

test("every unsupported op, attribute and domain is reported in one error at load", () => {
  const m = model({
    nodes: [
      node("Relu", ["x"], ["a"]),
      node("NonMaxSuppression", ["a"], ["b"]),
      node("Softmax", ["b"], ["c"], [intAttribute("axis", 1), floatAttribute("temperature", 2)]),
      [...node("Custom", ["c"], ["y"]), ...str(7, "com.example")],
    ],
    inputs: [valueInfo("x", [2, 3])],
    outputs: [valueInfo("y", [2, 3])],
  });
  const e = rejects(() => load(m), "E_UNSUPPORTED", /the model uses 3 unsupported features/);
  assert.match(e.message, /node "b" \(NonMaxSuppression\): op not supported/);
  assert.match(e.message, /node "c" \(Softmax\): attribute "temperature" not supported/);
  assert.match(e.message, /node "y" \(Custom\): op of domain "com.example" not supported/);
});

test("opsets, IR versions and graph wiring outside what kerasless reads", () => {
  const relu = (opset: number, ir = 8) =>
    model(
      { nodes: [node("Relu", ["x"], ["y"])], inputs: [valueInfo("x", [1])], outputs: [valueInfo("y", [1])] },
      opset,
      ir,
    );
  refused(relu(99), "E_UNSUPPORTED", /opset 99; kerasless runs opsets 7 to 23/);
  refused(relu(5), "E_UNSUPPORTED", /opset 5/);
  refused(relu(17, 2), "E_UNSUPPORTED", /IR version 2/);
  const dangling = model({
    nodes: [node("Relu", ["nowhere"], ["y"])],
    inputs: [valueInfo("x", [1])],
    outputs: [valueInfo("y", [1])],
  });
  refused(dangling, "E_FORMAT", /reads "nowhere", which no earlier node/);
  const noOutput = model({ nodes: [], inputs: [valueInfo("x", [1])], outputs: [valueInfo("y", [1])] });
  refused(noOutput, "E_FORMAT", /graph output "y" is not produced/);
  refused(Uint8Array.from(int(1, 8)), "E_FORMAT", /has no graph/);
});

test("wrong input shapes at predict() are typed errors naming the input or the node", () => {
  const m = load(reluModel());
  rejects(() => m.predict([[1, 2]]), "E_INPUT_SHAPE", /input "x" expects shape \[None, 3\]/);
  const reshape = model({
    nodes: [node("Reshape", ["x", "s"], ["y"])],
    initializers: [[...int(1, 1), ...int(2, 7), ...str(8, "s"), ...bytes(9, [5, 0, 0, 0, 0, 0, 0, 0])]],
    inputs: [valueInfo("x", ["n"])],
    outputs: [valueInfo("y", [5])],
  });
  rejects(
    () => load(reshape).predict({ shape: [3], data: [1, 2, 3] }),
    "E_INPUT_SHAPE",
    /\(Reshape\): cannot reshape \[3\] to \[5\]/,
  );
});
