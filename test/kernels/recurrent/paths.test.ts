/**
 * Property tests: every way the LSTM, GRU (reset_after both ways) and SimpleRNN cells run (the
 * TypeScript cells, the WebAssembly projection with TypeScript steps, the fused WebAssembly steps,
 * and those split in blocks of units as for threads), driven by runSequence, against the readable
 * references in src/kernels/recurrent/*.reference.ts (float64). The reference rounds
 * to float32 exactly where Keras holds float32 tensors (the input projection x.W + b and the
 * states after each step), so the comparison is tight and any wrong gate, bias or order shows.
 * Random batch (1 included), time (0 included), features, units (1 included), activations,
 * go_backwards, return_sequences, initial states, masks (a masked step keeps the states and
 * repeats the previous output, or outputs zeros with zeroOutputForMask), and inputs large
 * enough to saturate the gates.
 */
import { TeamConvolution } from "../../../src/kernels/conv/team.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getActivation } from "../../../src/kernels/activations.js";
import { planRecurrent, type KernelEnvironment, type RecurrentSpec } from "../../../src/kernels/plan.js";
import {
  allocateSequenceBuffers,
  createRecurrentKernel,
  runSequence,
  type RecurrentKernel,
} from "../../../src/kernels/recurrent/driver.js";
import { referenceSequence } from "../../../src/kernels/recurrent/driver.reference.js";
import { gruReference } from "../../../src/kernels/recurrent/gru.reference.js";
import { lstmReference } from "../../../src/kernels/recurrent/lstm.reference.js";
import type { ReferenceCell } from "../../../src/kernels/recurrent/reference.js";
import { simpleRnnReference } from "../../../src/kernels/recurrent/simple-rnn.reference.js";
import { WASM_THREADS_KERNELS_BASE64 } from "../../../src/kernels/wasm-threads-binary.js";
import { WASM_THREADS_RELAXED_KERNELS_BASE64 } from "../../../src/kernels/wasm-threads-relaxed-binary.js";
import { WASM_RELAXED_KERNELS_BASE64 } from "../../../src/kernels/wasm-relaxed-binary.js";
import {
  kernelBytes,
  provideRelaxedBuild,
  setWasmFeatures,
  wasmFeatures,
  type KernelTeam,
} from "../../../src/kernels/wasm.js";

// As the Node entry does: the relaxed-SIMD build, where the runtime runs it (Node 22+).
provideRelaxedBuild(WASM_RELAXED_KERNELS_BASE64);

// Failures show the assertion that failed, not only the counterexample.
fc.configureGlobal({ includeErrorInReport: true });

const f = Math.fround;
const NAMES = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign"];
/** The activation's function of one value (Keras 3's definitions). */
const scalar = (name: string): ((x: number) => number) => getActivation(name, 3)!.scalar!;
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
    // 8 and 12: enough for a split into two blocks of at least four units.
    units: fc.constantFrom(1, 2, 3, 4, 8, 12),
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
  // With more units, unbounded gates (relu, linear) let the states grow step after step until
  // float32 rounding alone separates any two implementations: larger cells get bounded ones.
  .filter(
    (s) =>
      s.units <= 4 ||
      (BOUNDED.includes(s.activation) && (s.kind === "simple" || SATURATING.includes(s.recurrentActivation))),
  )
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

/** The readable reference (src/kernels/recurrent/*.reference.ts) for this setup. */
function referenceCell(s: Setup, W: Float32Array, U: Float32Array, bias: Float32Array | null): ReferenceCell {
  const cell = {
    weights: { kernel: W, recurrentKernel: U, bias },
    activation: scalar(s.activation),
    recurrentActivation: scalar(s.recurrentActivation),
  };
  switch (s.kind) {
    case "lstm":
      return lstmReference(s.units, cell);
    case "gru_after":
      return gruReference(s.units, true, cell);
    case "gru_before":
      return gruReference(s.units, false, cell);
    default:
      return simpleRnnReference(s.units, cell);
  }
}

