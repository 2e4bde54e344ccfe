// The recurrent steps of kerasless' WebAssembly SIMD kernels (AssemblyScript; part of the module
// wasm/kernels.ts lists): LSTM and GRU (reset_after) gate passes, and whole sequences. A sequence's
// units may be split into `parts` blocks for a team of threads sharing one memory (the module built
// with threads, src/kernels/wasm-threads-binary.ts): block k owns units k*uk.. of every gate
// (uk = units / parts) and its columns of the projection and of the kernels, which the host lays
// out block after block. Threads run ranges of blocks and meet at a barrier after every step; the
// state is then double-buffered (h0 read while h1 is written, then swapped).
//
// The call convention is defined here once: a sequence is a job record of i32 fields in memory
// (the enum Job gives their order; the host reads the field names from the module's exports and
// writes them; the kernels read each where they use it, record.ts), and every thread calls
// runJob(job, its blocks, ...).
import { gemm, gemmPacked, madd4 } from "./gemm";
import { JOB_PRODUCT, runProducts } from "./products";
import { field } from "./record";

// exp over four lanes: x = n·ln2 + r with |r| <= ln2/2, e^r by its Taylor polynomial to r^7
// (error below float32 rounding), 2^n built in the exponent bits. x is clamped so 2^n stays normal.
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  // pmin/pmax are one instruction each (min/max must order NaN and ±0, which costs several);
  // with x first, a NaN still comes through.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  // n = round(x / ln2) by adding 1.5·2^23: the sum's low mantissa bits then hold n itself, which
  // builds 2^n below without a float-to-int conversion (exact for |n| < 2^22).
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504)), f32x4.splat(12582912.0));
  const n = f32x4.sub(shifted, f32x4.splat(12582912.0));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  // Estrin's scheme: the same polynomial in four dependent steps instead of fourteen, so the
  // gate pass is not bound by the latency of one long chain.
  const r2 = f32x4.mul(r, r);
  const r4 = f32x4.mul(r2, r2);
  const a = f32x4.add(f32x4.splat(1.0), r);
  const b = madd4(r, f32x4.splat(1.0 / 6.0), f32x4.splat(0.5));
  const c = madd4(r, f32x4.splat(1.0 / 120.0), f32x4.splat(1.0 / 24.0));
  const d = madd4(r, f32x4.splat(1.0 / 5040.0), f32x4.splat(1.0 / 720.0));
  const p = madd4(r4, madd4(r2, d, c), madd4(r2, b, a));
  const scale = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2.0), f32x4.add(exp4(f32x4.add(x, x)), one)));
}

/** The gates' activation: Keras' sigmoid, or hard_sigmoid as Keras 2 or Keras 3 defines it. */
// Compile-time constants inside (so the passes below fold them); the exported copies are for the host.
const SIGMOID: i32 = 0;
const HARD_SIGMOID_KERAS2: i32 = 1;
const HARD_SIGMOID_KERAS3: i32 = 2;
export const GATE_SIGMOID: i32 = SIGMOID;
export const GATE_HARD_SIGMOID_KERAS2: i32 = HARD_SIGMOID_KERAS2;
export const GATE_HARD_SIGMOID_KERAS3: i32 = HARD_SIGMOID_KERAS3;

// The same activations as types, for the passes below, which are generic in their gates' activation:
// the compiler makes one function per activation, with the activation folded into its loop. (A
// branch on the activation inside the loop cost a quarter of the pass; one function holding a copy
// of the loop per activation, 2-4% of a sequence: the engine compiles each loop best on its own.)
class Sigmoid {}
class HardSigmoidKeras2 {}
class HardSigmoidKeras3 {}

// @ts-ignore: decorator
@inline function gate4<Gate>(x: v128): v128 {
  if (idof<Gate>() == idof<Sigmoid>()) return sigmoid4(x);
  const zero = f32x4.splat(0.0);
  const one = f32x4.splat(1.0);
  const slope = f32x4.splat(idof<Gate>() == idof<HardSigmoidKeras2>() ? <f32>0.2 : <f32>(1.0 / 6.0));
  return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, slope), f32x4.splat(0.5)), zero), one);
}

/**
 * Stores the first `lanes` (1 to 4) lanes of v at ptr. A state row whose length is not a multiple
 * of four ends with such a partial vector; the lanes past it belong to the next row.
 */
// @ts-ignore: decorator
@inline function storeLanes(ptr: usize, v: v128, lanes: usize): void {
  if (lanes == 4) { v128.store(ptr, v); return; }
  v128.store32_lane(ptr, v, 0);
  if (lanes > 1) v128.store32_lane(ptr, v, 1, 4);
  if (lanes > 2) v128.store32_lane(ptr, v, 2, 8);
}

