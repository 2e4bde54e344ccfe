/**
 * Complexity of everything a model config controls (issue 18): each structure is generated at
 * size n and 8n, and the CPU time and the memory the result holds must grow about 8x, not 64x.
 * On a noisy 2-core machine: a warm-up run, medians of 3, CPU rather than wall time, and a bound
 * of 20x, which linear work (8x) stays under and quadratic work (64x) does not.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { KeraslessError } from "../../src/errors.js";
import { graphFromConfig } from "../../src/graph/create.js";
import { fullRegistry } from "../../src/layers/registry.js";
import { Model } from "../../src/model.js";
import * as gen from "../fuzz/config-generators.js";
import { measure, median } from "../support/budget.js";

const ARTIFACT = { kerasVersion: "3.0.0", kerasMajor: 3, format: "keras" } as const;
const GROWTH = 8;
const BOUND = 20;

/** Loads a config as far as it goes (a refusal is a KeraslessError) and writes its summary. */
function load(config: unknown): Model | KeraslessError {
  try {
    const model = new Model(graphFromConfig(config, 3, fullRegistry), ARTIFACT);
    model.summary();
    return model;
  } catch (e) {
    if (e instanceof KeraslessError) return e;
    throw e;
  }
}

function assertLinear(t: TestContext, what: string, n: number, work: (size: number) => unknown, memory = true): void {
  work(n); // warm-up: compile before timing
  const at = (size: number) => {
    const runs = [0, 1, 2].map(() => measure(() => work(size)));
    for (const run of runs) if (run.error !== undefined) throw run.error;
    return { ms: median(runs.map((r) => r.ms)), bytes: median(runs.map((r) => r.retainedBytes)) };
  };
  const small = at(n);
  const large = at(GROWTH * n);
  const timeRatio = large.ms / Math.max(small.ms, 1);
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const at8 = `8n ${large.ms.toFixed(1)} ms ${mb(large.bytes)}`;
  const detail = `${what}: n=${n} ${small.ms.toFixed(1)} ms ${mb(small.bytes)}, ${at8}`;
  t.diagnostic(`time ${timeRatio.toFixed(1)}x: ${detail}`);
  assert.ok(timeRatio < BOUND, `time grows ${timeRatio.toFixed(1)}x: ${detail}`);
  if (memory) {
    const memoryRatio = large.bytes / Math.max(small.bytes, 1);
    assert.ok(memoryRatio < BOUND, `memory grows ${memoryRatio.toFixed(1)}x: ${detail}`);
  }
}

test("a chain of n layers: parsing, wiring, limits, summary", (t) => {
  assertLinear(t, "chain", 1000, (n) => load(gen.chain(n)));
});

test("n layers fanning out to n model outputs: output shapes and names", (t) => {
  assertLinear(t, "fan-out", 1000, (n) => load(gen.fanOut(n)));
});

test("n outputs of one name: unique names", (t) => {
  assertLinear(t, "duplicate outputs", 2000, (n) => load(gen.duplicateOutputs(n)));
});

test("one layer called n times: calls, and the summary's list of them", (t) => {
  assertLinear(t, "shared calls", 1000, (n) => load(gen.sharedCalls(n)));
});

test("an inbound node with n references to one layer: config normalisation", (t) => {
  assertLinear(t, "fan-in", 10_000, (n) => load(gen.fanIn(n)), false);
});

test("models nested d levels deep, each calling the next twice: checked once per graph", (t) => {
  // d = 6 loads (about 3 * 2^6 calls per run); d = 48 is refused by the call limit, after the
  // same per-graph work. Repeated so that the small case is measurable.
  assertLinear(
    t,
    "nested",
    6,
    (d) => {
      const config = gen.nestedModels(d);
      for (let i = 0; i < 20; i++) load(config);
    },
    false,
  );
});

test("predict() on a chain of n layers and on n outputs", (t) => {
  const chained = (n: number) => new Model(graphFromConfig(gen.chain(n), 3, fullRegistry), ARTIFACT);
  const fanned = (n: number) => new Model(graphFromConfig(gen.fanOut(n), 3, fullRegistry), ARTIFACT);
  const models = new Map<number, [Model, Model]>();
  for (const n of [500, 4000]) models.set(n, [chained(n), fanned(n)]);
  assertLinear(
    t,
    "predict",
    500,
    (n) => {
      const [a, b] = models.get(n)!;
      for (let i = 0; i < 5; i++) {
        a.predict([[1, -2, 3, -4]]);
        b.predict([[1, -2, 3, -4]]);
      }
    },
    false,
  );
});
