/** Shared test helpers: fixture discovery, the parity tolerance and the parity test of a fixture. */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { test } from "node:test";
import { KeraslessError } from "../src/errors.js";
import { loadModelFromBytes } from "../src/load.js";
import type { Tensor } from "../src/tensor.js";
import "./support/kernel-path.js";

export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

export interface FixtureTensor {
  name?: string;
  shape: number[];
  dtype: "float32" | "int32";
  data: number[];
}

export interface FixtureFormat {
  model: string;
  weights?: string;
}

export interface Fixture {
  /** e.g. "keras3/lstm_default" */
  id: string;
  dir: string;
  formats: FixtureFormat[];
  inputs: FixtureTensor[];
  outputs: FixtureTensor[];
  /** Stateful cases: successive predict() calls whose states carry over, in order. */
  chunks: { inputs: FixtureTensor[]; outputs: FixtureTensor[] }[];
  io: Record<string, unknown>;
}

/** Every case folder under test/fixtures/<suite>/ that has an io.json (or the folder itself). */
export function listFixtures(suite: string): Fixture[] {
  const root = join(FIXTURES, suite);
  if (!existsSync(root)) return [];
  const dirs = existsSync(join(root, "io.json"))
    ? [root]
    : readdirSync(root)
        .sort()
        .map((d) => join(root, d));
  return dirs
    .filter((dir) => existsSync(join(dir, "io.json")))
    .map((dir) => {
      const io = JSON.parse(readFileSync(join(dir, "io.json"), "utf8"));
      const formats: FixtureFormat[] = io.formats ?? detectFormats(dir);
      const chunks = (io.chunks ?? [{ inputs: io.inputs, outputs: io.outputs }]).map(
        (c: { inputs: FixtureTensor[]; outputs: FixtureTensor[] }) => ({
          inputs: c.inputs.map(finite),
          outputs: c.outputs.map(finite),
        }),
      );
      return {
        id: dir.slice(FIXTURES.length),
        dir,
        formats,
        inputs: io.inputs.map(finite),
        outputs: io.outputs.map(finite),
        chunks,
        io,
      };
    });
}

/** io.json writes NaN and the infinities as strings ("NaN", "Infinity", "-Infinity"): JSON has no such numbers. */
function finite(t: FixtureTensor): FixtureTensor {
  return { ...t, data: t.data.map((v) => (typeof v === "string" ? Number(v) : v)) };
}

function detectFormats(dir: string): FixtureFormat[] {
  const formats: FixtureFormat[] = [];
  if (existsSync(join(dir, "model.keras"))) formats.push({ model: "model.keras" });
  if (existsSync(join(dir, "model.h5"))) formats.push({ model: "model.h5" });
  if (existsSync(join(dir, "model.json")) && existsSync(join(dir, "model.weights.h5")))
    formats.push({ model: "model.json", weights: "model.weights.h5" });
  return formats;
}

export const ABS_TOLERANCE = 1e-5;
export const REL_TOLERANCE = 1e-4;

/** Asserts |got - expected| <= 1e-5 + 1e-4 * |expected| for every value; returns the max abs error. */
export function assertClose(got: Tensor, expected: FixtureTensor, what: string): number {
  assert.deepEqual([...got.shape], expected.shape, `${what}: shape`);
  let maxError = 0;
  expected.data.forEach((want, i) => {
    const value = got.data[i];
    const error = Math.abs(value - want);
    if (
      value !== want &&
      !(error <= ABS_TOLERANCE + REL_TOLERANCE * Math.abs(want)) &&
      !(Number.isNaN(want) && Number.isNaN(value))
    ) {
      assert.fail(`${what}: value #${i} is ${value}, Keras gives ${want} (error ${error})`);
    }
    if (error > maxError) maxError = error;
  });
  return maxError;
}

/** Asserts that two lists of tensors are identical: shapes, dtypes and every bit of every value. */
export function assertSameBits(got: Tensor[], want: Tensor[], what: string): void {
  assert.equal(got.length, want.length, `${what}: number of outputs`);
  got.forEach((t, j) => {
    assert.deepEqual(t.shape, want[j].shape, `${what}: output ${j} shape`);
    assert.equal(t.data.constructor, want[j].data.constructor, `${what}: output ${j} dtype`);
    const a = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const b = new Uint32Array(want[j].data.buffer, want[j].data.byteOffset, want[j].data.length);
    const i = a.findIndex((bits, k) => bits !== b[k]);
    assert.equal(i, -1, `${what}: output ${j} value #${i} is ${t.data[i]}, model.predict gives ${want[j].data[i]}`);
  });
}

/** Asserts that fn throws a KeraslessError with `code` (and a message matching `pattern`); returns it. */
export function rejects(fn: () => unknown, code: string, pattern?: RegExp): KeraslessError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KeraslessError, `expected a KeraslessError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/**
 * One test per format of `fixture`: the model, loaded from that file, reproduces the outputs Keras
 * computed. Stateful cases run their chunks in order, keeping the states from one to the next.
 */
export function testMatchesKeras(fixture: Fixture): void {
  for (const format of fixture.formats) {
    const label = `${fixture.id} (${format.model}${format.weights ? ` + ${format.weights}` : ""})`;
    test(`matches Keras: ${label}`, () => {
      const read = (name: string) => ({
        name: join(fixture.dir, name),
        bytes: new Uint8Array(readFileSync(join(fixture.dir, name))),
      });
      const model = loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
      fixture.chunks.forEach((chunk, c) => {
        const outputs = model.predict(chunk.inputs.map((t) => ({ shape: t.shape, data: t.data })));
        assert.equal(outputs.length, chunk.outputs.length, "number of outputs");
        chunk.outputs.forEach((expected, i) => assertClose(outputs[i], expected, `${label} chunk #${c} output #${i}`));
      });
    });
  }
}

/** The suites of generated cases, each case a folder of the same name under one or both. */
export const KERAS_SUITES = ["keras3", "keras2"] as const;

/**
 * The parity tests of the generated fixture cases named (folders under test/fixtures/keras3/ and
 * keras2/; a case may exist under one suite only). Each case is named by exactly one family's test
 * file, test/layers/<family>.test.ts, as a literal list: test/layers/fixture-cases.test.ts checks it.
 */
export function matchesKeras(cases: readonly string[]): void {
  for (const name of cases) {
    const found = KERAS_SUITES.flatMap((suite) => listFixtures(`${suite}/${name}`));
    if (found.length === 0)
      test(`fixture case ${name} exists`, () => assert.fail(`no ${name} under keras3/ or keras2/`));
    for (const fixture of found) testMatchesKeras(fixture);
  }
}