/**
 * LSTM gates (tanh activation) for `batch` rows: row b's pre-activations [i | f | g | o] are at
 * p + b*pStride floats; its states at h and c + b*sStride floats (h is only written). Rows whose
 * byte at mask + b*maskStride is 0 keep their states (mask 0: every row runs).
 * Any units: the last vector of a row may be partial. Its spare lanes read the values that follow
 * (the next gate block or row, or the slack after the workspace) and are never stored.
 */
export function lstmGates(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, gate: i32, mask: usize,
  maskStride: i32
): void {
  if (gate == SIGMOID) lstmRows<Sigmoid>(p, pStride, h, c, sStride, batch, units, mask, maskStride);
  else if (gate == HARD_SIGMOID_KERAS2) {
    lstmRows<HardSigmoidKeras2>(p, pStride, h, c, sStride, batch, units, mask, maskStride);
  } else lstmRows<HardSigmoidKeras3>(p, pStride, h, c, sStride, batch, units, mask, maskStride);
}

// @ts-ignore: decorator
@noinline function lstmRows<Gate>(
  p: usize, pStride: i32, h: usize, c: usize, sStride: i32, batch: i32, units: i32, mask: usize, maskStride: i32
): void {
  const ub = <usize>units << 2;
  for (let b = 0; b < batch; b++) {
    if (mask && load<u8>(mask + <usize>b * <usize>maskStride) == 0) continue;
    const pr = p + <usize>b * (<usize>pStride << 2);
    const sr = <usize>b * (<usize>sStride << 2);
    for (let j: usize = 0; j < ub; j += 16) {
      const lanes = min<usize>(4, (ub - j) >> 2);
      const i = gate4<Gate>(v128.load(pr + j));
      const f = gate4<Gate>(v128.load(pr + ub + j));
      const g = tanh4(v128.load(pr + 2 * ub + j));
      const o = gate4<Gate>(v128.load(pr + 3 * ub + j));
      const cell = madd4(f, v128.load(c + sr + j), f32x4.mul(i, g));
      storeLanes(c + sr + j, cell, lanes);
      storeLanes(h + sr + j, f32x4.mul(o, tanh4(cell)), lanes);
    }
  }
}

/**
 * GRU gates with reset_after (tanh activation): row b's input part [z | r | h~] is at
 * p + b*pStride floats, its recurrent part (h·U + recurrent bias) at rec + b*recStride floats;
 * the previous state is read at hIn and the new one written at hOut (+ b*sStride floats; they
 * may be the same). Masks and any units as in lstmGates.
 */
function gruGates(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  gate: i32, mask: usize, maskStride: i32
): void {
  if (gate == SIGMOID) {
    gruRows<Sigmoid>(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, mask, maskStride);
  } else if (gate == HARD_SIGMOID_KERAS2) {
    gruRows<HardSigmoidKeras2>(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, mask, maskStride);
  } else gruRows<HardSigmoidKeras3>(p, pStride, rec, recStride, hIn, hOut, sStride, batch, units, mask, maskStride);
}

// @ts-ignore: decorator
@noinline function gruRows<Gate>(
  p: usize, pStride: i32, rec: usize, recStride: i32, hIn: usize, hOut: usize, sStride: i32, batch: i32, units: i32,
  mask: usize, maskStride: i32
): void {
  const ub = <usize>units << 2;
  const one = f32x4.splat(1.0);
  for (let b = 0; b < batch; b++) {
    if (mask && load<u8>(mask + <usize>b * <usize>maskStride) == 0) continue;
    const pr = p + <usize>b * (<usize>pStride << 2);
    const rr = rec + <usize>b * (<usize>recStride << 2);
    const sr = <usize>b * (<usize>sStride << 2);
    for (let j: usize = 0; j < ub; j += 16) {
      const lanes = min<usize>(4, (ub - j) >> 2);
      const z = gate4<Gate>(f32x4.add(v128.load(pr + j), v128.load(rr + j)));
      const r = gate4<Gate>(f32x4.add(v128.load(pr + ub + j), v128.load(rr + ub + j)));
      const cand = tanh4(madd4(r, v128.load(rr + 2 * ub + j), v128.load(pr + 2 * ub + j)));
      storeLanes(
        hOut + sr + j, madd4(z, v128.load(hIn + sr + j), f32x4.mul(f32x4.sub(one, z), cand)), lanes
      );
    }
  }
}

