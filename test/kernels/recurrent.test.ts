/**
 * Property tests: the LSTM, GRU (reset_after both ways) and SimpleRNN cells driven by
 * runSequence, against Keras' cell equations written out here in float64. The reference rounds
 * to float32 exactly where Keras holds float32 tensors (the input projection x.W + b and the
 * states after each step), so the comparison is tight and any wrong gate, bias or order shows.
 * Random batch (1 included), time (0 included), features, units (1 included), activations,
 * go_backwards, return_sequences, initial states, masks (a masked step keeps the states and
 * repeats the previous output, or outputs zeros with zeroOutputForMask), and inputs large
 * enough to saturate the gates.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getActivation, type Activation } from "../../src/kernels/activations.js";
import {
  GruCell,
  LstmCell,
  SimpleRnnCell,
  allocateSequenceBuffers,
  runSequence,
  type RecurrentCell,
} from "../../src/kernels/recurrent.js";

// Failures show the assertion that failed, not only the counterexample.
fc.configureGlobal({ includeErrorInReport: true });

const f = Math.fround;
const REFERENCE: Record<string, (x: number) => number> = {
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  hard_sigmoid: (x) => Math.min(1, Math.max(0, x / 6 + 0.5)),
  relu: (x) => Math.max(0, x),
  linear: (x) => x,
  softsign: (x) => x / (1 + Math.abs(x)),
};
const NAMES = Object.keys(REFERENCE);
const SATURATING = ["sigmoid", "hard_sigmoid", "tanh"];
const BOUNDED = [...SATURATING, "softsign"];

interface Setup {
  kind: "lstm" | "gru_after" | "gru_before" | "simple";
  batch: number;
  time: number;
  features: number;
  units: number;
  activation: string;
  recurrentActivation: string;
  goBackwards: boolean;
  returnSequences: boolean;
  withBias: boolean;
  withInitialState: boolean;
  inputScale: number;
  /** null: no mask; otherwise the chance that a step is kept. */
  keep: number | null;
  zeroOutputForMask: boolean;
}

const setup: fc.Arbitrary<Setup> = fc
  .record({
    kind: fc.constantFrom("lstm", "gru_after", "gru_before", "simple"),
    batch: fc.integer({ min: 1, max: 3 }),
    time: fc.integer({ min: 0, max: 5 }),
    features: fc.integer({ min: 1, max: 4 }),
    units: fc.integer({ min: 1, max: 4 }),
    activation: fc.constantFrom(...NAMES),
    recurrentActivation: fc.constantFrom(...NAMES),
    goBackwards: fc.boolean(),
    returnSequences: fc.boolean(),
    withBias: fc.boolean(),
    withInitialState: fc.boolean(),
    // 1: ordinary values; 1e3 and 1e6: every gate saturates.
    inputScale: fc.constantFrom(1, 1, 1e3, 1e6),
    keep: fc.constantFrom(null, null, 0.7, 0.3, 0),
    zeroOutputForMask: fc.boolean(),
  })
  // At large magnitudes the gates must reach exactly 0 or 1 (sigmoid, hard_sigmoid, tanh do): a
  // gate like softsign stays 1/|x| short of 1, and 1 - z times an unbounded candidate turns the
  // float32 rounding every implementation (Keras included) does into large output differences.
  // The candidate must be bounded too: near-saturated gates (1 - z ~ 1e-7) times a relu or linear
  // candidate of ~1e3 magnify float32 rounding of z beyond any fixed tolerance.
  // Unbounded gates (relu, linear) compound over the steps even on ordinary inputs: after five
  // steps a GRU reached 8e22 and z·h + (1 - z)·h̃ cancelled away float32's last digits. Short
  // sequences still cover their arithmetic.
  .filter(
    (s) =>
      (s.inputScale === 1 ||
        s.kind === "simple" ||
        (SATURATING.includes(s.recurrentActivation) && BOUNDED.includes(s.activation))) &&
      (s.kind === "simple" || BOUNDED.includes(s.recurrentActivation) || s.time <= 2),
  );

const gates = { lstm: 4, gru_after: 3, gru_before: 3, simple: 1 };

