/**
 * Property tests: every fast convolution path against ./reference.ts on random shapes of rank 1
 * to 3 (strides, dilations, groups, uneven pads, zero-sized outputs, epilogues).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getActivation } from "../../../src/kernels/activations.js";
import { convOutputSize, kerasPads, type ConvCall } from "../../../src/kernels/conv/geometry.js";
import { convBackends, planConvolution, planTransposedConvolution } from "../../../src/kernels/conv/index.js";
import { convReference, convTransposeReference } from "../../../src/kernels/conv/reference.js";
import { channelsFirst, transposeBatched } from "../../../src/kernels/conv/layout.js";
import { sizeOf as size } from "../../../src/tensor.js";
import { convAxes, convShapeOf, randomValues as random } from "../../support/conv-cases.js";
import { affineCase, affineEpilogue } from "../../support/epilogue.js";

fc.configureGlobal({ includeErrorInReport: true });

const epilogue = fc.constantFrom(null, ...["relu", "tanh", "softmax"].map((n) => getActivation(n, 3)!));

/** A random convolution: shape, call geometry (output from the input and pads), tensors. */
const convolution = (transposed: boolean) =>
  fc
    .record({
      rank: fc.integer({ min: 1, max: 3 }),
      groups: fc.integer({ min: 1, max: 3 }),
      cg: fc.integer({ min: 1, max: 4 }),
      // Up to 5, and widths that fill the WebAssembly product's 8-column tiles.
      fg: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(8, 13, 19)),
      batch: fc.integer({ min: 1, max: 2 }),
      withBias: fc.boolean(),
    })
    .chain((r) =>
      fc.record({
        r: fc.constant(r),
        axes: convAxes(r.rank, { size: transposed ? 5 : 9, dilation: 3, pad: 3 }),
        epilogue,
        seed: fc.integer(),
      }),
    )
    .map(({ r, axes, epilogue, seed }) => {
      const shape = convShapeOf(axes, r.groups, r.groups * r.cg, r.groups * r.fg);
      // A transposed convolution's output is the input of the convolution it transposes.
      const sizes = axes.map((a) =>
        transposed
          ? (a.size - 1) * a.stride + (a.kernel - 1) * a.dilation + 1 - a.padBegin - Math.min(a.padEnd, a.padBegin)
          : convOutputSize(a.size, a.kernel, a.stride, a.dilation, a.padBegin, a.padEnd),
      );
      const call: ConvCall = {
        batch: r.batch,
        input: axes.map((a) => a.size),
        output: sizes.map((s) => Math.max(s, transposed ? 1 : 0)),
        padsBegin: axes.map((a) => a.padBegin),
      };
      return { shape, call, withBias: r.withBias, epilogue, seed };
    });

/**
 * Outputs sum `terms` products of values in [-1, 1] (and a bias): float32 sums may be off by
 * float32 rounding of each partial sum, at most 2^-24 · terms · (terms + 1); a wrong index is off
 * by far more.
 */
function close(got: Float32Array, want: Float32Array, terms: number, what: string): void {
  assert.equal(got.length, want.length);
  const allowed = 2 ** -24 * terms * (terms + 1) + 1e-6;
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) <= allowed, `${what}[${i}] = ${got[i]}, reference ${want[i]}`);
}

for (const backend of convBackends()) {
  test(`convolution, ${backend} = reference on random rank-1..3 shapes`, () => {
    fc.assert(
      fc.property(convolution(false), ({ shape, call, withBias, epilogue, seed }) => {
        const kernel = random(size(shape.kernel) * (shape.inChannels / shape.groups) * shape.outChannels, seed);
        const bias = withBias ? random(shape.outChannels, seed + 1) : null;
        const x = random(call.batch * size(call.input) * shape.inChannels, seed + 2);
        const want = new Float32Array(call.batch * size(call.output) * shape.outChannels);
        const got = want.slice().fill(NaN);
        convReference(x, kernel, bias, epilogue, shape, call, want);
        const plan = planConvolution(shape, kernel, bias, epilogue, { backend, reason: "test" });
        assert.equal(plan.backend, backend);
        plan.run(x, call, got);
        close(got, want, size(shape.kernel) * (shape.inChannels / shape.groups), backend);
      }),
      { numRuns: 300 },
    );
  });
}

