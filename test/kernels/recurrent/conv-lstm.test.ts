/**
 * Property tests: the ConvLSTM cell (src/kernels/recurrent/conv-lstm.ts) driven by runSequence, on
 * every way its convolutions run, against the readable reference (conv-lstm.reference.ts, float64
 * sums rounded where Keras holds float32 tensors). Random spatial rank (1 to 3), sizes, kernels,
 * strides or dilations, padding, data format, filters, activations, go_backwards,
 * return_sequences, initial states and masks (per step, and per spatial position as Keras applies a
 * mask of frames).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getActivation } from "../../../src/kernels/activations.js";
import { convBackends, forceConvBackend } from "../../../src/kernels/conv/index.js";
import {
  convLstmGeometry,
  createConvLstmKernel,
  statePositions,
  type ConvLstmGeometry,
  type ConvLstmSpec,
} from "../../../src/kernels/recurrent/conv-lstm.js";
import { convLstmReference } from "../../../src/kernels/recurrent/conv-lstm.reference.js";
import { allocateSequenceBuffers, runSequence } from "../../../src/kernels/recurrent/driver.js";
import { referenceSequence } from "../../../src/kernels/recurrent/driver.reference.js";

fc.configureGlobal({ includeErrorInReport: true });

const f = Math.fround;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const values = (n: number, scale: number, next: () => number): Float32Array =>
  Float32Array.from({ length: n }, () => f((2 * next() - 1) * scale));

const setup = fc
  .record({
    rank: fc.integer({ min: 1, max: 3 }),
    batch: fc.integer({ min: 1, max: 2 }),
    time: fc.integer({ min: 0, max: 3 }),
    channels: fc.integer({ min: 1, max: 3 }),
    filters: fc.constantFrom(1, 2, 3, 8),
    padding: fc.constantFrom("valid" as const, "same" as const),
    channelsFirst: fc.boolean(),
    // Strides or dilation (Keras refuses both at once).
    spread: fc.constantFrom("none", "strides", "dilation"),
    activation: fc.constantFrom("tanh", "tanh", "relu", "softsign"),
    recurrentActivation: fc.constantFrom("sigmoid", "sigmoid", "hard_sigmoid", "tanh"),
    goBackwards: fc.boolean(),
    returnSequences: fc.boolean(),
    withBias: fc.boolean(),
    withInitialState: fc.boolean(),
    keep: fc.constantFrom(null, null, 0.6),
    // Masks per step, or per spatial position (Masking on frames).
    perPosition: fc.boolean(),
    zeroOutputForMask: fc.boolean(),
    axes: fc.array(fc.record({ size: fc.integer({ min: 1, max: 5 }), kernel: fc.integer({ min: 1, max: 3 }) }), {
      minLength: 3,
      maxLength: 3,
    }),
    seed: fc.integer(),
  })
  .map((s) => {
    const axes = s.axes.slice(0, s.rank);
    const spec: ConvLstmSpec = {
      filters: s.filters,
      inChannels: s.channels,
      input: axes.map((a) => a.size),
      kernel: axes.map((a) => a.kernel),
      strides: axes.map((_, i) => (s.spread === "strides" ? 1 + (i % 2) : 1)),
      dilations: axes.map((_, i) => (s.spread === "dilation" ? 2 - (i % 2) : 1)),
      padding: s.padding,
      channelsFirst: s.channelsFirst,
      activation: getActivation(s.activation, 3)!,
      recurrentActivation: getActivation(s.recurrentActivation, 3)!,
    };
    return { ...s, spec };
  })
  .filter((s) => !("emptyAxis" in convLstmGeometry(s.spec)));

// Gates: TypeScript on the js path; on the wasm path, WebAssembly's gate pass for tanh and sigmoid.
for (const backend of convBackends())
  for (const path of ["js", "wasm"] as const) {
    test(`ConvLSTM with ${backend} convolutions, ${path} gates, computes what the reference computes`, () => {
      fc.assert(
        fc.property(setup, (s) => {
          const next = rng(s.seed);
          const { spec } = s;
          const geometry = convLstmGeometry(spec) as ConvLstmGeometry;
          const taps = spec.kernel.reduce((p, k) => p * k, 1);
          const F = spec.filters;
          const weights = {
            kernel: values(taps * spec.inChannels * 4 * F, 0.5, next),
            recurrentKernel: values(taps * F * 4 * F, 0.5, next),
            bias: s.withBias ? values(4 * F, 0.5, next) : null,
          };
          forceConvBackend(backend);
          const kernel = (() => {
            try {
              return createConvLstmKernel(spec, geometry, weights, path);
            } finally {
              forceConvBackend(null);
            }
          })();
          const features = spec.input.reduce((p, d) => p * d, 1) * spec.inChannels;
          const stateSize = kernel.sizes.stateSize;
          const x = values(s.batch * s.time * features, 1, next);
          const init = s.withInitialState ? [0, 1].map(() => values(s.batch * stateSize, 1, next)) : null;
          const positions = geometry.output.reduce((p, d) => p * d, 1);
          const maskPositions = s.perPosition ? statePositions(F, positions, spec.channelsFirst) : null;
          const maskLength = s.batch * s.time * (s.perPosition ? positions : 1);
          const mask =
            s.keep === null ? null : Uint8Array.from({ length: maskLength }, () => (next() < s.keep! ? 1 : 0));
          const options = {
            goBackwards: s.goBackwards,
            returnSequences: s.returnSequences,
            zeroOutputForMask: s.zeroOutputForMask,
          };
          const buffers = allocateSequenceBuffers(kernel, s.batch, s.time, s.returnSequences);
          if (init !== null) init.forEach((state, k) => buffers.states[k].set(state));
          runSequence(kernel, x, s.batch, s.time, features, mask, options, buffers, maskPositions);
          const scalar = (name: string) => getActivation(name, 3)!.scalar!;
          const cell = convLstmReference(spec, geometry, {
            weights,
            activation: scalar(s.activation),
            recurrentActivation: scalar(s.recurrentActivation),
          });
          const want = referenceSequence(cell, x, s.batch, s.time, features, init, mask, options, maskPositions);
          const label = `${JSON.stringify({ ...s, spec: undefined })} on ${kernel.plan.backend}`;
          const close = (got: Float32Array, expected: number[], what: string) => {
            assert.equal(got.length, expected.length, `${label} ${what}: length`);
            expected.forEach((w, i) =>
              assert.ok(
                Math.abs(got[i] - w) <= 1e-5 + 1e-4 * Math.abs(w),
                `${label} ${what}[${i}] = ${got[i]}, want ${w}`,
              ),
            );
          };
          close(buffers.output, want.output, "output");
          buffers.states.forEach((state, k) => close(state, want.states[k], `state ${k}`));
          assert.deepEqual(kernel.plan.backend, `${backend} (forced)`);
        }),
        { numRuns: 150 },
      );
    });
  }

test("the ConvLSTM plan names both convolutions' ways and the gates", () => {
  const spec: ConvLstmSpec = {
    filters: 8,
    inChannels: 1,
    input: [6, 6],
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [1, 1],
    padding: "same",
    channelsFirst: false,
    activation: getActivation("relu", 3)!,
    recurrentActivation: getActivation("sigmoid", 3)!,
  };
  const geometry = convLstmGeometry(spec) as ConvLstmGeometry;
  assert.deepEqual(geometry.output, [6, 6]);
  const taps = 9;
  const kernel = createConvLstmKernel(spec, geometry, {
    kernel: new Float32Array(taps * 32),
    recurrentKernel: new Float32Array(taps * 8 * 32),
    bias: null,
  });
  const why = kernel.plan.why.join("; ");
  assert.match(why, /^input convolution: .+; recurrent convolution: .+; TypeScript gates through the activation/);
  assert.equal(kernel.plan.writtenOutGates, false);
  assert.deepEqual(kernel.sizes.stateShape, [6, 6, 8]);
  assert.deepEqual(convLstmGeometry({ ...spec, input: [2, 6], padding: "valid" }), { emptyAxis: 0 });
});
