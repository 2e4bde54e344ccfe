/** Output files by extension, written batch by batch: JSON, CSV and .npy. */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, describe, test } from "node:test";
import { outputFormat } from "../../src/cli/outputs.js";
import { parseNpy, writeNpy } from "../../src/io/npy.js";
import { MULTI_IO, assertOneErrorLine, cli, readJson, seed, seedIo, tempDir, type JsonTensor } from "./helpers.js";

const tmp = tempDir();
after(() => tmp.cleanup());

const parity = (got: number, expected: number): boolean => Math.abs(got - expected) <= 1e-5 + 1e-4 * Math.abs(expected);
const io = readJson<{ inputs: JsonTensor[]; outputs: JsonTensor[] }>(`${MULTI_IO}/io.json`);

/** The multi_io fixture's Keras inputs repeated `times` times along the batch axis, as .npy files. */
function tiledInputs(times: number): string[] {
  return io.inputs.map((t, i) => {
    const per = t.data.length;
    const data = new Float32Array(per * times);
    for (let r = 0; r < times; r++) data.set(t.data, r * per);
    const file = tmp.path(`tiled-${times}-${i}.npy`);
    writeFileSync(file, writeNpy([t.shape[0] * times, ...t.shape.slice(1)], data));
    return file;
  });
}

const spills = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith("kerasless-out-"));

describe("outputs by file extension", () => {
  test("the extension picks the format", () => {
    assert.equal(outputFormat(undefined), "json");
    assert.equal(outputFormat("a.JSON"), "json");
    assert.equal(outputFormat("a.txt"), "json");
    assert.equal(outputFormat("a.csv"), "csv");
    assert.equal(outputFormat("a.Npy"), "npy");
  });

  test("CSV: one line per sample, columns name or name[i], outputs side by side", async () => {
    const files = tiledInputs(1);
    const out = tmp.path("multi.csv");
    const run = await cli(
      "predict",
      `${MULTI_IO}/model.keras`,
      "--input",
      files[0],
      "--input",
      files[1],
      "--output",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `wrote ${out}: head_a [3, 2], head_b [3, 1]\n`);
    const [header, ...lines] = readFileSync(out, "utf8").trimEnd().split("\n");
    assert.equal(header, "head_a[0],head_a[1],head_b");
    assert.equal(lines.length, 3);
    lines.forEach((line, s) => {
      const [a0, a1, b] = line.split(",").map(Number);
      assert.ok(
        parity(a0, io.outputs[0].data[2 * s]) &&
          parity(a1, io.outputs[0].data[2 * s + 1]) &&
          parity(b, io.outputs[1].data[s]),
        line,
      );
    });
  });

  test("JSON with several outputs larger than the write buffer: later outputs go through temporary files", async () => {
    const times = 60_000;
    const files = tiledInputs(times);
    const before = spills();
    const out = tmp.path("multi-big.json");
    const run = await cli(
      "predict",
      `${MULTI_IO}/model.keras`,
      "--input",
      files[0],
      "--input",
      files[1],
      "--output",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const text = readFileSync(out, "utf8");
    assert.ok(text.length > 4e6, `${text.length} characters`);
    const outputs = (JSON.parse(text) as { outputs: JsonTensor[] }).outputs;
    assert.deepEqual(
      outputs.map((o) => [o.name, o.shape, o.dtype]),
      [
        ["head_a", [3 * times, 2], "float32"],
        ["head_b", [3 * times, 1], "float32"],
      ],
    );
    outputs.forEach((o, i) => {
      const ref = io.outputs[i].data;
      for (let k = 0; k < o.data.length; k++) assert.ok(parity(o.data[k], ref[k % ref.length]), `${o.name}[${k}]`);
    });
    // One output per line, as for small outputs.
    assert.equal(text.split("\n").length, 5);
    assert.deepEqual(spills(), before, "temporary files are removed");
  });

  test(".npy from a CSV of unknown length: the reserved header is rewritten with the final shape", async () => {
    const out = tmp.path("seed.npy");
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--output",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const bytes = readFileSync(out);
    const npy = parseNpy(bytes, out);
    assert.deepEqual(npy.shape, [7, 1]);
    assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0, "the data starts at a multiple of 64 bytes");
    npy.data.forEach((v, k) => assert.ok(parity(v, seedIo().outputs[0].data[k])));
  });

  test("JSON from a CSV (length unknown while writing) has the same fields in the same order", async () => {
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
    assert.match(
      run.stdout,
      /^\{"outputs": \[\n {2}\{"name": "dense", "shape": \[7, 1\], "dtype": "float32", "data": \[[^\]]+\]\}\n\]\}\n$/,
    );
    const known = await cli("predict", seed("model.keras"), "--input", seed("input_0.npy"));
    assert.match(
      known.stdout,
      /^\{"outputs": \[\n {2}\{"name": "dense", "shape": \[7, 1\], "dtype": "float32", "data": \[/,
    );
    const a = (JSON.parse(run.stdout) as { outputs: JsonTensor[] }).outputs[0];
    const b = (JSON.parse(known.stdout) as { outputs: JsonTensor[] }).outputs[0];
    assert.deepEqual(a, b);
    assert.deepEqual(Object.keys(a), Object.keys(b), "the same key order");
  });

  test("a failed run leaves no half-written output (batches before the error were already written)", async () => {
    const bad = tmp.path("bad.csv");
    writeFileSync(bad, `X1,X2,X3\n${"1,2,3\n".repeat(5000)}1,2,x\n`);
    const out = tmp.path("half.csv");
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      bad,
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--output",
      out,
    );
    assert.equal(run.code, 1);
    assert.match(assertOneErrorLine(run.stderr), /bad\.csv: line 5002, column "X3": "x" is not a number/);
    assert.throws(() => readFileSync(out), /ENOENT/);
  });
});