for (const backend of convBackends()) {
  test(`convolution with an affine map and activation after it, ${backend} = reference on random shapes`, () => {
    fc.assert(
      fc.property(convolution(false), affineEpilogue, (conv, epilogue) => {
        const { got, want } = affineCase(conv, epilogue, backend);
        // The map doubles the sums' magnitude and adds a rounding or two.
        close(got, want, 2 * size(conv.shape.kernel) * (conv.shape.inChannels / conv.shape.groups) + 2, backend);
      }),
      { numRuns: 200 },
    );
  });
}

test("transposed convolution = reference on random rank-1..3 shapes", () => {
  fc.assert(
    fc.property(convolution(true), ({ shape, call, withBias, epilogue, seed }) => {
      const kernel = random(size(shape.kernel) * shape.outChannels * (shape.inChannels / shape.groups), seed);
      const bias = withBias ? random(shape.outChannels, seed + 1) : null;
      const x = random(call.batch * size(call.input) * shape.inChannels, seed + 2);
      const want = new Float32Array(call.batch * size(call.output) * shape.outChannels);
      const got = want.slice().fill(NaN);
      convTransposeReference(x, kernel, bias, epilogue, shape, call, want);
      planTransposedConvolution(shape, kernel, bias, epilogue).run(x, call, got);
      close(got, want, size(shape.kernel) * (shape.inChannels / shape.groups), "transposed");
    }),
    { numRuns: 300 },
  );
});

test("Keras paddings as explicit pads: same gives ceil(n / stride) outputs, causal pads the start", () => {
  for (let n = 1; n < 12; n++) {
    for (let k = 1; k < 5; k++) {
      for (let s = 1; s < 4; s++) {
        const d = s === 1 ? 2 : 1;
        const same = kerasPads("same", n, k, s, d);
        assert.equal(convOutputSize(n, k, s, d, same.begin, same.end), Math.ceil(n / s));
        assert.ok(same.end - same.begin === 0 || same.end - same.begin === 1);
        const causal = kerasPads("causal", n, k, s, d);
        assert.deepEqual(causal, { begin: (k - 1) * d, end: 0 });
        assert.equal(convOutputSize(n, k, s, d, causal.begin, causal.end), Math.ceil(n / s));
      }
    }
  }
});

test("channels_first convolutions = the reference on transposed tensors", () => {
  fc.assert(
    fc.property(convolution(false), fc.boolean(), ({ shape, call, withBias, seed }, transposed) => {
      const kernel = random(size(shape.kernel) * (shape.inChannels / shape.groups) * shape.outChannels, seed);
      const bias = withBias ? random(shape.outChannels, seed + 1) : null;
      const inSize = size(call.input);
      const outSize = size(call.output);
      const x = random(call.batch * inSize * shape.inChannels, seed + 2);
      const want = new Float32Array(call.batch * outSize * shape.outChannels);
      if (transposed) {
        // The transposed convolution from `output` back to `input` sizes (swap the roles).
        const swapped = { ...call, input: call.output, output: call.input };
        const xt = random(call.batch * outSize * shape.inChannels, seed + 3);
        const wt = new Float32Array(call.batch * inSize * shape.outChannels);
        convTransposeReference(xt, kernel, bias, null, shape, swapped, wt);
        const xFirst = new Float32Array(xt.length);
        transposeBatched(xt, call.batch, outSize, shape.inChannels, xFirst);
        const got = new Float32Array(wt.length).fill(NaN);
        channelsFirst(planTransposedConvolution(shape, kernel, bias, null)).run(xFirst, swapped, got);
        const wantFirst = new Float32Array(wt.length);
        transposeBatched(wt, call.batch, inSize, shape.outChannels, wantFirst);
        close(got, wantFirst, size(shape.kernel) * (shape.inChannels / shape.groups), "transposed, channels_first");
        return;
      }
      convReference(x, kernel, bias, null, shape, call, want);
      const xFirst = new Float32Array(x.length);
      transposeBatched(x, call.batch, inSize, shape.inChannels, xFirst);
      const wantFirst = new Float32Array(want.length);
      transposeBatched(want, call.batch, outSize, shape.outChannels, wantFirst);
      for (const backend of convBackends()) {
        const got = new Float32Array(want.length).fill(NaN);
        channelsFirst(planConvolution(shape, kernel, bias, null, { backend, reason: "test" })).run(xFirst, call, got);
        close(got, wantFirst, size(shape.kernel) * (shape.inChannels / shape.groups), `${backend}, channels_first`);
      }
    }),
    { numRuns: 200 },
  );
});
