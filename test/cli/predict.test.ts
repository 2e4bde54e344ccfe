import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { parseNpy, writeNpy } from "../../src/io/npy.js";
import {
  MULTI_IO,
  EMBEDDING,
  assertClose,
  assertOneErrorLine,
  cli,
  readJson,
  seed,
  seedIo,
  tempDir,
  type JsonTensor,
} from "./helpers.js";

const tmp = tempDir();
after(() => tmp.cleanup());

const expected = parseNpy(readFileSync(seed("expected_0.npy")), "expected_0.npy");
const input = parseNpy(readFileSync(seed("input_0.npy")), "input_0.npy");

function parseOutputs(text: string): JsonTensor[] {
  const json = JSON.parse(text) as { outputs: JsonTensor[] };
  assert.ok(Array.isArray(json.outputs));
  return json.outputs;
}

function assertSeedOutputs(outputs: JsonTensor[]): void {
  assert.equal(outputs.length, 1);
  const [out] = outputs;
  assert.equal(out.name, "dense");
  assert.deepEqual(out.shape, [7, 1]);
  assert.equal(out.dtype, "float32");
  assertClose(out.data, expected.data);
  for (const v of out.data) assert.equal(Math.fround(v), v, `${v} is not printed as its exact float32 value`);
}

describe("kerasless predict", () => {
  test(".npy input, JSON on stdout", async () => {
    const run = await cli("predict", seed("model.keras"), "--input", seed("input_0.npy"));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assertSeedOutputs(parseOutputs(run.stdout));
  });

  test(".json input, .npy output", async () => {
    const inputJson = tmp.path("input.json");
    writeFileSync(inputJson, JSON.stringify({ shape: input.shape, dtype: "float32", data: Array.from(input.data) }));
    const out = tmp.path("out.npy");
    const run = await cli("predict", seed("model.keras"), "--input", inputJson, "--output", out);
    assert.equal(run.code, 0, run.stderr);
    const written = parseNpy(readFileSync(out), out);
    assert.deepEqual(written.shape, [7, 1]);
    assert.equal(written.dtype, "float32");
    assertClose(written.data, expected.data);
  });

  test(".npy input, .json output; legacy .h5 and model.json + weights give the same numbers", async () => {
    const models: string[][] = [
      [seed("model.keras")],
      [seed("model.h5")],
      [seed("model.json"), "--weights", seed("model.weights.h5")],
    ];
    for (const [i, model] of models.entries()) {
      const out = tmp.path(`out-${i}.json`);
      const run = await cli("predict", ...model, "--input", seed("input_0.npy"), "--output", out);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /out-\d\.json/);
      assertSeedOutputs(readJson<{ outputs: JsonTensor[] }>(out).outputs);
    }
  });

  test("an io.json as --input takes its inputs", async () => {
    const run = await cli("predict", seed("model.keras"), "--input", seed("io.json"));
    assert.equal(run.code, 0, run.stderr);
    assertSeedOutputs(parseOutputs(run.stdout));
  });

  test("CSV look-back windows reproduce the seed article's predictions", async () => {
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
    );
    assert.equal(run.code, 0, run.stderr);
    const outputs = parseOutputs(run.stdout);
    assertSeedOutputs(outputs);
    assertClose(outputs[0].data, seedIo().outputs[0].data);
  });

  test("CSV features by 0-based index, output to .npy", async () => {
    const out = tmp.path("csv.npy");
    const run = await cli(
      "predict",
      seed("model.h5"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "0,1,2",
      "--output",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assertClose(parseNpy(readFileSync(out), out).data, seedIo().outputs[0].data);
  });

  test("several inputs in model.inputs order, several outputs", async () => {
    const io = readJson<{ inputs: JsonTensor[]; outputs: JsonTensor[] }>(`${MULTI_IO}/io.json`);
    const files = io.inputs.map((t, i) => {
      const file = tmp.path(`multi-${i}.npy`);
      writeFileSync(file, writeNpy(t.shape, Float32Array.from(t.data)));
      return file;
    });
    const run = await cli("predict", `${MULTI_IO}/model.keras`, "--input", files[0], "--input", files[1]);
    assert.equal(run.code, 0, run.stderr);
    const outputs = parseOutputs(run.stdout);
    assert.deepEqual(
      outputs.map((o) => o.name),
      ["head_a", "head_b"],
    );
    outputs.forEach((o, i) => {
      assert.deepEqual(o.shape, io.outputs[i].shape);
      assertClose(o.data, io.outputs[i].data);
    });

    const npy = await cli(
      "predict",
      `${MULTI_IO}/model.keras`,
      "--input",
      files[0],
      "--input",
      files[1],
      "--output",
      tmp.path("multi.npy"),
    );
    assert.equal(npy.code, 1);
    assert.match(assertOneErrorLine(npy.stderr), /multi\.npy: the model has 2 outputs \(head_a, head_b\)/);

    const missing = await cli("predict", `${MULTI_IO}/model.keras`, "--input", files[0]);
    assert.equal(missing.code, 1);
    assert.match(
      assertOneErrorLine(missing.stderr),
      /the model has 2 inputs \(seq, vec\), the --input files hold 1 tensor$/,
    );
  });

  test("int32 inputs from .json and from a hand-made <i8 .npy", async () => {
    const io = readJson<{ inputs: JsonTensor[]; outputs: JsonTensor[] }>(`${EMBEDDING}/io.json`);
    const tokens = io.inputs[0];
    const jsonFile = tmp.path("tokens.json");
    writeFileSync(jsonFile, JSON.stringify({ shape: tokens.shape, dtype: "int32", data: tokens.data }));
    const fromJson = await cli("predict", `${EMBEDDING}/model.keras`, "--input", jsonFile);
    assert.equal(fromJson.code, 0, fromJson.stderr);
    assertClose(parseOutputs(fromJson.stdout)[0].data, io.outputs[0].data);

    // NumPy's default integer type is int64: build such a file by hand.
    const header =
      `{'descr': '<i8', 'fortran_order': False, 'shape': (${tokens.shape.join(", ")}), }`.padEnd(117) + "\n";
    const bytes = new Uint8Array(10 + header.length + 8 * tokens.data.length);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
    bytes.set(new TextEncoder().encode(header), 10);
    const view = new DataView(bytes.buffer);
    tokens.data.forEach((v, i) => view.setBigInt64(10 + header.length + 8 * i, BigInt(v), true));
    const npyFile = tmp.path("tokens.npy");
    writeFileSync(npyFile, bytes);
    const fromNpy = await cli("predict", `${EMBEDDING}/model.keras`, "--input", npyFile);
    assert.equal(fromNpy.code, 0, fromNpy.stderr);
    assert.equal(fromNpy.stdout, fromJson.stdout);
  });

  test("a value problem in an input names its file", async () => {
    const fractional = tmp.path("fractional.json");
    writeFileSync(fractional, JSON.stringify({ shape: [1, 6], data: [0.5, 1, 2, 3, 4, 5] }));
    const run = await cli("predict", `${EMBEDDING}/model.keras`, "--input", fractional);
    assert.equal(run.code, 1);
    assert.match(
      assertOneErrorLine(run.stderr),
      /fractional\.json: input "tokens" is int32, but value 0\.5 at flat index 0/,
    );
    const outside = tmp.path("outside.json");
    writeFileSync(outside, JSON.stringify({ shape: [1, 6], dtype: "int32", data: [9999, 1, 2, 3, 4, 5] }));
    const vocab = await cli("predict", `${EMBEDDING}/model.keras`, "--input", outside);
    assert.equal(vocab.code, 1);
    assert.match(assertOneErrorLine(vocab.stderr), /outside\.json: .*9999/);
  });

  test("an input of the wrong shape names the file and the model's input", async () => {
    const run = await cli("predict", seed("model.keras"), "--input", seed("expected_0.npy"));
    assert.equal(run.code, 1);
    const line = assertOneErrorLine(run.stderr);
    assert.match(
      line,
      /expected_0\.npy: the model's input "input_layer" has shape \[None, 4, 3\], this tensor has \[7, 1\]$/,
    );
  });

  test("CSV windows that do not fit the model", async () => {
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "X1,X2",
    );
    assert.equal(run.code, 1);
    assert.match(assertOneErrorLine(run.stderr), /LSTM_sample\.csv: the windows have shape \[None, 4, 2\]/);
    const unknown = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "X1,X2,Z",
    );
    assert.match(assertOneErrorLine(unknown.stderr), /no column "Z" \(the columns are X1, X2, X3, Y/);
  });

  test("--stride and --horizon: windows every S rows, the CSV output's row column is the target row", async () => {
    const out = tmp.path("stride.csv");
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--stride",
      "3",
      "--horizon",
      "1",
      "--output",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `wrote ${out}: dense [3, 1]\n`);
    const [header, ...lines] = readFileSync(out, "utf8").trimEnd().split("\n");
    assert.equal(header, "row,dense");
    // Windows start at rows 0, 3, 6 (the seed's windows 0, 3, 6); their targets are rows 4, 7, 10.
    assert.deepEqual(
      lines.map((l) => Number(l.split(",")[0])),
      [4, 7, 10],
    );
    assertClose(
      lines.map((l) => Number(l.split(",")[1])),
      [0, 3, 6].map((k) => expected.data[k]),
    );
  });

  test("--skip-header N with a preamble, --skip-header 0 without a header, and --delimiter", async () => {
    const text = readFileSync(seed("LSTM_sample.csv"), "utf8");
    const preamble = tmp.path("preamble.csv");
    writeFileSync(preamble, `# exported from the seed article\n# units: none\n${text.replace(/,/g, ";")}`);
    const withPreamble = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      preamble,
      "--skip-header",
      "3",
      "--delimiter",
      ";",
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
    );
    assert.equal(withPreamble.code, 0, withPreamble.stderr);
    assertSeedOutputs(parseOutputs(withPreamble.stdout));

    const headless = tmp.path("headless.tsv");
    writeFileSync(headless, text.split("\n").slice(1).join("\n").replace(/,/g, "\t"));
    const noHeader = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      headless,
      "--skip-header",
      "0",
      "--delimiter",
      "tab",
      "--look-back",
      "4",
      "--features",
      "0,1,2",
    );
    assert.equal(noHeader.code, 0, noHeader.stderr);
    assertSeedOutputs(parseOutputs(noHeader.stdout));
    // Without a header, names are no columns.
    const byName = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      headless,
      "--skip-header",
      "0",
      "--delimiter",
      "tab",
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
    );
    assert.match(
      assertOneErrorLine(byName.stderr),
      /no column "X1" \(the columns are 0, 1, 2, 3; or give 0-based indices\)/,
    );
  });

  test("usage errors of the data options", async () => {
    const base = [
      "predict",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
    ];
    const cases: [string[], RegExp][] = [
      [[...base, "--stride", "0"], /--stride must be a positive whole number, got '0'/],
      [[...base, "--horizon", "-1"], /option --horizon needs a value|--horizon must be a non-negative whole number/],
      [[...base, "--skip-header", "x"], /--skip-header must be a non-negative whole number, got 'x'/],
      [[...base, "--delimiter", ";;"], /--delimiter must be one character/],
      [["predict", seed("model.keras"), "--input", seed("input_0.npy"), "--stride", "2"], /--stride goes with --csv/],
      [
        ["predict", seed("model.keras"), "--input", seed("input_0.npy"), "--delimiter", ";"],
        /--delimiter goes with --csv/,
      ],
    ];
    for (const [argv, pattern] of cases) {
      const run = await cli(...argv);
      assert.equal(run.code, 1, argv.join(" "));
      assert.match(assertOneErrorLine(run.stderr), pattern);
    }
  });
});