/** Copies `count` units of each row of h ([batch, sStride]) to out + (b*time + s)*sStride floats. */
function copyStep(h: usize, out: usize, batch: i32, sStride: i32, count: i32, time: i32, s: i32): void {
  const rowBytes = <usize>sStride << 2;
  for (let b = 0; b < batch; b++) {
    memory.copy(out + (<usize>b * <usize>time + <usize>s) * rowBytes, h + <usize>b * rowBytes, <usize>count << 2);
  }
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

/** A job's gates per unit: four for an LSTM, three for a GRU. */
// @ts-ignore: decorator
@inline function gatesOf(job: usize): i32 {
  return field(job, Job.CELL) == JOB_LSTM ? 4 : 3;
}

/**
 * x·kernel + bias for time steps [t0, t0 + len) of every row, columns [col, col + cols) of the job's
 * width (gates × UNITS): x is [BATCH, TIME, FEATURES]; row b's step t0 + j lands at
 * P + (b*CHUNK + j)*width floats. A sequence computes its projection a chunk of steps at a time,
 * so the buffer holds CHUNK steps, not the whole sequence.
 */
function projectChunk(job: usize, t0: i32, len: i32, col: i32, cols: i32): void {
  const features = field(job, Job.FEATURES);
  const width = gatesOf(job) * field(job, Job.UNITS);
  const colBytes = <usize>col << 2;
  const kernel = <usize>field(job, Job.KERNEL) + colBytes;
  const bias = <usize>field(job, Job.BIAS);
  const xRow = (<usize>field(job, Job.TIME) * <usize>features) << 2;
  const pRow = (<usize>field(job, Job.CHUNK) * <usize>width) << 2;
  let x = <usize>field(job, Job.X) + (<usize>t0 * <usize>features << 2);
  let p = <usize>field(job, Job.P) + colBytes;
  const batch = field(job, Job.BATCH);
  for (let b = 0; b < batch; b++, x += xRow, p += pRow) {
    gemm(x, features, kernel, width, p, width, len, features, cols, bias ? bias + colBytes : 0, 0);
  }
}

/** The first time index of the chunk starting at processing step s (len steps; backwards: from the end). */
// @ts-ignore: decorator
@inline function chunkStart(s: i32, len: i32, time: i32, backwards: i32): i32 {
  return backwards ? time - s - len : s;
}

/**
 * Block k's h·U, for the step whose projection is at p (row stride CHUNK × width floats): LSTM adds
 * it to the block's projection columns; GRU writes it, plus the recurrent bias, to the block's
 * columns of REC ([BATCH, 3u]).
 */
// @ts-ignore: decorator
@inline function blockProduct(job: usize, h: usize, p: usize, k: i32): void {
  const units = field(job, Job.UNITS);
  const width = gatesOf(job) * units;
  const blockWidth = width / field(job, Job.PARTS);
  const blockBytes = <usize>blockWidth << 2;
  const packed = <usize>field(job, Job.PACKED) + <usize>k * <usize>units * blockBytes;
  const batch = field(job, Job.BATCH);
  if (field(job, Job.CELL) == JOB_LSTM) {
    const pStride = field(job, Job.CHUNK) * width;
    gemmPacked(h, units, packed, p + <usize>k * blockBytes, pStride, batch, units, blockWidth, 0, 1);
  } else {
    const recurrentBias = <usize>field(job, Job.RECURRENT_BIAS);
    const bias = recurrentBias ? recurrentBias + <usize>k * blockBytes : 0;
    const rec = <usize>field(job, Job.REC) + <usize>k * blockBytes;
    gemmPacked(h, units, packed, rec, width, batch, units, blockWidth, bias, 0);
  }
}

/**
 * Block k's gates: its projection columns at p (row stride CHUNK × width floats) with, for GRU, h·U
 * in its columns of REC; the state read at hIn and written at hOut (the same address: in place).
 * Rows whose byte at mask + b*maskStride is 0 keep their states (mask 0: every row runs).
 */
// @ts-ignore: decorator
@inline function blockGates(job: usize, hIn: usize, hOut: usize, p: usize, k: i32, mask: usize, maskStride: i32): void {
  const units = field(job, Job.UNITS);
  const width = gatesOf(job) * units;
  const uk = units / field(job, Job.PARTS);
  const blockBytes = <usize>(gatesOf(job) * uk) << 2;
  const pk = p + <usize>k * blockBytes;
  const pStride = field(job, Job.CHUNK) * width;
  const unitOffset = <usize>(k * uk) << 2;
  const batch = field(job, Job.BATCH);
  const gate = field(job, Job.GATE);
  if (field(job, Job.CELL) == JOB_LSTM) {
    const c = <usize>field(job, Job.C) + unitOffset;
    lstmGates(pk, pStride, hOut + unitOffset, c, units, batch, uk, gate, mask, maskStride);
  } else {
    const rk = <usize>field(job, Job.REC) + <usize>k * blockBytes;
    gruGates(pk, pStride, rk, width, hIn + unitOffset, hOut + unitOffset, units, batch, uk, gate, mask, maskStride);
  }
}

/** Spins before a waiting thread sleeps: a partner is usually microseconds away (even one waking from idle). */
const SPINS_BEFORE_SLEEP = 60000;
/**
 * Sleeps on the i32 at `address` while it holds `expected`, for at most a millisecond (the host's
 * Atomics.wait: WebAssembly's own atomic.wait allocates its timeout on the JavaScript heap, a BigInt
 * per call, which a stream on a busy machine would pile up step after step). 1 when it timed out.
 */
// @ts-ignore: decorator
@external("env", "sleep")
declare function sleep(address: usize, expected: i32): i32;

/**
 * Whole sleeps (each a millisecond long) with no arrival before a thread gives up: its partner is gone.
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
  // Only the build with threads has atomics; the other runs jobs on one thread (no barrier).
  if (ASC_FEATURE_THREADS) {
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
      const timedOut = sleep(counter, seen) != 0;
      const arrived = atomic.load<i32>(counter);
      if (arrived != seen) fullSleeps = 0;
      else if (timedOut && ++fullSleeps >= SLEEPS_BEFORE_GIVING_UP) return false;
      seen = arrived;
    }
  }
  return true;
}

/**
 * Runs blocks from..to of the job at `job` (see Job; a product job's parts: products.ts): a whole
 * unmasked sequence of an LSTM, or a GRU with reset_after, whose units are split into PARTS blocks
 * (see the file comment; PARTS 1: not split). Every step, with the blocks' projection columns
 * computed from x a chunk of steps at a time into P ([batch, CHUNK, width]: the workspace grows
 * with the batch, not with the length), in reverse order when BACKWARDS; with OUT (not 0), step
 * s's h goes to OUT[b, s, :]. `threads` threads run the blocks between them and meet at `counter`
 * after each step (threads 1: no barrier). Returns 1, or 0 when a barrier timed out. The final h
 * is in H0 when TIME is even, else in H1 (one thread on all blocks may give H1 = H0: h in place).
 */
export function runJob(job: usize, from: i32, to: i32, threads: i32, counter: usize): i32 {
  // A product job (products.ts): parts from..to, then one barrier where the calling thread waits.
  // Only teams run them: the build without threads (browsers) leaves products.ts out.
  if (ASC_FEATURE_THREADS && field(job, Job.CELL) == JOB_PRODUCT) {
    runProducts(job, from, to);
    return threads > 1 && !arrive(counter, threads) ? 0 : 1;
  }
  const time = field(job, Job.TIME);
  const chunk = field(job, Job.CHUNK);
  const units = field(job, Job.UNITS);
  const uk = units / field(job, Job.PARTS);
  const blockWidth = gatesOf(job) * uk;
  const width = gatesOf(job) * units;
  const out = <usize>field(job, Job.OUT);
  let hIn = <usize>field(job, Job.H0);
  let hOut = <usize>field(job, Job.H1);
  let t0 = 0;
  for (let s = 0; s < time; s++) {
    if (s % chunk == 0) {
      // Each block projects its own columns: no other thread reads them.
      const len = min(chunk, time - s);
      t0 = chunkStart(s, len, time, field(job, Job.BACKWARDS));
      for (let k = from; k < to; k++) projectChunk(job, t0, len, k * blockWidth, blockWidth);
    }
    const t = field(job, Job.BACKWARDS) ? time - 1 - s : s;
    const pt = <usize>field(job, Job.P) + (<usize>(t - t0) * <usize>width << 2);
    for (let k = from; k < to; k++) {
      blockProduct(job, hIn, pt, k);
      blockGates(job, hIn, hOut, pt, k, 0, 0);
      const unitOffset = <usize>(k * uk) << 2;
      if (out) copyStep(hOut + unitOffset, out + unitOffset, field(job, Job.BATCH), units, uk, time, s);
    }
    if (threads > 1 && !arrive(counter, (s + 1) * threads)) return 0;
    const swap = hIn;
    hIn = hOut;
    hOut = swap;
  }
  return 1;
}

/**
 * Step t of the job at `job` (see Job) with every block on this thread, h (H0) and c updated in
 * place: every block's product first (they all read h), then every block's gates. Rows whose byte
 * at mask + b*TIME is 0 keep their states (mask 0: every row runs). P holds the projection of
 * every step (CHUNK = TIME). The masked steps' path: one call per step.
 */
export function stepJob(job: usize, t: i32, mask: usize): void {
  const parts = field(job, Job.PARTS);
  const p = <usize>field(job, Job.P) + (<usize>(t * gatesOf(job) * field(job, Job.UNITS)) << 2);
  const h = <usize>field(job, Job.H0);
  for (let k = 0; k < parts; k++) blockProduct(job, h, p, k);
  for (let k = 0; k < parts; k++) blockGates(job, h, h, p, k, mask, field(job, Job.TIME));
}
