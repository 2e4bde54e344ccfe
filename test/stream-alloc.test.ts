/**
 * A streaming step allocates nothing after the first call: 100,000 steps through the seed LSTM
 * and through a causal Conv1D + stacked LSTM forecaster run without a single garbage collection
 * and leave the heap where it was (any object per step would add at least 1.6 MB).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { FIXTURES } from "./helpers.js";

const script = new URL("./support/stream-alloc.ts", import.meta.url).pathname;

for (const model of ["seed/model.keras", "real-world/tfkeras2.4-conv1d-causal-stacked-lstm/model.h5"]) {
  test(`100,000 streaming steps allocate nothing: ${model}`, () => {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, `${FIXTURES}${model}`, "100000"], { encoding: "utf8" });
    const { steps, heapGrowthBytes, collections } = JSON.parse(out) as { steps: number; heapGrowthBytes: number; collections: number };
    assert.equal(steps, 100000);
    assert.equal(collections, 0, "a garbage collection ran while streaming");
    assert.ok(heapGrowthBytes < 100_000, `the heap grew by ${heapGrowthBytes} bytes over ${steps} steps`);
  });
}
