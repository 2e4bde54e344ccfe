/**
 * Real public model files (test/fixtures/real-world-fetched/): Teachable Machine exports, LRCN and
 * ConvLSTM activity models, CNN classifiers, LSTM forecasters, as their authors committed them.
 * The files are not in the repository; `npm run fixtures:fetch-real-world` brings them, pinned by
 * commit and sha256. A case whose file is there must be that file and give the outputs of the
 * framework that wrote it (tools/fixtures/real_world_fetched.py), on both kernel paths; a case
 * whose file is missing is reported as skipped, with the command that fetches it.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setKernelPath } from "../src/kernels/wasm.js";
import { loadModelFromBytes } from "../src/load.js";
import { FETCHED_ROOT, listRealWorldCases, sha256 } from "../scripts/real-world-files.js";
import { assertClose, type FixtureTensor } from "./helpers.js";
import { seededUniform, type SeededUniform } from "./support/seeded-inputs.js";

interface SeededTensor {
  shape: number[];
  dtype: "float32";
  seeded: SeededUniform;
  first: number[];
}

interface FetchedIo {
  inputs: SeededTensor[];
  outputs: FixtureTensor[];
}

const cases = listRealWorldCases().map((c) => ({
  ...c,
  io: JSON.parse(readFileSync(join(c.dir, "io.json"), "utf8")) as FetchedIo,
}));

test("real-world-fetched: a dozen cases, each with its provenance in PROVENANCE.md", () => {
  assert.ok(cases.length >= 12, `${cases.length} cases`);
  const provenance = readFileSync(join(FETCHED_ROOT, "PROVENANCE.md"), "utf8");
  for (const { id, source } of cases) {
    for (const key of ["repo", "path", "license", "keras_version", "written_by", "contains"] as const)
      assert.ok(source[key], `${id}: source.json has no ${key}`);
    assert.match(source.commit, /^[0-9a-f]{40}$/, `${id}: commit`);
    assert.match(source.sha256, /^[0-9a-f]{64}$/, `${id}: sha256`);
    assert.ok(provenance.includes(`| \`${id}\` |`) && provenance.includes(source.sha256), `${id} in PROVENANCE.md`);
  }
});

test("seeded inputs: this side computes the first values the generator recorded", () => {
  for (const { id, io } of cases)
    for (const t of io.inputs) assert.deepEqual([...seededUniform(t.first.length, t.seeded)], t.first, id);
});

for (const { id, dir, source, io } of cases) {
  const file = join(dir, source.file);
  const label = `real-world-fetched/${id} (${source.repo})`;
  if (!existsSync(file)) {
    test(label, { skip: `${source.file} not fetched: npm run fixtures:fetch-real-world` }, () => {});
    continue;
  }
  const bytes = new Uint8Array(readFileSync(file));
  test(`${label}: the fetched file is the pinned one`, () => assert.equal(sha256(bytes), source.sha256));
  const inputs = io.inputs.map((t) => ({
    shape: t.shape,
    data: seededUniform(
      t.shape.reduce((a, b) => a * b, 1),
      t.seeded,
    ),
  }));
  for (const path of ["wasm", "js"] as const) {
    test(`matches Keras: ${label}, ${path} kernels`, () => {
      setKernelPath(path);
      try {
        const model = loadModelFromBytes({ name: file, bytes });
        const outputs = model.predict(inputs);
        assert.equal(outputs.length, io.outputs.length, "number of outputs");
        io.outputs.forEach((expected, i) => assertClose(outputs[i], expected, `${id} output #${i}`));
      } finally {
        setKernelPath("auto");
      }
    });
  }
}
