/**
 * Kernel threads (Node) on convolutions and matrix products: output rows split between the calling
 * thread and a worker (src/kernels/conv/team.ts, wasm/products.ts). On random shapes and on every
 * fixture whose plan runs a product on the team, with every call split (the size threshold set to
 * 0): bit for bit what one thread gives, and Keras' numbers. A team that lost a worker still runs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { getActivation } from "../../src/kernels/activations.js";
import { planConvolution } from "../../src/kernels/conv/index.js";
import { convReference } from "../../src/kernels/conv/reference.js";
import { planProduct } from "../../src/kernels/gemm/index.js";
import { setMinTeamWork } from "../../src/kernels/plan.js";
import { kernelPath, loadModel, setKernelThreads, type Model } from "../../src/node.js";
import { kernelTeamInternals } from "../../src/node/kernel-threads.js";
import { sizeOf as size } from "../../src/tensor.js";
import { assertClose, listFixtures, type FixtureTensor } from "../helpers.js";
import { convAxes, convCallOf, convShapeOf, randomValues as random } from "../support/conv-cases.js";

const onWasm = kernelPath() === "wasm";
const skip = !onWasm && "WebAssembly kernel path only";

before(async () => {
  if (onWasm) await setKernelThreads(2);
  setMinTeamWork(0);
});
after(async () => {
  setMinTeamWork(null);
  await setKernelThreads(1);
});

/** The workers attach new memories asynchronously: waits until they hold every one (however busy the machine). */
async function attached(): Promise<void> {
  while (!kernelTeamInternals()!.attached) await new Promise((resolve) => setTimeout(resolve, 5));
}
const jobs = () => kernelTeamInternals()!.jobs;
/** The backends of products split by rows (a recurrent layer split by units says "N threads"). */
const ON_TEAM = /wasm-im2col-threads|wasm-threads/;

/** A random convolution with one group, enough filters for the SIMD product, and its call. */
const convolution = fc
  .record({
    rank: fc.integer({ min: 1, max: 3 }),
    // At least 2: one channel with groups 1 is a depthwise convolution (its own kernel).
    channels: fc.integer({ min: 2, max: 12 }),
    filters: fc.integer({ min: 8, max: 21 }),
    batch: fc.integer({ min: 1, max: 3 }),
    withBias: fc.boolean(),
    epilogue: fc.constantFrom(null, ...["relu", "tanh", "softmax"].map((n) => getActivation(n, 3)!)),
    seed: fc.integer(),
  })
  .chain((r) =>
    fc.record({
      r: fc.constant(r),
      axes: convAxes(r.rank, { size: 11, dilation: 2, pad: 2 }),
    }),
  )
  .map(({ r, axes }) => {
    const shape = convShapeOf(axes, 1, r.channels, r.filters);
    const call = convCallOf(axes, r.batch);
    return { shape, call, withBias: r.withBias, epilogue: r.epilogue, seed: r.seed };
  });

test(
  "convolutions on 2 threads: bit for bit one thread's, and the reference's numbers, on random shapes",
  { skip },
  async () => {
    const cases = fc.sample(convolution, { numRuns: 150, seed: 20261207 });
    const planned = cases.map(({ shape, call, withBias, epilogue, seed }) => {
      const kernel = random(size(shape.kernel) * shape.inChannels * shape.outChannels, seed);
      const bias = withBias ? random(shape.outChannels, seed + 1) : null;
      const x = random(call.batch * size(call.input) * shape.inChannels, seed + 2);
      // Forced: pointwise shapes are planned on one thread by default (chooseConvBackend), the team must still match.
      const team = { backend: "wasm-im2col-threads", reason: "test" } as const;
      const threaded = planConvolution(shape, kernel, bias, epilogue, team);
      assert.equal(threaded.backend, "wasm-im2col-threads");
      const alone = planConvolution(shape, kernel, bias, epilogue, { backend: "wasm-im2col", reason: "test" });
      return { shape, call, kernel, bias, epilogue, x, threaded, alone };
    });
    await attached();
    const before = jobs();
    for (const { shape, call, kernel, bias, epilogue, x, threaded, alone } of planned) {
      const n = call.batch * size(call.output) * shape.outChannels;
      const got = new Float32Array(n).fill(NaN);
      const want = new Float32Array(n).fill(NaN);
      const reference = new Float32Array(n);
      threaded.run(x, call, got);
      alone.run(x, call, want);
      const what = JSON.stringify({ shape, call });
      assert.deepEqual(got, want, `threads and one thread differ: ${what}`);
      convReference(x, kernel, bias, epilogue, shape, call, reference);
      const terms = size(shape.kernel) * shape.inChannels;
      const allowed = 2 ** -24 * terms * (terms + 1) + 1e-6;
      for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i] - reference[i]) <= allowed, `${what}: [${i}]`);
    }
    const outputs = planned.filter((p) => size(p.call.output) > 0).length;
    assert.ok(jobs() >= before + outputs, "every call was dispatched to the worker");
  },
);

