/**
 * A streaming step allocates nothing after the first call: 100,000 steps through the seed LSTM
 * (and ONNX LSTM and GRU graphs) and 40,000 through a causal Conv1D + stacked LSTM forecaster run
 * without a single scavenge and leave the heap where it was (any object per step would add 16
 * bytes a step).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { FIXTURES } from "./helpers.js";
import { kernelPath } from "../src/kernels/wasm.js";

const script = new URL("./support/stream-alloc.ts", import.meta.url).pathname;

// The forecaster is bigger, so it runs fewer steps (an object per step would still add 640 KB). Its
// warm-up is as long as the measured run: after 20,000 warm-up steps the JIT still settled 160 KB in
// one CI run (34 KB alone; an allocation per step would grow with the steps, this did not).
const cases: [model: string, steps: number, threads?: number, splitAll?: "split-all"][] = [
  ["seed/model.keras", 100_000],
  ["real-world/tfkeras2.4-conv1d-causal-stacked-lstm/model.h5", 40_000],
  ["keras3/td_dense/model.keras", 100_000],
  // LSTM(128): with kernel threads every step is a job for the worker too.
  ["../../bench/models/lstm128.keras", 20_000, 2],
  // A ConvLSTM2D on kernel threads, every convolution split (input and recurrent, each step).
  ["keras3/convlstm_stateful/model.keras", 20_000, 2, "split-all"],
  // ONNX graphs: a torch LSTM (time first, its last step by Gather, states from ConstantOfShape)
  // and a tf2onnx Keras GRU; every node is bound once, when the stream opens.
  ["onnx/lstm_last_ts/model.onnx", 100_000],
  ["onnx/keras_gru_reset_after/model.onnx", 100_000],
];
for (const [model, count, threads, splitAll] of cases) {
  test(
    `${count} streaming steps allocate nothing: ${model}` +
      (threads === undefined ? "" : ` on ${threads} kernel threads`) +
      (splitAll === undefined ? "" : ", every product split"),
    { skip: threads !== undefined && kernelPath() !== "wasm" && "kernel threads run on the WebAssembly path" },
    () => {
      // --no-concurrent-recompilation: the warm-up ends with the hot code optimized however busy the
      // machine is (no allocation relies on the optimizing compiler, as in any long-running stream).
      const out = execFileSync(
        process.execPath,
        [
          "--expose-gc",
          "--no-concurrent-recompilation",
          "--import",
          "tsx",
          script,
          `${FIXTURES}${model}`,
          String(count),
          ...(threads === undefined ? [] : [String(threads)]),
          ...(splitAll === undefined ? [] : [splitAll]),
        ],
        { encoding: "utf8" },
      );
      const { steps, heapGrowthBytes, collections, jobs } = JSON.parse(out) as {
        steps: number;
        heapGrowthBytes: number;
        collections: number;
        jobs: number;
      };
      assert.equal(steps, count);
      // On threads, every step hands the workers at least one job (the ConvLSTMs: one per layer).
      if (threads !== undefined) assert.ok(jobs >= steps, `${jobs} jobs for the workers over ${steps} steps`);
      assert.equal(collections, 0, "a scavenge (young-generation collection) ran while streaming");
      // Half the smallest object per step: what is left is the JIT settling, not the steps.
      assert.ok(heapGrowthBytes < 8 * count, `the heap grew by ${heapGrowthBytes} bytes over ${steps} steps`);
    },
  );
}