function spec(s: Setup): RecurrentSpec {
  const cell = s.kind === "lstm" ? "lstm" : s.kind === "simple" ? "simple_rnn" : "gru";
  return {
    cell,
    units: s.units,
    activation: getActivation(s.activation, 3)!,
    recurrentActivation: cell === "simple_rnn" ? null : getActivation(s.recurrentActivation, 3)!,
    resetAfter: s.kind === "gru_after",
  };
}

/**
 * A thread team whose helpers never get ready: a split sequence then runs every block of its job
 * record on the calling thread, which tests the split layout and wasm/recurrent.ts' runJob here
 * (test/node/kernel-threads.test.ts runs real threads).
 */
function loneTeam(size: number): KernelTeam {
  const base64 = wasmFeatures() === "relaxed-simd" ? WASM_THREADS_RELAXED_KERNELS_BASE64 : WASM_THREADS_KERNELS_BASE64;
  const team: KernelTeam = {
    size,
    module: new WebAssembly.Module(kernelBytes(base64)),
    attach: () => 1,
    ready: () => 0,
    dispatch: () => assert.fail("a team that is never ready gets no job"),
    detach: () => undefined,
    product: (shape, kernel, bias, epilogue) => new TeamConvolution(team, shape, kernel, bias, epilogue),
  };
  return team;
}

/**
 * The environments every fast path runs in: TypeScript; WebAssembly; WebAssembly split in blocks.
 * Where the runtime has relaxed SIMD (Node 22+), both WebAssembly builds: relaxed, then SIMD128.
 */
const ENVIRONMENTS: Record<string, KernelEnvironment> = {
  js: { path: "js", team: null },
  wasm: { path: "wasm", team: null },
  "wasm-split": { path: "wasm", team: loneTeam(2) },
};
const BUILDS: ("auto" | "simd128")[] = wasmFeatures() === "relaxed-simd" ? ["auto", "simd128"] : ["auto"];

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

function runPath(
  env: KernelEnvironment,
  s: Setup,
  weights: { W: Float32Array; U: Float32Array; bias: Float32Array | null },
): RecurrentKernel {
  const cellSpec = spec(s);
  return createRecurrentKernel(
    cellSpec,
    { kernel: weights.W, recurrentKernel: weights.U, bias: weights.bias },
    planRecurrent(cellSpec, env),
  );
}

