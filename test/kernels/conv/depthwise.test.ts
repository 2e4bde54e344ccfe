/**
 * Property tests: the depthwise ways (one input channel per group) against ./reference.ts's
 * grouped convolution on random rank-1 and rank-2 shapes (depth multipliers, strides, dilations,
 * uneven pads, zero-sized outputs, epilogues), and the plan choosing them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { getActivation } from "../../../src/kernels/activations.js";
import {
  chooseConvBackend,
  depthwiseBackends,
  forceConvBackend,
  planConvolution,
} from "../../../src/kernels/conv/index.js";
import { convReference } from "../../../src/kernels/conv/reference.js";
import type { ConvShape } from "../../../src/kernels/conv/geometry.js";
import { sizeOf as size } from "../../../src/tensor.js";
import { convAxes, convCallOf, convShapeOf, randomValues as random } from "../../support/conv-cases.js";
import { affineCase, affineEpilogue } from "../../support/epilogue.js";

const depthwise = fc
  .record({
    rank: fc.integer({ min: 1, max: 2 }),
    // Up to 11, and widths past the sixteen channels the WebAssembly kernel holds in registers.
    channels: fc.oneof(fc.integer({ min: 1, max: 11 }), fc.constantFrom(16, 21, 36)),
    multiplier: fc.integer({ min: 1, max: 3 }),
    batch: fc.integer({ min: 1, max: 2 }),
    withBias: fc.boolean(),
    epilogue: fc.constantFrom(null, ...["relu", "tanh", "softmax"].map((n) => getActivation(n, 3)!)),
    seed: fc.integer(),
  })
  .chain((r) =>
    fc.record({
      r: fc.constant(r),
      axes: convAxes(r.rank, { size: 9, dilation: 3, pad: 3 }),
    }),
  )
  .map(({ r, axes }) => {
    const shape = convShapeOf(axes, r.channels, r.channels, r.channels * r.multiplier);
    const call = convCallOf(axes, r.batch);
    return { ...r, shape, call };
  });

for (const backend of depthwiseBackends()) {
  test(`depthwise convolution, ${backend} = reference on random rank-1..2 shapes`, () => {
    fc.assert(
      fc.property(depthwise, ({ shape, call, withBias, epilogue, seed }) => {
        const kernel = random(size(shape.kernel) * shape.outChannels, seed);
        const bias = withBias ? random(shape.outChannels, seed + 1) : null;
        const x = random(call.batch * size(call.input) * shape.inChannels, seed + 2);
        const want = new Float32Array(call.batch * size(call.output) * shape.outChannels);
        const got = want.slice().fill(NaN);
        convReference(x, kernel, bias, epilogue, shape, call, want);
        const plan = planConvolution(shape, kernel, bias, epilogue, { backend, reason: "test" });
        assert.equal(plan.backend, backend);
        plan.run(x, call, got);
        // Each output sums at most 16 products of values in [-1, 1] and a bias, in float32.
        const terms = size(shape.kernel) + 1;
        const allowed = 2 ** -24 * terms * (terms + 1) + 1e-6;
        want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= allowed, `[${i}] ${got[i]}, reference ${w}`));
      }),
      { numRuns: 400 },
    );
  });
}

for (const backend of depthwiseBackends()) {
  test(`depthwise convolution with an affine map and activation after it, ${backend} = reference`, () => {
    fc.assert(
      fc.property(depthwise, affineEpilogue, (conv, epilogue) => {
        const { got, want } = affineCase(conv, epilogue, backend);
        // The map doubles the sums' magnitude and adds a rounding or two.
        const terms = 2 * size(conv.shape.kernel) + 4;
        const allowed = 2 ** -24 * terms * (terms + 1) + 1e-6;
        want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= allowed, `[${i}] ${got[i]}, reference ${w}`));
      }),
      { numRuns: 300 },
    );
  });
}

test("the plan runs depthwise shapes on a depthwise way, and others (or a forced generic way) elsewhere", () => {
  const shape = (groups: number, rank: number): ConvShape => ({
    kernel: new Array<number>(rank).fill(3),
    strides: new Array<number>(rank).fill(1),
    dilations: new Array<number>(rank).fill(1),
    groups,
    inChannels: 8,
    outChannels: 16,
  });
  const ways: readonly string[] = depthwiseBackends();
  assert.ok(ways.includes(chooseConvBackend(shape(8, 2)).backend));
  assert.ok(ways.includes(chooseConvBackend(shape(8, 1)).backend));
  assert.ok(!ways.includes(chooseConvBackend(shape(4, 2)).backend));
  assert.ok(!ways.includes(chooseConvBackend(shape(8, 3)).backend));
  try {
    forceConvBackend("typescript-im2col");
    assert.equal(chooseConvBackend(shape(8, 2)).backend, "typescript-im2col");
    forceConvBackend(depthwiseBackends()[0]);
    assert.equal(chooseConvBackend(shape(8, 2)).backend, depthwiseBackends()[0]);
    assert.ok(!ways.includes(chooseConvBackend(shape(4, 2)).backend), "a depthwise way forced on a grouped shape");
  } finally {
    forceConvBackend(null);
  }
});
