/**
 * Predict-time validation (src/inputs.ts): shape, rank and dtype mismatches name the input and
 * give both shapes; inputs built to break the walker (deep or self-containing arrays) end in an
 * error; token ids outside an Embedding's vocabulary are refused; NaN and Infinity pass through
 * (the fixtures test/fixtures/keras*\/robust_nonfinite_* hold Keras' outputs for them).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { KeraslessError } from "../src/errors.js";
import { loadModelFromBytes } from "../src/load.js";
import { FIXTURES } from "./helpers.js";

const load = (dir: string) =>
  loadModelFromBytes({ name: "model.keras", bytes: new Uint8Array(readFileSync(`${FIXTURES}${dir}/model.keras`)) });
const seed = load("seed");
const multi = load("keras3/multi_io");
const embedding = load("keras3/embedding_lstm");

function rejects(fn: () => unknown, code: string, pattern: RegExp): void {
  const start = performance.now();
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeraslessError, `not a KeraslessError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(performance.now() - start < 1000);
}

test("shape and rank mismatches name the input and give the expected and the given shape", () => {
  rejects(
    () => seed.predict({ shape: [2, 4, 5], data: new Float32Array(40) }),
    "E_INPUT_SHAPE",
    /^input "input_layer" expects shape \[None, 4, 3\], got \[2, 4, 5\]$/,
  );
  rejects(
    () => seed.predict({ shape: [4, 3], data: new Float32Array(12) }),
    "E_INPUT_SHAPE",
    /expects shape \[None, 4, 3\], got \[4, 3\]$/,
  );
  rejects(
    () => seed.predict([[[[1, 2, 3]]]]),
    "E_INPUT_SHAPE",
    /expects shape \[None, 4, 3\], got \[1, 1, 1, 3, \.\.\.\]$/,
  );
  rejects(
    () =>
      multi.predict({
        seq: { shape: [3, 5, 3], data: new Float32Array(45) },
        vec: { shape: [2, 2], data: new Float32Array(4) },
      }),
    "E_INPUT_SHAPE",
    /input "vec" has batch size 2, input "seq" has 3/,
  );
  rejects(
    () => multi.predict({ seq: { shape: [1, 5, 3], data: new Float32Array(15) } }),
    "E_INPUT",
    /input "vec" is missing/,
  );
  rejects(
    () => multi.predict({ seq: [], vec: [], extra: [] } as never),
    "E_INPUT",
    /unknown input name\(s\) extra; the model's inputs are seq, vec/,
  );
  rejects(() => multi.predict([[]] as never), "E_INPUT", /the model has 2 inputs \(seq, vec\), got a list of 1/);
});

test("arrays nested 20,000 deep or containing themselves are a rank error, not a stack overflow or a hang", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 20000; i++) deep = [deep];
  rejects(
    () => seed.predict(deep as never),
    "E_INPUT_SHAPE",
    /expects shape \[None, 4, 3\], got \[1, 1, 1, 1, \.\.\.\]/,
  );
  const loop: unknown[] = [];
  loop.push(loop);
  rejects(() => seed.predict(loop as never), "E_INPUT_SHAPE", /got \[1, 1, 1, 1, \.\.\.\]/);
  rejects(
    () =>
      seed.predict([
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
          [1, 2],
        ],
      ]),
    "E_INPUT_SHAPE",
    /ragged/,
  );
  rejects(
    () =>
      seed.predict([
        [
          [1, 2, "3"],
          [4, 5, 6],
          [7, 8, 9],
          [1, 2, 3],
        ],
      ] as never),
    "E_INPUT",
    /holds a string where a number belongs/,
  );
});

test("dtypes: int32 inputs take only 32-bit integers; a tensor may only say float32 or int32", () => {
  const ids = (values: number[]) => ({ shape: [1, 6], data: values });
  rejects(
    () => embedding.predict(ids([1, 2, 3, 4, 5, 1.5])),
    "E_INPUT_DTYPE",
    /input "tokens" is int32, but value 1\.5 at flat index 5 is not a 32-bit integer/,
  );
  rejects(() => embedding.predict(ids([1, 2, 3, 4, 5, Number.NaN])), "E_INPUT_DTYPE", /value NaN at flat index 5/);
  rejects(() => embedding.predict(ids([1, 2, 3, 4, 5, 2 ** 31])), "E_INPUT_DTYPE", /value 2147483648/);
  rejects(
    () => seed.predict({ shape: [1, 4, 3], data: new Float32Array(12), dtype: "float16" as never }),
    "E_INPUT_DTYPE",
    /input "input_layer": dtype "float16" is not float32 or int32/,
  );
  rejects(
    () => seed.predict({ shape: [1, 4, 3], data: "not numbers" } as never),
    "E_INPUT",
    /"data" is not a typed array or a list of numbers/,
  );
  rejects(
    () => seed.predict({ shape: [1, 4, 3.5], data: new Float32Array(12) }),
    "E_INPUT_SHAPE",
    /shape \[1, 4, 3\.5\] is not a shape/,
  );
});

test("token ids outside the vocabulary are refused, whatever the backend would do", () => {
  const vocabulary = embedding.layers.find((l) => l.className === "Embedding")!.getWeights()[0].shape[0];
  for (const bad of [-1, vocabulary, 2 ** 30]) {
    rejects(
      () => embedding.predict({ shape: [1, 6], data: [1, 2, bad, 3, 4, 5] }),
      "E_INPUT_VALUE",
      new RegExp(
        `layer "\\w+" \\(Embedding\\): token id ${bad} at flat index 2 ` +
          `is outside the vocabulary \\[0, ${vocabulary}\\)`,
      ),
    );
  }
  assert.equal(embedding.predict({ shape: [1, 6], data: [0, 1, 2, 3, 4, vocabulary - 1] })[0].shape[0], 1);
});

test("NaN and Infinity in float inputs are computed with, not refused", () => {
  const data = new Float32Array(12).fill(0.5);
  data[4] = Number.NaN;
  const [out] = seed.predict({ shape: [1, 4, 3], data });
  assert.ok(Number.isNaN(out.data[0]), "NaN reaches the output, as in Keras");
  data[4] = Infinity;
  assert.equal(seed.predict({ shape: [1, 4, 3], data })[0].shape[0], 1);
});

test("an empty input may not claim a huge batch or time extent: E_LIMIT before any loop (predict and stream)", () => {
  const huge = 2 ** 53 - 1;
  rejects(
    () => seed.predict({ shape: [huge, 0, 3], data: new Float32Array(0) }),
    "E_LIMIT",
    /^input "input_layer" has shape \[9007199254740991, 0, 3\] and no values; .* 1048576 .*spans 27021597764222972$/,
  );
  rejects(() => seed.predict({ shape: [0, huge, 3], data: new Float32Array(0) }), "E_LIMIT", /no values/);
  rejects(() => seed.stream().step({ shape: [huge, 0], data: new Float32Array(0) }), "E_LIMIT", /^stream input/);
  rejects(
    () => seed.stream().step({ shape: [huge, 3], data: new Float32Array(0) }),
    "E_INPUT_SHAPE",
    /^stream input "input_layer": shape \[9007199254740991, 3\] needs 27021597764222972 values, data has 0$/,
  );
  rejects(() => seed.predict({ shape: [1, 4, -3], data: [] }), "E_INPUT_SHAPE", /is not a shape/);
  rejects(() => seed.predict({ shape: [1, 4, 2.5], data: [] }), "E_INPUT_SHAPE", /is not a shape/);
  // Zero samples of the right shape are a valid (empty) batch.
  assert.deepEqual(seed.predict({ shape: [0, 4, 3], data: new Float32Array(0) })[0].shape, [0, 1]);
});

test("single-input models name the problem: unknown input name, a typed array without shape, null", () => {
  rejects(
    () => seed.predict({ foo: [[[1, 2, 3]]] }),
    "E_INPUT",
    /^unknown input name\(s\) foo; the model's input is "input_layer"$/,
  );
  rejects(() => seed.predict({}), "E_INPUT", /^got an empty object; the model's input is "input_layer"/);
  rejects(
    () => seed.predict(new Float32Array(12) as never),
    "E_INPUT",
    /^input "input_layer": a typed array has no shape; pass \{ shape: \[\.\.\.\], data \} \(.* \[None, 4, 3\]\)$/,
  );
  rejects(() => seed.predict(null as never), "E_INPUT", /^input "input_layer": got null; pass nested arrays/);
  rejects(() => seed.predict(7 as never), "E_INPUT", /^input "input_layer": got number;/);
  rejects(() => multi.predict([null, null] as never), "E_INPUT", /^input "seq": got null;/);
  rejects(() => multi.predict(new Float32Array(3) as never), "E_INPUT", /pass a list or a record keyed by name$/);
});
