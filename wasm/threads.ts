// kerasless' WebAssembly kernels for a team of threads sharing one memory (built with shared,
// imported memory by scripts/build-wasm.ts into src/kernels/wasm-threads-binary.ts). Everything
// in kernels.ts, plus whole sequences whose units are split into `parts` blocks: block k owns
// units k*uk.. of every gate (uk = units / parts) and its columns of the projection and of the
// kernels, which the host lays out block after block. Threads run ranges of blocks and meet at a
// barrier after every step; the state is double-buffered (h0 read while h1 is written, then swapped).
//
// The call convention between the threads is defined here once: a job is a record of i32 fields
// in the shared memory (the enum Job gives their order; the host reads the field names from this
// module's exports and writes them), and every thread calls runJob(job, its blocks, ...).
export * from "./kernels";
import { chunkStart, copyStep, gemmPacked, gruGates, lstmGates, projectChunk } from "./kernels";

/** Spins before a waiting thread sleeps: a step's partner is usually microseconds away. */
const SPINS_BEFORE_SLEEP = 20000;
/** The longest sleep (ns) between looks at the counter. */
const SLEEP_NS: i64 = 1000000;
/**
 * Whole sleeps (each SLEEP_NS long) with no arrival before a thread gives up: its partner is gone.
 * Counting sleeps that ran their full length bounds the wait below by 10 s without a clock; a call
 * out to the host's clock would allocate on a busy machine, where waits are long.
 */
const SLEEPS_BEFORE_GIVING_UP = 10000;

/**
 * Counts this thread in at `counter` and waits until `target` threads have: spinning first, then
 * sleeping on the counter (a preempted partner can take a whole time slice to arrive, and
 * spinning through it would keep the partner's core busy). The last to arrive wakes the sleepers.
 * False when no thread arrived for SLEEPS_BEFORE_GIVING_UP whole sleeps (at least 10 s).
 */
function arrive(counter: usize, target: i32): bool {
  if (atomic.add<i32>(counter, 1) + 1 >= target) {
    atomic.notify(counter, 0x7fffffff);
    return true;
  }
  for (let spins = 0; spins < SPINS_BEFORE_SLEEP; spins++) {
    if (atomic.load<i32>(counter) >= target) return true;
  }
  let seen = atomic.load<i32>(counter);
  let fullSleeps = 0;
  while (seen < target) {
    const timedOut = atomic.wait<i32>(counter, seen, SLEEP_NS) == AtomicWaitResult.TIMED_OUT;
    const arrived = atomic.load<i32>(counter);
    if (arrived != seen) fullSleeps = 0;
    else if (timedOut && ++fullSleeps >= SLEEPS_BEFORE_GIVING_UP) return false;
    seen = arrived;
  }
  return true;
}

/** The fields of a job record, i32 each, in this order. */
export enum Job {
  /** JOB_LSTM or JOB_GRU. */
  CELL, X, FEATURES, KERNEL, BIAS, P, CHUNK, TIME, PACKED,
  /** GRU only: the recurrent bias and the [batch, 3u] scratch. */
  RECURRENT_BIAS, REC,
  H0, H1,
  /** LSTM only: the carry state. */
  C,
  BATCH, UNITS, GATE, BACKWARDS, OUT, PARTS,
  /** The record's length in i32 fields. */
  FIELDS,
}
export const JOB_LSTM: i32 = 0;
export const JOB_GRU: i32 = 1;

// @ts-ignore: decorator
@inline function field(job: usize, index: i32): i32 {
  return load<i32>(job + (<usize>index << 2));
}

/**
 * Runs blocks from..to of the job at `job` (see Job): an LSTM, or a GRU with reset_after, whose
 * units are split into PARTS blocks (see the file comment). Every step, with the blocks' projection
 * columns computed from x a chunk of steps at a time (as in lstmSteps); `threads` threads run the
 * blocks between them and meet at `counter` after each step (threads 1: no barrier). Returns 1, or
 * 0 when a barrier timed out. The final h is in H0 when TIME is even, else in H1.
 */
export function runJob(job: usize, from: i32, to: i32, threads: i32, counter: usize): i32 {
  const lstm = field(job, Job.CELL) == JOB_LSTM;
  const x = <usize>field(job, Job.X);
  const features = field(job, Job.FEATURES);
  const kernel = <usize>field(job, Job.KERNEL);
  const bias = <usize>field(job, Job.BIAS);
  const p = <usize>field(job, Job.P);
  const chunk = field(job, Job.CHUNK);
  const time = field(job, Job.TIME);
  const packed = <usize>field(job, Job.PACKED);
  // GRU: the recurrent bias (in blocks too) and h·U + that bias, [batch, 3u] scratch.
  const recurrentBias = <usize>field(job, Job.RECURRENT_BIAS);
  const rec = <usize>field(job, Job.REC);
  // LSTM: the carry state.
  const c = <usize>field(job, Job.C);
  const batch = field(job, Job.BATCH);
  const units = field(job, Job.UNITS);
  const gate = field(job, Job.GATE);
  const backwards = field(job, Job.BACKWARDS);
  const out = <usize>field(job, Job.OUT);
  const parts = field(job, Job.PARTS);
  const uk = units / parts;
  const gates = lstm ? 4 : 3;
  const blockWidth = gates * uk;
  const width = gates * units;
  const blockBytes = <usize>blockWidth << 2;
  let hIn = <usize>field(job, Job.H0);
  let hOut = <usize>field(job, Job.H1);
  let t0 = 0;
  for (let s = 0; s < time; s++) {
    if (s % chunk == 0) {
      // Each block projects its own columns: no other thread reads them.
      const len = min(chunk, time - s);
      t0 = chunkStart(s, len, time, backwards);
      for (let k = from; k < to; k++) {
        projectChunk(x, features, time, kernel, width, bias, p, chunk, t0, len, batch, k * blockWidth, blockWidth);
      }
    }
    const t = backwards ? time - 1 - s : s;
    const pt = p + (<usize>(t - t0) * <usize>width << 2);
    for (let k = from; k < to; k++) {
      const pk = pt + <usize>k * blockBytes;
      const packedK = packed + <usize>k * <usize>units * blockBytes;
      const unitOffset = <usize>(k * uk) << 2;
      if (lstm) {
        // h·U accumulates into the block's projection, then the gates.
        gemmPacked(hIn, units, packedK, pk, chunk * width, batch, units, blockWidth, 0, 1);
        lstmGates(pk, chunk * width, hOut + unitOffset, c + unitOffset, units, batch, uk, gate, 0, 0);
      } else {
        const rk = rec + <usize>k * blockBytes;
        const biasK = recurrentBias ? recurrentBias + <usize>k * blockBytes : 0;
        gemmPacked(hIn, units, packedK, rk, width, batch, units, blockWidth, biasK, 0);
        gruGates(pk, chunk * width, rk, width, hIn + unitOffset, hOut + unitOffset, units, batch, uk, gate, 0, 0);
      }
      if (out) copyStep(hOut + unitOffset, out + unitOffset, batch, units, uk, time, s);
    }
    if (threads > 1 && !arrive(counter, (s + 1) * threads)) return 0;
    const swap = hIn;
    hIn = hOut;
    hOut = swap;
  }
  return 1;
}
