/**
 * Kernel threads on convolutions and matrix products (src/kernels/conv/team.ts): one thread and
 * setKernelThreads(2) side by side in one process, calls interleaved round by round (the machine
 * is shared and noisy). Each workload's model is loaded twice, once before the team starts (its
 * products stay on the calling thread) and once after; both are checked against Keras, and
 * against each other bit for bit, before timing.
 *
 *   node --import tsx bench/conv-threads.ts [--rounds 7] [--workloads W7,W8] [--sweep]
 *
 * Prints, per workload, each side's median with the min-max over rounds, and the ratio 2 threads /
 * 1 thread (below 1: the threads are faster). --sweep also times single convolutions of growing
 * size both ways (every call split), which is how MIN_TEAM_WORK (src/kernels/plan.ts) was chosen.
 * Figures taken while other processes keep the cores busy say little about threads: the second
 * thread then waits for a core. Run it on a quiet machine.
 */
import { readFileSync } from "node:fs";
import { planConvolution, type ConvShape } from "../src/kernels/conv/index.js";
import { MIN_TEAM_WORK, setMinTeamWork } from "../src/kernels/plan.js";
import { loadModel, setKernelThreads, type Model } from "../src/node.js";
import { benchPath, compareWithKeras, loadWorkloads } from "./lib/spec.js";

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ROUNDS = Number(argument("--rounds") ?? 7);
const WORKLOADS = (argument("--workloads") ?? "W7,W8").split(",");

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const summary = (times: number[]): string =>
  `${ms(median(times)).padStart(7)} ms  [${ms(Math.min(...times))}-${ms(Math.max(...times))}]`;

/** Times `run` once per round for each side, alternating which side goes first. */
function interleave(sides: (() => void)[], rounds: number, repsPerRound = 1): number[][] {
  const times = sides.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
    for (const i of order) {
      const start = performance.now();
      for (let k = 0; k < repsPerRound; k++) sides[i]();
      times[i].push((performance.now() - start) / repsPerRound);
    }
  }
  return times;
}

const attached = () => new Promise((resolve) => setTimeout(resolve, 50));

async function workloads(): Promise<void> {
  const selected = loadWorkloads().filter((w) => WORKLOADS.includes(w.id));
  for (const w of selected) {
    if (w.unavailable !== undefined) {
      console.log(`${w.id}: skipped, ${w.unavailable}`);
      continue;
    }
    const bytes = new Uint8Array(readFileSync(benchPath(w.model.keras)));
    await setKernelThreads(1);
    const alone = await loadModel(bytes);
    await setKernelThreads(2);
    const threaded = await loadModel(bytes);
    await attached();
    const input = { shape: w.tensorShape, data: w.input };
    const predict = (model: Model) => model.predict(input)[0].data as Float32Array;
    const [one, two] = [predict(alone), predict(threaded)];
    for (const [name, got] of [
      ["1 thread", one],
      ["2 threads", two],
    ] as const) {
      const parity = compareWithKeras(got, w.expected);
      if (!parity.ok) throw new Error(`${w.id} ${name}: ${parity.problem}`);
    }
    if (one.some((v, i) => !Object.is(v, two[i]))) throw new Error(`${w.id}: 2 threads differ from 1 thread`);
    const split = threaded.kernelPlans().filter((p) => /wasm-im2col-threads|wasm-threads/.test(p.backend)).length;
    const [t1, t2] = interleave([() => predict(alone), () => predict(threaded)], ROUNDS);
    console.log(`${w.id} ${w.title} (${split} layers with products on the team; matches Keras, bit-equal)`);
    console.log(`  1 thread   ${summary(t1)}`);
    console.log(`  2 threads  ${summary(t2)}`);
    console.log(`  ratio 2/1  ${(median(t2) / median(t1)).toFixed(2)}`);
  }
}

/** Single convolutions of growing size, one thread against every call split over 2. */
async function sweep(): Promise<void> {
  await setKernelThreads(2);
  setMinTeamWork(0);
  console.log(`\nconvolution size sweep (MIN_TEAM_WORK is ${MIN_TEAM_WORK} multiply-adds)`);
  console.log("  shape                         multiply-adds   1 thread (µs)   2 threads (µs)   2/1");
  const cases: [string, ConvShape, number][] = [];
  for (const n of [2, 4, 6, 8, 12, 16, 24, 32]) {
    const conv3x3: ConvShape = {
      kernel: [3, 3],
      strides: [1, 1],
      dilations: [1, 1],
      groups: 1,
      inChannels: 32,
      outChannels: 32,
    };
    cases.push([`3x3 32->32 at ${n}x${n}`, conv3x3, n]);
    const pointwise: ConvShape = {
      kernel: [1, 1],
      strides: [1, 1],
      dilations: [1, 1],
      groups: 1,
      inChannels: 64,
      outChannels: 64,
    };
    cases.push([`1x1 64->64 at ${n}x${n}`, pointwise, n]);
  }
  for (const [name, shape, n] of cases) {
    const taps = shape.kernel.reduce((p, k) => p * k, 1);
    const kernel = new Float32Array(taps * shape.inChannels * shape.outChannels).map((_, i) => Math.sin(i));
    const pad = (shape.kernel[0] - 1) / 2;
    const call = { batch: 1, input: [n, n], output: [n, n], padsBegin: [pad, pad] };
    const x = new Float32Array(n * n * shape.inChannels).map((_, i) => Math.cos(i));
    const y1 = new Float32Array(n * n * shape.outChannels);
    const y2 = y1.slice();
    const single = planConvolution(shape, kernel, null, null, { backend: "wasm-im2col", reason: "sweep" });
    const split = planConvolution(shape, kernel, null, null);
    await attached();
    const work = n * n * taps * shape.inChannels * shape.outChannels;
    // About 20 ms of calls per round.
    const reps = Math.max(1, Math.round(2e8 / 1e3 / Math.max(1, work / 1e3) / 10));
    const [t1, t2] = interleave([() => single.run(x, call, y1), () => split.run(x, call, y2)], ROUNDS * 3, reps);
    const [m1, m2] = [median(t1) * 1e3, median(t2) * 1e3];
    console.log(
      `  ${name.padEnd(28)}  ${String(work).padStart(13)}   ${m1.toFixed(1).padStart(13)}   ` +
        `${m2.toFixed(1).padStart(14)}   ${(m2 / m1).toFixed(2)}`,
    );
  }
  setMinTeamWork(null);
}

await workloads();
if (process.argv.includes("--sweep")) await sweep();
await setKernelThreads(1);
