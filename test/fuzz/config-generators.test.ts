/**
 * The structure-aware config generators' share of every `npm test`: random DAGs (fan-in, fan-out,
 * repeated outputs, nested models called several times) and the growable structures at sizes a
 * hostile file could reach, each within 2 s and 256 MB, ending in a model or a one-line
 * KeraslessError. A loaded random DAG must give finite outputs of its declared rank; the relu
 * structures, whose answer is known, must give relu(x) at every output. Longer runs: set
 * KERASLESS_CONFIG_FUZZ_CASES and KERASLESS_CONFIG_FUZZ_SEED (docs/robustness.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { graphFromConfig } from "../../src/graph/create.js";
import { fullRegistry } from "../../src/layers/registry.js";
import { Model } from "../../src/model.js";
import { Tensor } from "../../src/tensor.js";
import * as gen from "./config-generators.js";
import { withinBudget } from "../support/budget.js";

const ARTIFACT = { kerasVersion: "3.0.0", kerasMajor: 3, format: "keras" } as const;
const CASES = Number(process.env.KERASLESS_CONFIG_FUZZ_CASES ?? 40);
const FIRST_SEED = Number(process.env.KERASLESS_CONFIG_FUZZ_SEED ?? 1);

test(`random DAG configs (${CASES} from seed ${FIRST_SEED}): a model with finite outputs or a one-line error`, () => {
  let loaded = 0;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
    const size = 1 + Math.floor(gen.random(seed)() * 60);
    const config = gen.randomDag(seed, size);
    const { result } = withinBudget(`seed ${seed}`, () => {
      const model = new Model(graphFromConfig(config, 3, fullRegistry), ARTIFACT);
      model.summary();
      const input = new Tensor([2, 4], Float32Array.of(1, -2, 3, -4, 0.5, 0, -0.25, 8));
      return { model, outputs: model.predict(input) };
    });
    if (result === undefined) continue;
    loaded++;
    result.outputs.forEach((out, k) => {
      assert.equal(out.shape[0], 2, `seed ${seed}: output ${k} keeps the batch`);
      assert.equal(out.shape.length, result.model.outputs[k].shape.length, `seed ${seed}: output ${k} rank`);
      assert.ok(
        Array.from(out.data).every((v) => Number.isFinite(v)),
        `seed ${seed}: output ${k} is finite`,
      );
    });
  }
  // The generator is not only producing refusals.
  assert.ok(loaded >= CASES / 4, `only ${loaded} of ${CASES} configs loaded`);
});

test("growable structures at hostile sizes: each within 2 s and 256 MB", () => {
  const sizes: Record<string, number> = {
    chain: 5000,
    fanOut: 5000,
    fanIn: 100_000,
    duplicateOutputs: 10_000,
    sharedCalls: 5000,
  };
  for (const [name, grow] of Object.entries(gen.GROWABLE)) {
    const config = grow(sizes[name]);
    withinBudget(`${name}(${sizes[name]})`, () => {
      const model = new Model(graphFromConfig(config, 3, fullRegistry), ARTIFACT);
      model.predict(new Tensor([1, 4], Float32Array.of(1, -2, 3, -4)));
    });
  }
});

test("relu chains, fan-outs, shared calls and nested models compute relu(x) at every output", () => {
  const x = Float32Array.of(1, -2, 3, -4);
  const relu = [1, 0, 3, 0];
  for (const config of [
    gen.chain(50),
    gen.fanOut(20),
    gen.sharedCalls(30),
    gen.duplicateOutputs(5),
    gen.nestedModels(5),
  ]) {
    const model = new Model(graphFromConfig(config, 3, fullRegistry), ARTIFACT);
    for (const out of model.predict(new Tensor([1, 4], x))) assert.deepEqual(Array.from(out.data), relu);
  }
});
