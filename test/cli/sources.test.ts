/**
 * Large inputs are streamed: a CSV and a .npy file many times larger than the heap limit of the
 * child process go through predict, with the peak heap measured, and every prediction whose
 * window is one of the seed's is checked against Keras' prediction for it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseNpy, writeNpy } from "../../src/io/npy.js";
import { ROOT, cliWith, seed, tempDir } from "./helpers.js";

const tmp = tempDir();
after(() => tmp.cleanup());

const keras = parseNpy(readFileSync(seed("expected_0.npy")), "expected_0.npy").data;
const seedWindows = parseNpy(readFileSync(seed("input_0.npy")), "input_0.npy");
const parity = (got: number, expected: number): boolean => Math.abs(got - expected) <= 1e-5 + 1e-4 * Math.abs(expected);

/** The old-space limit of the child (MiB); the input files are several times larger. */
const HEAP_LIMIT_MB = 16;
/** The peak heap (MiB) allowed: model, code, one batch and output buffers (measured 13.4-13.6). */
const PEAK_BUDGET_MB = 20;

function runLimited(args: string[]): { status: number | null; stdout: string; stderr: string; peakHeapMiB: number } {
  const result = spawnSync(
    process.execPath,
    // A 1 MiB young generation: garbage waiting there for a scavenge (more of it when the machine is
    // busy) would otherwise count in heapUsed and blur the peak.
    [
      `--max-old-space-size=${HEAP_LIMIT_MB}`,
      "--max-semi-space-size=1",
      "--import",
      join(ROOT, "test/cli/heap-sampler.mjs"),
      "--import",
      "tsx",
      "src/cli/run.ts",
      ...args,
    ],
    { cwd: ROOT, encoding: "utf8", timeout: 300_000 },
  );
  const peak = /HEAP-PEAK (\{.*\})/.exec(result.stderr)?.[1];
  const heapUsed = peak === undefined ? Number.NaN : (JSON.parse(peak) as { heapUsed: number }).heapUsed;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, peakHeapMiB: heapUsed / 2 ** 20 };
}

describe("large inputs are streamed", () => {
  test(`a CSV of ~26 MB through a child with a ${HEAP_LIMIT_MB} MiB heap limit; each seed window: Keras' value`, () => {
    // The seed CSV's 10 data rows, repeated: windows starting at rows 0..6 of each repetition are
    // exactly the seed's 7 windows, whose predictions Keras made.
    const lines = readFileSync(seed("LSTM_sample.csv"), "utf8").trim().split("\n");
    const block = lines.slice(1).join("\n") + "\n";
    const file = tmp.path("big.csv");
    const fd = openSync(file, "w");
    writeSync(fd, `${lines[0]}\n`);
    const chunk = block.repeat(1000);
    const repeats = 70;
    for (let i = 0; i < repeats; i++) writeSync(fd, chunk);
    closeSync(fd);
    const size = statSync(file).size;
    assert.ok(size > 25e6, `${size} bytes`);

    const out = tmp.path("big.npy");
    const run = runLimited([
      "predict",
      seed("model.keras"),
      "--csv",
      file,
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--output",
      out,
    ]);
    assert.equal(run.status, 0, run.stderr);
    const rows = repeats * 1000 * 10;
    assert.match(run.stdout, new RegExp(`dense \\[${rows - 3}, 1\\]`));
    // The file is larger than the heap limit (reading it whole would fail); the peak stays in budget.
    assert.ok(
      run.peakHeapMiB < PEAK_BUDGET_MB && size > HEAP_LIMIT_MB * 2 ** 20,
      `peak heap ${run.peakHeapMiB.toFixed(1)} MiB for a ${(size / 2 ** 20).toFixed(1)} MiB file`,
    );

    const predictions = parseNpy(readFileSync(out), out);
    assert.deepEqual(predictions.shape, [rows - 3, 1]);
    let checked = 0;
    for (let k = 0; k < predictions.data.length; k++) {
      if (k % 10 > 6) continue;
      assert.ok(
        parity(predictions.data[k], keras[k % 10]),
        `window ${k}: ${predictions.data[k]} vs Keras ${keras[k % 10]}`,
      );
      checked++;
    }
    assert.equal(checked, repeats * 1000 * 7);
  });

  test(`a .npy input of ~34 MB the same way, read a block of samples at a time`, () => {
    const repeats = 100_000;
    const perWindow = seedWindows.data.length;
    const data = new Float32Array(perWindow * repeats);
    for (let r = 0; r < repeats; r++) data.set(seedWindows.data, r * perWindow);
    const file = tmp.path("big-input.npy");
    const fd = openSync(file, "w");
    writeSync(fd, writeNpy([7 * repeats, 4, 3], data));
    closeSync(fd);
    const out = tmp.path("big-input-out.npy");
    const run = runLimited(["predict", seed("model.keras"), "--input", file, "--output", out]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(
      run.peakHeapMiB < PEAK_BUDGET_MB && statSync(file).size > 2 * HEAP_LIMIT_MB * 2 ** 20,
      `peak heap ${run.peakHeapMiB.toFixed(1)} MiB`,
    );
    const predictions = parseNpy(readFileSync(out), out);
    assert.deepEqual(predictions.shape, [7 * repeats, 1]);
    for (let k = 0; k < predictions.data.length; k++)
      assert.ok(parity(predictions.data[k], keras[k % 7]), `sample ${k}`);
  });

  test("CSV from standard input, in chunks split anywhere", async () => {
    const text = readFileSync(seed("LSTM_sample.csv"), "utf8");
    async function* stdin(): AsyncGenerator<Uint8Array> {
      const bytes = new TextEncoder().encode(text);
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    const run = await cliWith(
      { stdin: stdin() },
      "predict",
      seed("model.keras"),
      "--csv",
      "-",
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--output",
      tmp.path("stdin.csv"),
    );
    assert.equal(run.code, 0, run.stderr);
    const lines = readFileSync(tmp.path("stdin.csv"), "utf8").trimEnd().split("\n");
    assert.equal(lines[0], "row,dense");
    lines.slice(1).forEach((line, k) => {
      const [row, value] = line.split(",").map(Number);
      assert.equal(row, k + 3);
      assert.ok(parity(value, keras[k]));
    });
  });
});