/** Uniform values in [-scale, scale], float32, from a seeded stream. */
function values(n: number, scale: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => f((2 * next() - 1) * scale));
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keras' equations for one sequence run; returns [output, ...final states] as plain arrays. */
function reference(
  s: Setup,
  x: Float32Array,
  W: Float32Array,
  U: Float32Array,
  bias: Float32Array | null,
  init: Float32Array[] | null,
  mask: Uint8Array | null,
): { output: number[]; states: number[][] } {
  const { batch, time, features: F, units: u, kind } = s;
  const act = REFERENCE[s.activation];
  const rec = REFERENCE[s.recurrentActivation];
  const width = gates[kind] * u;
  const inputBias = bias === null ? null : bias.subarray(0, width);
  const recurrentBias = bias !== null && kind === "gru_after" ? bias.subarray(width, 2 * width) : null;
  const output: number[] = [];
  const finalH: number[] = [];
  const finalC: number[] = [];
  for (let b = 0; b < batch; b++) {
    let h = Array.from({ length: u }, (_, j) => (init === null ? 0 : init[0][b * u + j]));
    let c = Array.from({ length: u }, (_, j) => (init === null || kind !== "lstm" ? 0 : init[1][b * u + j]));
    const sequence: number[][] = [];
    let previous = new Array<number>(u).fill(0);
    for (let step = 0; step < time; step++) {
      const t = s.goBackwards ? time - 1 - step : step;
      if (mask !== null && mask[b * time + t] === 0) {
        // A masked step: states unchanged; the output repeats the previous one (or is zero).
        if (s.zeroOutputForMask) previous = new Array<number>(u).fill(0);
        sequence.push(previous);
        continue;
      }
      // The input projection is a float32 tensor in Keras: x.W + b, rounded once.
      const p = Array.from({ length: width }, (_, n) => {
        let sum = inputBias === null ? 0 : inputBias[n];
        for (let k = 0; k < F; k++) sum += x[(b * time + t) * F + k] * W[k * width + n];
        return f(sum);
      });
      const hU = (from: number[], column: number, rb: Float32Array | null): number => {
        let sum = rb === null ? 0 : rb[column];
        for (let k = 0; k < u; k++) sum += from[k] * U[k * width + column];
        return sum;
      };
      if (kind === "lstm") {
        const z = p.map((v, n) => v + hU(h, n, null));
        const i = z.slice(0, u).map(rec);
        const fg = z.slice(u, 2 * u).map(rec);
        const g = z.slice(2 * u, 3 * u).map(act);
        const o = z.slice(3 * u).map(rec);
        c = c.map((cj, j) => f(fg[j] * cj + i[j] * g[j]));
        h = c.map((cj, j) => f(o[j] * act(cj)));
      } else if (kind === "gru_after") {
        const r = Array.from({ length: u }, (_, j) => rec(p[u + j] + hU(h, u + j, recurrentBias)));
        const zg = Array.from({ length: u }, (_, j) => rec(p[j] + hU(h, j, recurrentBias)));
        const hh = Array.from({ length: u }, (_, j) => act(p[2 * u + j] + r[j] * hU(h, 2 * u + j, recurrentBias)));
        h = h.map((hj, j) => f(zg[j] * hj + (1 - zg[j]) * hh[j]));
      } else if (kind === "gru_before") {
        const zg = Array.from({ length: u }, (_, j) => rec(p[j] + hU(h, j, null)));
        const r = Array.from({ length: u }, (_, j) => rec(p[u + j] + hU(h, u + j, null)));
        const rh = h.map((hj, j) => r[j] * hj);
        const hh = Array.from({ length: u }, (_, j) => act(p[2 * u + j] + hU(rh, 2 * u + j, null)));
        h = h.map((hj, j) => f(zg[j] * hj + (1 - zg[j]) * hh[j]));
      } else {
        h = Array.from({ length: u }, (_, j) => f(act(p[j] + hU(h, j, null))));
      }
      sequence.push(h);
      previous = h;
    }
    if (s.returnSequences) for (const row of sequence) output.push(...row);
    else output.push(...(mask === null ? h : previous));
    finalH.push(...h);
    finalC.push(...c);
  }
  return { output, states: kind === "lstm" ? [finalH, finalC] : [finalH] };
}