test("matrix products on 2 threads: bit for bit one thread's, any row count", { skip }, async () => {
  const inner = 37;
  const cols = 45;
  const weights = random(inner * cols, 5);
  const bias = random(cols, 6);
  const relu = getActivation("relu", 3)!;
  const threaded = planProduct(weights, bias, relu, inner, cols);
  assert.equal(threaded.backend, "wasm-threads");
  assert.match(threaded.reason, /rows split in 2 parts/);
  const alone = planProduct(weights, bias, relu, inner, cols, { backend: "wasm", reason: "test" });
  await attached();
  for (const rows of [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 130]) {
    const a = random(rows * inner + 3, rows);
    const got = new Float32Array(rows * cols + 2).fill(NaN);
    const want = got.slice();
    threaded.run(a, 3, rows, got, 2);
    alone.run(a, 3, rows, want, 2);
    assert.deepEqual(got, want, `${rows} rows`);
  }
  assert.deepEqual(threaded.held!(), [weights, bias]);
});

const asInput = (t: FixtureTensor) => ({
  shape: t.shape,
  data: t.dtype === "int32" ? Int32Array.from(t.data) : Float32Array.from(t.data),
});

const load = (dir: string, format: { model: string; weights?: string }): Promise<Model> => {
  const bytes = new Uint8Array(readFileSync(join(dir, format.model)));
  const weights =
    format.weights === undefined ? {} : { weights: new Uint8Array(readFileSync(join(dir, format.weights))) };
  return loadModel(bytes, weights);
};

test("every fixture whose products run on the team: Keras' numbers, bit for bit one thread's", { skip }, async (t) => {
  const fixtures = ["keras3", "keras2", "real-world"]
    .flatMap((suite) => listFixtures(suite))
    .filter((f) => f.io.chunks === undefined); // stateful: predicted chunk by chunk elsewhere
  // One thread's outputs first (models loaded without a team run every product on one thread).
  await setKernelThreads(1);
  const alone = new Map<string, (Float32Array | Int32Array)[]>();
  for (const fixture of fixtures) {
    const model = await load(fixture.dir, fixture.formats[0]);
    alone.set(
      fixture.id,
      model.predict(fixture.inputs.map(asInput)).map((y) => y.data as Float32Array),
    );
  }
  await setKernelThreads(2);
  let split = 0;
  for (const fixture of fixtures) {
    const model = await load(fixture.dir, fixture.formats[0]);
    if (!model.kernelPlans().some((p) => ON_TEAM.test(p.backend))) continue;
    split++;
    await t.test(fixture.id, async () => {
      await attached();
      const before = jobs();
      const got = model.predict(fixture.inputs.map(asInput));
      assert.ok(jobs() > before, "the products were dispatched to the worker");
      got.forEach((tensor, i) => {
        assertClose(tensor, fixture.outputs[i], `${fixture.id} output ${i}`);
        assert.deepEqual(tensor.data, alone.get(fixture.id)![i], `output ${i}: threads and one thread differ`);
      });
    });
  }
  assert.ok(split >= 20, `only ${split} fixtures have products on the team`);
});

test("the plan says which layers run on threads, and why the others do not", { skip }, async () => {
  const [fixture] = listFixtures("keras3/convlstm_next_frame");
  const model = await load(fixture.dir, fixture.formats[0]);
  const plan = model.kernelPlans().find((p) => p.layer === "convlstm_1")!;
  assert.match(plan.backend, /wasm-im2col-threads/);
  assert.match(plan.why.join("\n"), /recurrent convolution: wasm-im2col-threads \(.*rows split in 2 parts/);
  await setKernelThreads(1);
  const alone = await load(fixture.dir, fixture.formats[0]);
  await setKernelThreads(2);
  assert.doesNotMatch(
    alone
      .kernelPlans()
      .map((p) => p.backend)
      .join(),
    ON_TEAM,
  );
});

test(
  "a team that lost a worker runs every product on the calling thread, with the same numbers",
  { skip },
  async () => {
    await setKernelThreads(2);
    const [fixture] = listFixtures("keras3/convlstm_next_frame");
    const model = await load(fixture.dir, fixture.formats[0]);
    await attached();
    const inputs = fixture.inputs.map(asInput);
    const expected = model.predict(inputs).map((y) => y.data);
    await kernelTeamInternals()!.workers[0].terminate();
    const count = jobs();
    assert.deepEqual(
      model.predict(inputs).map((y) => y.data),
      expected,
    );
    assert.equal(jobs(), count, "nothing dispatched to a team that lost a worker");
    await setKernelThreads(2);
  },
);
