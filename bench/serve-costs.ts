/**
 * What one request of `kerasless serve` costs, piece by piece, measured side by side in one
 * process (medians over rounds, with min-max): the decisions in docs/decisions.md ("kerasless
 * serve: batching") rest on these ratios.
 * - seed: a one-row predict on the event loop against the hand-off of the same predict to the
 *   model's worker thread and back (wall time, and the event loop's own busy time per hand-off);
 * - LSTM(128): 64 one-row predicts against one predict of 64 rows, on one thread and on the
 *   server's ModelPool of two threads: the most dynamic batching can gain on this machine;
 * - the JSON of a request: parsing the body, the rows into a tensor, the answer back to JSON.
 *
 *   node --import tsx bench/serve-costs.ts [--rounds 7]
 */
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { normalizeInputs } from "../src/inputs.js";
import { loadModelPool } from "../src/node/pool.js";
import { kernelPath } from "../src/kernels/wasm.js";
import { Executor } from "../src/server/executor.js";
import { Tensor } from "../src/tensor.js";
import { benchPath, loadWorkloads, type Workload } from "./lib/spec.js";

const { values: args } = parseArgs({ options: { rounds: { type: "string", default: "7" } } });
const ROUNDS = Number(args.rounds);

/** Milliseconds per call of `call`, repeated `reps` times, over ROUNDS rounds: median, min, max. */
async function time(call: () => unknown, reps: number): Promise<number[]> {
  const perCall: number[] = [];
  for (let i = 0; i < Math.min(reps, 20); i++) await call();
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) await call();
    perCall.push((performance.now() - start) / reps);
  }
  return perCall.sort((a, b) => a - b);
}

const show = (xs: number[]): string => {
  const f = (x: number): string => (x < 0.1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(3)} ms`);
  return `${f(xs[Math.floor(xs.length / 2)])} (${f(xs[0])}-${f(xs[xs.length - 1])})`;
};
const med = (xs: number[]): number => xs[Math.floor(xs.length / 2)];

function rows(w: Workload, n: number): Tensor {
  const [, steps, features] = w.inputShape;
  const one = w.input.subarray(0, steps * features);
  const data = new Float32Array(n * one.length);
  for (let i = 0; i < n; i++) data.set(one, i * one.length);
  return new Tensor([n, steps, features], data);
}

const workloads = loadWorkloads();
const seedW = workloads.find((w) => w.id === "W1")!;
const lstmW = workloads.find((w) => w.id === "W2")!;
process.stdout.write(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}\n`,
);

// --- seed: on the event loop vs the hand-off to the model's thread ---
const seed = (await loadModelPool(benchPath(seedW.model.keras), { threads: 1 })).model;
const seedRow = rows(seedW, 1);
const inline = await time(() => seed.predict(seedRow), 2000);
const inline64 = await time(() => seed.predict(rows(seedW, 64)), 200);
const executor = new Executor(
  { path: benchPath(seedW.model.keras), threads: 1, kernelPath: kernelPath(), inlineBelowMs: 0, probeRows: 1 },
  () => undefined,
  () => undefined,
);
await executor.start();
const hop = () => executor.predict([{ shape: [1, 4, 3], data: seedRow.data.slice() }]);
const elu = performance.eventLoopUtilization();
const handoff = await time(hop, 2000);
const busy = performance.eventLoopUtilization(elu);
// The event loop's busy share of the hand-offs' wall time, per hand-off.
const handoffBusy = busy.utilization * med(handoff);
await executor.close();
process.stdout.write(
  `seed, one row, on the event loop:          ${show(inline)}\n` +
    `seed, 64 rows, on the event loop:          ${show(inline64)}\n` +
    `seed, one row, hand-off to the thread:     ${show(handoff)} wall, ` +
    `about ${(handoffBusy * 1000).toFixed(1)} µs of it on the event loop\n`,
);

// --- LSTM(128): 64 one-row predicts vs one of 64 rows ---
const lstm = (await loadModelPool(benchPath(lstmW.model.keras), { threads: 1 })).model;
const pool = await loadModelPool(benchPath(lstmW.model.keras), { threads: 2 });
const one = rows(lstmW, 1);
const sixtyFour = rows(lstmW, 64);
const singles = await time(() => {
  for (let i = 0; i < 64; i++) lstm.predict(one);
}, 3);
const batched = await time(() => lstm.predict(sixtyFour), 3);
const batchedPool = await time(() => pool.predict(rows(lstmW, 64)), 3);
await pool.close();
process.stdout.write(
  `LSTM(128), 64 one-row predicts, 1 thread:  ${show(singles)}\n` +
    `LSTM(128), one 64-row predict, 1 thread:   ${show(batched)}  (${(med(singles) / med(batched)).toFixed(2)}x)\n` +
    `LSTM(128), one 64-row predict, pool of 2:  ${show(batchedPool)}  ` +
    `(${(med(singles) / med(batchedPool)).toFixed(2)}x)\n`,
);

// --- the JSON of one request ---
const info = lstm.inputs;
for (const [label, w] of [
  ["seed", seedW],
  ["LSTM(128)", lstmW],
] as const) {
  const body = Buffer.from(JSON.stringify({ instances: rows(w, 1).toArray() }));
  const parse = await time(() => JSON.parse(body.toString("utf8")), 500);
  const parsed = JSON.parse(body.toString("utf8")) as { instances: number[][][] };
  const inputs = label === "seed" ? seed.inputs : info;
  const tensor = await time(() => normalizeInputs(parsed.instances, inputs), 500);
  const answer = await time(() => Buffer.from(JSON.stringify({ predictions: [[0.123456789]] })), 500);
  process.stdout.write(
    `${label} request body (${body.length} bytes): JSON.parse ${show(parse)}, to a tensor ${show(tensor)}, ` +
      `answer to JSON ${show(answer)}\n`,
  );
}
process.stdout.write(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}\n`,
);
