/**
 * Names from a file reach the terminal and CSV files safely (issue 18): control characters,
 * escape sequences and bidirectional overrides are escaped in everything the CLI prints, and a
 * CSV cell a spreadsheet would run as a formula is neutralised (OWASP: a leading ', quoted).
 */
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { csvTextCell, printable } from "../../src/cli/safe-text.js";
import { cli, seed, tempDir } from "./helpers.js";

const MODEL_NAME = "seq\x1b]0;title\x07";
const INPUT_NAME = "in\x1b[2J\u202e";
const OUTPUT_NAME = '=HYPERLINK("http://x","y")\x1b[31m';
/** What a terminal must never receive raw. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("names from a file, printed", () => {
  const dir = tempDir();
  const model = dir.path("model.json");
  const weights = dir.path("model.weights.h5");
  before(() => {
    // The seed model renamed: the model, its input layer and its output layer (weights are found by position).
    const config = JSON.parse(readFileSync(seed("model.json"), "utf8"));
    config.config.name = MODEL_NAME;
    config.config.layers[0].config.name = INPUT_NAME;
    config.config.layers[2].config.name = OUTPUT_NAME;
    writeFileSync(model, JSON.stringify(config));
    copyFileSync(seed("model.weights.h5"), weights);
  });
  after(() => dir.cleanup());

  test("inspect: the table and the lists show the names escaped", async () => {
    const run = await cli("inspect", model, "--weights", weights);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, RAW);
    assert.ok(run.stdout.includes('Model: "seq\\u001b]0;title\\u0007"'));
    assert.ok(run.stdout.includes("  in\\u001b[2J\\u202e  [None, 4, 3]  float32"));
    assert.ok(run.stdout.includes('=HYPERLINK("http://x","y")\\u001b[31m (Dense)'));
  });

  test("inspect --json and predict's JSON: escaped, and JSON.parse gives the names back", async () => {
    const info = await cli("inspect", model, "--weights", weights, "--json");
    assert.doesNotMatch(info.stdout, RAW);
    const parsed = JSON.parse(info.stdout);
    assert.equal(parsed.name, MODEL_NAME);
    assert.equal(parsed.inputs[0].name, INPUT_NAME);
    const predicted = await cli("predict", model, "--weights", weights, "--input", seed("input_0.npy"));
    assert.doesNotMatch(predicted.stdout, RAW);
    assert.equal(JSON.parse(predicted.stdout).outputs[0].name, OUTPUT_NAME);
  });

  test("predict --output OUT.csv: the formula-like column name is text; the wrote line is escaped", async () => {
    const out = dir.path("y.csv");
    const run = await cli("predict", model, "--weights", weights, "--input", seed("input_0.npy"), "--output", out);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, RAW);
    const [header, first] = readFileSync(out, "utf8").split("\n");
    assert.equal(header, `"'=HYPERLINK(""http://x"",""y"")\\u001b[31m"`);
    assert.match(first, /^0\.\d+$/, "numbers stay numbers");
  });

  test("error lines: a usage error quoting the command line is escaped too", async () => {
    const run = await cli("predict", model, "--\x1b[31mred");
    assert.equal(run.code, 1);
    assert.doesNotMatch(run.stderr.slice(0, -1), RAW);
    assert.match(run.stderr, /unknown option --\\u001b\[31mred/);
  });
});

describe("csvTextCell and printable", () => {
  test("cells starting with = + - @ tab CR get a leading quote and quotes; others stay as they are", () => {
    assert.equal(csvTextCell("=1+2"), `"'=1+2"`);
    assert.equal(csvTextCell("+1"), `"'+1"`);
    assert.equal(csvTextCell("-x"), `"'-x"`);
    assert.equal(csvTextCell("@SUM(A1)"), `"'@SUM(A1)"`);
    assert.equal(csvTextCell("\tx"), `"'\\tx"`);
    assert.equal(csvTextCell("\rx"), `"'\\rx"`);
    assert.equal(csvTextCell("dense"), "dense");
    assert.equal(csvTextCell("out[0][1]"), "out[0][1]");
    assert.equal(csvTextCell('a,"b"'), `"a,""b"""`);
  });

  test("printable escapes C0, DEL, C1, line separators and bidi overrides, and nothing else", () => {
    assert.equal(
      printable("a\nb\x1b[0m\x7f\x9b\u2028\u202e\u2066é✓"),
      "a\\nb\\u001b[0m\\u007f\\u009b\\u2028\\u202e\\u2066é✓",
    );
  });
});
