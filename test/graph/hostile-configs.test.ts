/**
 * Hostile model configs (issue 18): one test per attack class on the graph, each ending in a
 * one-line KeraslessError (or a correct result) within 2 s and 256 MB.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KeraslessError } from "../../src/errors.js";
import { graphFromConfig } from "../../src/graph/create.js";
import { fullRegistry } from "../../src/layers/registry.js";
import { MAX_VALUES_PER_SAMPLE } from "../../src/graph/limits.js";
import { Model } from "../../src/model.js";
import { formatSummary, type LayerRow } from "../../src/summary.js";
import { Tensor } from "../../src/tensor.js";
import * as gen from "../fuzz/config-generators.js";
import { withinBudget } from "../support/budget.js";

const ARTIFACT = { kerasVersion: "3.0.0", kerasMajor: 3, format: "keras" } as const;
const model = (config: unknown): Model => new Model(graphFromConfig(config, 3, fullRegistry), ARTIFACT);

function refused(what: string, work: () => unknown, code: string, pattern: RegExp): KeraslessError {
  const { error } = withinBudget(what, work);
  assert.ok(error instanceof KeraslessError, `${what}: expected ${code}, got a result`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  return error;
}

test("nested models called twice per level, 40 levels: refused once per graph, not per call (2^40 visits)", () => {
  const config = gen.nestedModels(40);
  assert.ok(JSON.stringify(config).length < 32_000);
  refused("nested x2", () => model(config), "E_LIMIT", /runs more than 1048576 layer calls per prediction/);
});

test("nested models within the call limit load, predict and summarize", () => {
  const m = withinBudget("nested x2, 12 levels", () => model(gen.nestedModels(12))).result!;
  const [out] = m.predict([[1, -2, 3, -4]]);
  assert.deepEqual(Array.from(out.data), [1, 0, 3, 0]);
  assert.match(m.summary(), /m11 \(Functional\)/);
});

test("models and wrappers nested thousands deep: E_LIMIT, not a stack overflow", () => {
  refused("nested 5000 deep", () => model(gen.nestedModels(5000, 1)), "E_LIMIT", /nested 201 levels deep/);
});

test("an inbound node with 100k references to one layer: linear normalisation, then the layer's own error", () => {
  refused(
    "fan-in 100k",
    () => model(gen.fanIn(100_000)),
    "E_CONFIG",
    /\(Add\): expects 1 to 64 input\(s\), got 100000/,
  );
});

test("10k outputs of one name: unique names as tf.keras makes them, in linear time", () => {
  const m = withinBudget("10k duplicate outputs", () => model(gen.duplicateOutputs(10_000))).result!;
  assert.equal(m.outputs.length, 10_000);
  assert.deepEqual(
    m.outputs.slice(0, 3).map((o) => o.name),
    ["a", "a_1", "a_2"],
  );
  assert.equal(m.outputs[9999].name, "a_9999");
  assert.equal(new Set(m.outputs.map((o) => o.name)).size, 10_000);
});

test("10k layers fanning out to 10k outputs: wiring, output shapes and summary stay linear", () => {
  const m = withinBudget("10k outputs", () => model(gen.fanOut(10_000))).result!;
  assert.deepEqual(m.outputs[5000].shape, [null, 4]);
  const { result } = withinBudget("10k-row summary", () => m.summary());
  assert.match(result!, /│ a9999 \(Activation\) +│ \(None, 4\) +│ +0 │ in\[0\]\[0\] +│/);
});

test("a summary of 130k rows (past the 125k arguments a spread into Math.max takes), cells cut at 200 columns", () => {
  const rows: LayerRow[] = [];
  for (let i = 0; i < 130_000; i++) {
    rows.push({ name: `l${i}`, className: "Dense", outputShapes: [[null, 1]], params: 1234567, connectedTo: [] });
  }
  rows[7] = { ...rows[7], connectedTo: Array.from({ length: 100_000 }, (_, k) => `x[${k}][0]`) };
  const text = formatSummary({
    name: "m",
    className: "Functional",
    rows,
    trainableParams: 1000,
    nonTrainableParams: 0,
  });
  assert.match(text, /│ l129999 \(Dense\) +│ \(None, 1\) +│ +1,234,567 │ - +│/);
  assert.match(text, / Total params: 1,000 \(3\.91 KB\)/);
  // Every line is as wide as the widest cell allows, not as the 1 MB list of calls.
  assert.ok(text.split("\n").every((line) => line.length < 500));
});

test("call arguments nested 200k lists deep: no recursion over the file's nesting", () => {
  let args: unknown = gen.tensor("in");
  for (let i = 0; i < 200_000; i++) args = [args];
  const config = gen.functional(
    "deep_args",
    [
      gen.inputLayer("in", [null, 4]),
      { ...gen.layer("Activation", "a", { activation: "relu" }, []), inbound_nodes: [{ args, kwargs: { k: args } }] },
    ],
    [["in", 0, 0]],
    [["a", 0, 0]],
  );
  refused("deep args", () => model(config), "E_UNSUPPORTED", /the tensor argument "k" is not supported/);
});

// Keras builds a layer once; a shared layer's later calls must fit the weights the first one built.
const shared: [string, Record<string, unknown>, number][] = [
  ["Conv1D", { filters: 2, kernel_size: [3] }, 3],
  ["Conv1DTranspose", { filters: 2, kernel_size: [3] }, 3],
  ["BatchNormalization", {}, 3],
  ["LayerNormalization", {}, 3],
  ["GroupNormalization", { groups: 2 }, 3],
  ["PReLU", {}, 3],
  ["Dense", { units: 3 }, 2],
];
for (const [className, config, rank] of shared) {
  test(`a shared ${className} called on inputs of different widths is refused at load, naming the layer`, () => {
    refused(
      className,
      () => model(gen.sharedAcrossWidths(className, config, rank)),
      "E_CONFIG",
      new RegExp(`layer "shared" \\(${className}\\): .*(earlier call built it|was built for 4 input features)`),
    );
  });
}

function upsampling(size: number): unknown {
  return gen.functional(
    "upsampling",
    [gen.inputLayer("in", [null, null, 1]), gen.layer("UpSampling1D", "up", { size }, [[gen.tensor("in")]])],
    [["in", 0, 0]],
    [["up", 0, 0]],
  );
}

test("a None time axis: the output size is checked at run time, before anything is allocated", () => {
  // 2^25 values per sample for a 1-step input pass the load-time check; 8 steps make 2^28.
  const m = model(upsampling(2 ** 25));
  const input = new Tensor([1, 8, 1], new Float32Array(8));
  const error = refused("8 steps x 2^25", () => m.predict(input), "E_LIMIT", /layer "up" \(UpSampling1D\)/);
  assert.match(error.message, new RegExp(`\\[1, ${2 ** 28}, 1\\] for these inputs holds ${2 ** 28} values per sample`));
  assert.ok(2 ** 28 > MAX_VALUES_PER_SAMPLE);
});

test("run-time output sizes: inputs within the limit give Keras' result, and changing sizes are rechecked", () => {
  const m = model(upsampling(3));
  const [out] = m.predict(new Tensor([1, 2, 1], Float32Array.of(1, 2)));
  assert.deepEqual(out.shape, [1, 6, 1]);
  assert.deepEqual(Array.from(out.data), [1, 1, 1, 2, 2, 2]);
  const big = model(upsampling(2 ** 24));
  big.predict(new Tensor([1, 1, 1], new Float32Array(1)));
  refused(
    "9 steps x 2^24",
    () => big.predict(new Tensor([1, 9, 1], new Float32Array(9))),
    "E_LIMIT",
    /values per sample/,
  );
});

test("a shared layer called on inputs of different ranks is refused (its axes were resolved for the first)", () => {
  // Before: a shared LayerNormalization built last on [batch, time, features] gave NaN for its
  // [batch, features] call.
  const config = gen.functional(
    "shared_ranks",
    [
      gen.inputLayer("seq", [null, 3, 4]),
      gen.inputLayer("vec", [null, 4]),
      gen.layer("LayerNormalization", "ln", {}, [[gen.tensor("vec")], [gen.tensor("seq")]]),
    ],
    [
      ["seq", 0, 0],
      ["vec", 0, 0],
    ],
    [
      ["ln", 1, 0],
      ["ln", 0, 0],
    ],
  );
  refused(
    "shared ranks",
    () => model(config),
    "E_UNSUPPORTED",
    /layer "ln" \(LayerNormalization\): is shared by calls on inputs of rank 2 and of rank 3/,
  );
});

test("an input declared [None, 1e9, 3] before a Normalization over axes 1, 2: E_LIMIT before the layer builds", () => {
  const config = gen.functional(
    "m",
    [
      gen.inputLayer("x", [null, 1e9, 3]),
      gen.layer("Normalization", "n", { axis: [1, 2], mean: [0.1, 0.2, 0.3], variance: [1, 2, 3] }, [
        [gen.tensor("x")],
      ]),
    ],
    [["x", 0, 0]],
    [["n", 0, 0]],
  );
  refused("1e9 steps", () => model(config), "E_LIMIT", /layer "x" \(InputLayer\).*3000000000 values per sample/);
});
