/**
 * loadModelPool on .onnx files: a batch split over worker threads gives model.predict()'s outputs
 * bit for bit (and Keras' numbers); a graph whose axis 0 is not a batch of independent rows (a
 * time-major torch export) runs whole on the calling thread; external data reaches the workers.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadWorkloads } from "../../bench/lib/spec.js";
import { loadModelPool, type ModelPool } from "../../src/node.js";
import { FIXTURES, assertClose, assertSameBits } from "../helpers.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const ONNX = join(FIXTURES, "onnx");

const pools: ModelPool[] = [];
async function open(source: string): Promise<ModelPool> {
  const pool = await loadModelPool(source, { threads: 3, inlineBelowMs: 0 });
  pools.push(pool);
  return pool;
}
after(() => Promise.all(pools.map((p) => p.close())));

const fixtureInputs = (name: string): { shape: number[]; data: Float32Array }[] =>
  JSON.parse(readFileSync(join(ONNX, name, "io.json"), "utf8")).inputs.map(
    (x: { shape: number[]; data: number[] }) => ({
      shape: x.shape,
      data: Float32Array.from(x.data),
    }),
  );

test("lstm128.onnx: 37 rows over 3 threads equal model.predict bit for bit, and Keras", async () => {
  const w = loadWorkloads().find((x) => x.id === "W3")!;
  const [, steps, features] = w.inputShape;
  const rows = 37;
  const input = { shape: [rows, steps, features], data: w.input.slice(0, rows * steps * features) };
  const pool = await open(join(ROOT, "bench", w.model.onnx));
  const want = pool.model.predict(input);
  const got = await pool.predict(input);
  assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 1, retriedCalls: 0 });
  assertSameBits(got, want, "lstm128.onnx");
  const keras = { shape: [rows, 1], dtype: "float32" as const, data: Array.from(w.expected.subarray(0, rows)) };
  assertClose(got[0], keras, "lstm128.onnx pool vs Keras");
  // Again: the workers' outputs were moved out, and nothing a model keeps went with them.
  assertSameBits(await pool.predict(input), want, "lstm128.onnx (second call)");
});

test("a batch-first torch export is split; a time-first one (axis 0: time) runs whole, as model.predict", async () => {
  for (const [name, split] of [
    ["lstm_last_ts", true],
    ["gru_bidir3_norm_ts", true],
    ["keras_stacked", true],
    ["lstm_bidir2_every_ts", false],
    ["rnn_relu_bidir_ts", false],
  ] as const) {
    const pool = await open(join(ONNX, name, "model.onnx"));
    const input = fixtureInputs(name);
    const got = await pool.predict(input);
    assertSameBits(got, pool.model.predict(input), name);
    assert.deepEqual(pool.stats, { inlineCalls: split ? 0 : 1, splitCalls: split ? 1 : 0, retriedCalls: 0 }, name);
  }
});

test("the workers load an ONNX model's external data file too", async () => {
  const pool = await open(join(ONNX, "op_gru_external", "model.onnx"));
  assert.equal(pool.threads, 3);
  const input = fixtureInputs("op_gru_external");
  assertSameBits(await pool.predict(input), pool.model.predict(input), "op_gru_external");
});
