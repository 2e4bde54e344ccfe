/**
 * The browser bundle (dist/browser/kerasless.min.js, built by scripts/build-browser.ts): its size
 * budget, that it is self-contained, and that it computes Keras' numbers in a plain V8 context
 * with no Node built-ins — the seed model from bytes and every fixture in every format.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BUNDLE_BUDGET_GZIP,
  RECURRENT_BUDGET_GZIP,
  buildCoreBundle,
  buildRecurrentBundle,
  gzipSize,
} from "../../scripts/build-browser.js";
import { Tensor } from "../../src/tensor.js";
import { assertClose, listFixtures, type FixtureTensor } from "../helpers.js";

const root = new URL("../../", import.meta.url).pathname;
const built = buildCoreBundle();
const recurrentBuilt = buildRecurrentBundle();

interface VmCase {
  id: string;
  name: string;
  model: string;
  weights?: string;
  inputs: FixtureTensor[];
}
type VmResult =
  | { id: string; outputs: { shape: number[]; data: (number | string)[] }[] }
  | { id: string; error: { name: string; keraslessError: boolean; code?: string; message: string } };
interface VmRun {
  globals: Record<string, string>;
  exports: string[];
  results: VmResult[];
}

async function runInVm(cases: VmCase[], bundle = built): Promise<VmRun> {
  const { code } = await bundle;
  const stdout = execFileSync(
    process.execPath,
    ["--experimental-vm-modules", "--no-warnings", join(root, "test/browser/vm-runner.mjs")],
    {
      // JSON has no NaN or Infinity: non-finite inputs travel as strings (the runner turns them back).
      input: JSON.stringify({ code: new TextDecoder().decode(code), cases }, (_, v) =>
        typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
      ),
      maxBuffer: 64 * 1024 * 1024,
      encoding: "utf8",
    },
  );
  return JSON.parse(stdout) as VmRun;
}

const base64 = (file: string): string => readFileSync(file).toString("base64");

function outputsOf(result: VmResult): Tensor[] {
  if ("error" in result)
    assert.fail(`${result.id}: ${result.error.name} ${result.error.code}: ${result.error.message}`);
  return result.outputs.map((t) => new Tensor(t.shape, Float32Array.from(t.data, Number)));
}

test(`the bundle is at most ${BUNDLE_BUDGET_GZIP / 1024} KB gzip`, async (t) => {
  const { code } = await built;
  const size = gzipSize(code);
  t.diagnostic(
    `kerasless.min.js: ${code.length} bytes, ${size} bytes gzip ` +
      `(${(size / 1024).toFixed(1)} KB; budget ${BUNDLE_BUDGET_GZIP / 1024} KB)`,
  );
  assert.ok(size <= BUNDLE_BUDGET_GZIP, `${size} bytes gzip, over the budget of ${BUNDLE_BUDGET_GZIP}`);
});

test("the bundle is self-contained: no imports, no Node built-ins, fflate the only library inside", async () => {
  const { metafile } = await built;
  const [output] = Object.values(metafile.outputs);
  assert.deepEqual(output.imports, [], "the bundle imports nothing");
  const inputs = Object.keys(output.inputs);
  assert.ok(
    inputs.every((path) => !path.startsWith("node:")),
    "no node: modules",
  );
  assert.ok(
    !inputs.some((path) => path.includes("/pako/") || path.includes("jsfive")),
    "no pako or jsfive: kerasless reads HDF5 itself (src/io/hdf5/)",
  );
  assert.ok(
    inputs.some((path) => path.includes("fflate")),
    "fflate is inside",
  );
});

test("in a plain V8 context (no require, no process) the bundle runs the seed model with Keras' numbers", async () => {
  const io = JSON.parse(readFileSync(join(root, "examples/seed/io.json"), "utf8"));
  const run = await runInVm([
    { id: "seed", name: "model.keras", model: base64(join(root, "examples/seed/model.keras")), inputs: io.inputs },
  ]);
  assert.deepEqual(run.globals, {
    process: "undefined",
    require: "undefined",
    Buffer: "undefined",
    fetch: "undefined",
    Blob: "undefined",
    TextDecoder: "function",
  });
  assert.ok(
    run.exports.includes("loadModel") && run.exports.includes("KeraslessError"),
    `exports: ${run.exports.join(", ")}`,
  );
  const [output] = outputsOf(run.results[0]);
  const worst = assertClose(output, io.outputs[0], "seed in vm");
  assert.ok(worst < 1e-6, `max error ${worst}`);
});

test("in the V8 context, a file that is no model fails with a KeraslessError and its code", async () => {
  const run = await runInVm([
    { id: "csv", name: "LSTM_sample.csv", model: base64(join(root, "examples/seed/LSTM_sample.csv")), inputs: [] },
  ]);
  const [result] = run.results;
  assert.ok("error" in result, "loading must fail");
  assert.equal(result.error.keraslessError, true, "instanceof the bundle's KeraslessError");
  assert.equal(result.error.name, "KeraslessError");
  assert.match(result.error.code ?? "", /^E_/);
  assert.match(result.error.message, /LSTM_sample\.csv/);
});

test("in the V8 context, every fixture in every format matches Keras", async () => {
  const cases: VmCase[] = [];
  const expectations = new Map<string, FixtureTensor[]>();
  for (const suite of ["seed", "real-world", "keras3", "keras2", "compressed"]) {
    for (const fixture of listFixtures(suite)) {
      for (const format of fixture.formats) {
        cases.push({
          id: `${fixture.id} (${format.model})`,
          name: format.model,
          model: base64(join(fixture.dir, format.model)),
          weights: format.weights === undefined ? undefined : base64(join(fixture.dir, format.weights)),
          inputs: fixture.inputs,
        });
        expectations.set(`${fixture.id} (${format.model})`, fixture.outputs);
      }
    }
  }
  assert.ok(cases.length > 100, `${cases.length} cases`);
  const run = await runInVm(cases);
  for (const result of run.results) {
    const outputs = outputsOf(result);
    const expected = expectations.get(result.id)!;
    assert.equal(outputs.length, expected.length, `${result.id}: number of outputs`);
    outputs.forEach((output, i) => assertClose(output, expected[i], `${result.id} output #${i}`));
  }
});

test(`the recurrent-only bundle is at most ${RECURRENT_BUDGET_GZIP / 1024} KB gzip`, async (t) => {
  const { code, metafile } = await recurrentBuilt;
  const size = gzipSize(code);
  t.diagnostic(`kerasless-recurrent.min.js: ${code.length} bytes, ${size} bytes gzip (${(size / 1024).toFixed(1)} KB)`);
  assert.ok(size <= RECURRENT_BUDGET_GZIP, `${size} bytes gzip, over the budget of ${RECURRENT_BUDGET_GZIP}`);
  const inputs = Object.keys(Object.values(metafile.outputs)[0].inputs);
  for (const left of ["convolutional", "pooling", "preprocessing", "kernels/conv/", "kernels/wasm-conv-"])
    assert.ok(!inputs.some((path) => path.includes(left)), `${left} is in the recurrent bundle`);
});

test("in the V8 context, the recurrent bundle runs sequence models and names the layers it leaves out", async () => {
  const ids = ["keras3/lstm_default", "keras3/bidir_lstm", "keras2/embedding_lstm", "keras3/masking_bidir"];
  const refusedIds = ["keras3/conv2d_variants", "keras3/op_lstm_head", "keras3/lstm_self_attention"];
  const cases: VmCase[] = [...ids, ...refusedIds].map((id) => {
    const [fixture] = listFixtures(id);
    const format = fixture.formats[0];
    return { id, name: format.model, model: base64(join(fixture.dir, format.model)), inputs: fixture.inputs };
  });
  const run = await runInVm(cases, recurrentBuilt);
  for (const [i, id] of ids.entries()) {
    const expected = listFixtures(id)[0].outputs;
    outputsOf(run.results[i]).forEach((output, j) => assertClose(output, expected[j], `${id} output #${j}`));
  }
  const left = [/layer class "Conv2D"/, /Keras op GetItem/, /layer class "MultiHeadAttention"/];
  for (const [i, pattern] of left.entries()) {
    const refused = run.results[ids.length + i];
    assert.ok("error" in refused, `${refusedIds[i]} must be refused`);
    assert.equal(refused.error.code, "E_UNSUPPORTED");
    assert.match(refused.error.message, pattern);
    assert.match(refused.error.message, /is not supported by kerasless\/recurrent \(the main entry point/);
  }
});