function kernelCell(s: Setup, W: Float32Array, U: Float32Array, bias: Float32Array | null): RecurrentCell {
  const act: Activation = getActivation(s.activation, 3)!;
  const rec: Activation = getActivation(s.recurrentActivation, 3)!;
  switch (s.kind) {
    case "lstm":
      return new LstmCell(s.units, { kernel: W, recurrentKernel: U, bias }, act, rec);
    case "gru_after":
      return new GruCell(s.units, { kernel: W, recurrentKernel: U, bias }, true, act, rec);
    case "gru_before":
      return new GruCell(s.units, { kernel: W, recurrentKernel: U, bias }, false, act, rec);
    default:
      return new SimpleRnnCell(s.units, { kernel: W, recurrentKernel: U, bias }, act);
  }
}

/** Keras' tolerance for parity, which the float32 rounding of the reference stays well inside. */
function assertClose(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  want.forEach((w, i) => {
    const g = got[i];
    assert.ok(
      g === w || Math.abs(g - w) <= 1e-5 + 1e-4 * Math.abs(w) || (Number.isNaN(w) && Number.isNaN(g)),
      `${what}[${i}] = ${g}, reference ${w}`,
    );
  });
}

test("runSequence over LSTM, GRU and SimpleRNN cells follows Keras' equations", () => {
  fc.assert(
    fc.property(setup, fc.integer(), (s, seed) => {
      const next = rng(seed);
      const width = gates[s.kind] * s.units;
      const x = values(s.batch * s.time * s.features, s.inputScale, next);
      const W = values(s.features * width, 1, next);
      const U = values(s.units * width, 1, next);
      const bias = s.withBias ? values(s.kind === "gru_after" ? 2 * width : width, 1, next) : null;
      const stateCount = s.kind === "lstm" ? 2 : 1;
      const init = s.withInitialState
        ? Array.from({ length: stateCount }, () => values(s.batch * s.units, 1, next))
        : null;
      const mask =
        s.keep === null ? null : Uint8Array.from({ length: s.batch * s.time }, () => (next() < s.keep! ? 1 : 0));
      const cell = kernelCell(s, W, U, bias);
      const buffers = allocateSequenceBuffers(cell, s.batch, s.time, s.returnSequences);
      if (init !== null) init.forEach((state, k) => buffers.states[k].set(state));
      runSequence(
        cell,
        x,
        s.batch,
        s.time,
        s.features,
        mask,
        { goBackwards: s.goBackwards, returnSequences: s.returnSequences, zeroOutputForMask: s.zeroOutputForMask },
        buffers,
      );
      const want = reference(s, x, W, U, bias, init, mask);
      const label = JSON.stringify(s);
      assertClose(buffers.output, want.output, `${label} output`);
      assert.equal(buffers.states.length, stateCount);
      buffers.states.forEach((state, k) => assertClose(state, want.states[k], `${label} state ${k}`));
    }),
    { numRuns: 400 },
  );
});

test("zero-length sequences keep the initial state (or zeros) and return an empty sequence", () => {
  for (const kind of ["lstm", "gru_after", "gru_before", "simple"] as const) {
    const s: Setup = {
      kind,
      batch: 2,
      time: 0,
      features: 3,
      units: 2,
      activation: "tanh",
      recurrentActivation: "sigmoid",
      goBackwards: false,
      returnSequences: true,
      withBias: true,
      withInitialState: true,
      inputScale: 1,
      keep: null,
      zeroOutputForMask: false,
    };
    const width = gates[kind] * 2;
    const next = rng(7);
    const cell = kernelCell(
      s,
      values(3 * width, 1, next),
      values(2 * width, 1, next),
      values(kind === "gru_after" ? 2 * width : width, 1, next),
    );
    const init = Array.from({ length: kind === "lstm" ? 2 : 1 }, () => values(4, 1, next));
    const options = { goBackwards: false, returnSequences: true, zeroOutputForMask: false };
    const sequences = allocateSequenceBuffers(cell, 2, 0, true);
    init.forEach((state, k) => sequences.states[k].set(state));
    runSequence(cell, new Float32Array(0), 2, 0, 3, null, options, sequences);
    assert.equal(sequences.output.length, 0);
    sequences.states.forEach((state, k) => assert.deepEqual([...state], [...init[k]]));
    const last = allocateSequenceBuffers(cell, 2, 0, false);
    runSequence(cell, new Float32Array(0), 2, 0, 3, null, { ...options, returnSequences: false }, last);
    assert.deepEqual([...last.output], [0, 0, 0, 0]);
  }
});
