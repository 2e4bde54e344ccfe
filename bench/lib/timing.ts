/**
 * Repeated timing of one call. Calls that take microseconds are grouped: one sample is `reps`
 * consecutive calls, and its time per call is the sample's time / reps. Median and minimum are
 * taken over samples.
 */
export interface TimingOptions {
  /** Keep calling (untimed) for this long before sampling. */
  warmupMs: number;
  /** Time budget for the samples... */
  budgetMs: number;
  /** ...but take at least this many... */
  minSamples: number;
  /** ...and at most this many. */
  maxSamples: number;
  /** Group calls so that one sample lasts about this long. */
  sampleMs: number;
  /** A call this slow (after the parity check's call, which warms up) is the only sample (--quick). */
  longCallMs: number;
}

export const QUICK: TimingOptions = {
  warmupMs: 100,
  budgetMs: 400,
  minSamples: 3,
  maxSamples: 200,
  sampleMs: 2,
  longCallMs: 1500,
};
export const FULL: TimingOptions = {
  warmupMs: 500,
  budgetMs: 5000,
  minSamples: 5,
  maxSamples: 1000,
  sampleMs: 10,
  longCallMs: Infinity,
};

export interface Timing {
  median_ms: number;
  min_ms: number;
  samples: number;
  /** Calls per sample. */
  reps: number;
}

type Call = () => unknown;

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

/** Runs `call` `reps` times and returns the elapsed milliseconds. */
async function timeReps(call: Call, reps: number, async: boolean): Promise<number> {
  const start = performance.now();
  if (async) for (let i = 0; i < reps; i++) await call();
  else for (let i = 0; i < reps; i++) call();
  return performance.now() - start;
}

export async function measure(call: Call, options: TimingOptions): Promise<Timing> {
  // The first call tells whether the API is asynchronous (onnxruntime) and how long a call takes.
  let start = performance.now();
  const first = call();
  const async = isThenable(first);
  if (async) await first;
  let perCall = performance.now() - start;
  if (perCall > options.longCallMs) return { median_ms: perCall, min_ms: perCall, samples: 1, reps: 1 };
  const warmupEnd = start + options.warmupMs;
  while (performance.now() < warmupEnd) {
    const elapsed = await timeReps(call, 1, async);
    perCall = Math.min(perCall, elapsed);
  }
  const reps = Math.max(1, Math.ceil(options.sampleMs / Math.max(perCall, 1e-4)));
  const perSample: number[] = [];
  start = performance.now();
  while (
    perSample.length < options.minSamples ||
    (perSample.length < options.maxSamples && performance.now() - start < options.budgetMs)
  ) {
    perSample.push((await timeReps(call, reps, async)) / reps);
  }
  perSample.sort((a, b) => a - b);
  const mid = perSample.length >> 1;
  const median = perSample.length % 2 === 1 ? perSample[mid] : (perSample[mid - 1] + perSample[mid]) / 2;
  return { median_ms: median, min_ms: perSample[0], samples: perSample.length, reps };
}