for (const build of BUILDS)
  for (const [name, env] of Object.entries(ENVIRONMENTS)) {
    if (build === "simd128" && env.path === "js") continue;
    const label = `${name} path${env.path === "js" ? "" : ` (${build === "auto" ? wasmFeatures() : build})`}`;
    test(`the ${label} computes what the references compute`, () => {
      setWasmFeatures(build);
      const split = name === "wasm-split" ? { ...env, team: loneTeam(2) } : env;
      fc.assert(
        fc.property(setup, fc.integer(), (s, seed) => {
          // WebAssembly sums products in float32 (as Keras does, in its own order): with inputs of
          // 1e3 and more, a projection that cancels to near zero keeps float32's absolute error,
          // which a tight comparison with float64 sums cannot tell from a bug. Saturating inputs
          // are checked on the TypeScript path (float64 sums) and on the fixtures against Keras.
          fc.pre(env.path === "js" || s.inputScale === 1);
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
          const kernel = runPath(split, s, { W, U, bias });
          const buffers = allocateSequenceBuffers(kernel, s.batch, s.time, s.returnSequences);
          if (init !== null) init.forEach((state, k) => buffers.states[k].set(state));
          const options = {
            goBackwards: s.goBackwards,
            returnSequences: s.returnSequences,
            zeroOutputForMask: s.zeroOutputForMask,
          };
          runSequence(kernel, x, s.batch, s.time, s.features, mask, options, buffers);
          const cell = referenceCell(s, W, U, bias);
          const want = referenceSequence(cell, x, s.batch, s.time, s.features, init, mask, options);
          const label = `${JSON.stringify(s)} on ${kernel.plan.backend}`;
          assertClose(buffers.output, want.output, `${label} output`);
          assert.equal(buffers.states.length, stateCount);
          buffers.states.forEach((state, k) => assertClose(state, want.states[k], `${label} state ${k}`));
          // Whatever holds the weights gives back the ones handed over.
          const back = kernel.weights();
          assert.deepEqual([back.kernel, back.recurrentKernel, back.bias], [W, U, bias]);
        }),
        { numRuns: 300 },
      );
      setWasmFeatures("auto");
    });

    test(`the ${label}: zero-length sequences keep the initial state (or zeros), return an empty sequence`, () => {
      for (const kind of ["lstm", "gru_after", "gru_before", "simple"] as const) {
        const s: Setup = {
          kind,
          batch: 2,
          time: 0,
          features: 3,
          units: 8,
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
        const width = gates[kind] * s.units;
        const next = rng(7);
        const W = values(3 * width, 1, next);
        const U = values(s.units * width, 1, next);
        const bias = values(kind === "gru_after" ? 2 * width : width, 1, next);
        const kernel = runPath(env, s, { W, U, bias });
        const init = Array.from({ length: kind === "lstm" ? 2 : 1 }, () => values(2 * s.units, 1, next));
        const options = { goBackwards: false, returnSequences: true, zeroOutputForMask: false };
        const sequences = allocateSequenceBuffers(kernel, 2, 0, true);
        init.forEach((state, k) => sequences.states[k].set(state));
        runSequence(kernel, new Float32Array(0), 2, 0, 3, null, options, sequences);
        assert.equal(sequences.output.length, 0);
        sequences.states.forEach((state, k) => assert.deepEqual([...state], [...init[k]]));
        const last = allocateSequenceBuffers(kernel, 2, 0, false);
        runSequence(kernel, new Float32Array(0), 2, 0, 3, null, { ...options, returnSequences: false }, last);
        assert.deepEqual([...last.output], new Array<number>(2 * s.units).fill(0));
      }
    });
  }

test("the plan chooses each path for the reasons it gives", () => {
  const tanh = getActivation("tanh", 3)!;
  const sigmoid = getActivation("sigmoid", 3)!;
  const relu = getActivation("relu", 3)!;
  const lstm: RecurrentSpec = {
    cell: "lstm",
    units: 8,
    activation: tanh,
    recurrentActivation: sigmoid,
    resetAfter: false,
  };
  const backend = (spec: RecurrentSpec, env: KernelEnvironment): string => planRecurrent(spec, env).backend;
  assert.equal(backend(lstm, ENVIRONMENTS.js), "typescript");
  assert.equal(backend(lstm, ENVIRONMENTS.wasm), "wasm-simd fused");
  assert.equal(backend(lstm, ENVIRONMENTS["wasm-split"]), "wasm-simd fused, 2 threads");
  assert.equal(backend({ ...lstm, units: 6 }, ENVIRONMENTS["wasm-split"]), "wasm-simd fused");
  assert.match(planRecurrent({ ...lstm, units: 7 }, ENVIRONMENTS["wasm-split"]).why.join("; "), /do not divide/);
  const gruBefore: RecurrentSpec = { ...lstm, cell: "gru" };
  assert.equal(backend(gruBefore, ENVIRONMENTS.wasm), "wasm-simd projection, typescript step");
  assert.equal(backend({ ...gruBefore, resetAfter: true }, ENVIRONMENTS.wasm), "wasm-simd fused");
  const reluPlan = planRecurrent({ ...lstm, activation: relu }, ENVIRONMENTS.wasm);
  assert.equal(reluPlan.fusedGates, null);
  assert.equal(reluPlan.writtenOutGates, false);
  assert.match(reluPlan.why.join("; "), /activation relu/);
  assert.equal(planRecurrent(lstm, ENVIRONMENTS.js).writtenOutGates, true);
});
