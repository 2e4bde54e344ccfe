/**
 * Inputs built to make the command line loop, allocate or fail badly (issue 18): empty tensors
 * claiming 2^53 samples or steps, 150k tensors in one file, CSV cells that name Object.prototype
 * members, rows without line breaks, plus the hints for files given the wrong way (issue 15).
 * Each ends in one error line, quickly.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseNumber } from "../../src/cli/csv.js";
import { npyHeader } from "../../src/io/npy.js";
import { ROOT, assertOneErrorLine, cli, seed, tempDir } from "./helpers.js";

const HUGE = 2 ** 53 - 1;

/** Refused with one error line, within 2 s of CPU time (wall time depends on the machine's load). */
async function refused(argv: string[], pattern: RegExp): Promise<void> {
  const start = process.cpuUsage();
  const run = await cli(...argv);
  assert.equal(run.code, 1, run.stdout);
  assert.match(assertOneErrorLine(run.stderr), pattern);
  const used = process.cpuUsage(start);
  assert.ok(used.user + used.system < 2e6, `took ${(used.user + used.system) / 1000} ms of CPU`);
}

describe("empty inputs claiming huge extents", () => {
  test("predict and stream refuse a (2^53-1, 0, 3) or (0, 2^53-1, 3) .npy before any batch or step", async () => {
    const { path, cleanup } = tempDir();
    try {
      for (const [name, shape] of [
        ["samples.npy", [HUGE, 0, 3]],
        ["steps.npy", [0, HUGE, 3]],
      ] as const) {
        writeFileSync(path(name), npyHeader(shape, "float32"));
        const limit = /^kerasless: \S+\.npy: input "input_layer" has shape \[.*\] and no values; .* at most 1048576/;
        await refused(["predict", seed("model.keras"), "--input", path(name)], limit);
        await refused(["stream", seed("model.keras"), "--input", path(name)], limit);
      }
    } finally {
      cleanup();
    }
  });

  test("an empty batch streams without stepping through its time axis", async () => {
    const { path, cleanup } = tempDir();
    try {
      writeFileSync(path("empty.npy"), npyHeader([0, 1000, 3], "float32"));
      const run = await cli("stream", seed("model.keras"), "--input", path("empty.npy"));
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout).outputs[0].shape, [0, 1000, 1]);
    } finally {
      cleanup();
    }
  });
});

test("a file of 150,000 tensors: the count error, not a stack overflow", async () => {
  const { path, cleanup } = tempDir();
  try {
    const tensor = '{"shape": [1, 4, 3], "data": [0,0,0,0,0,0,0,0,0,0,0,0]}';
    writeFileSync(path("many.json"), `{"inputs": [${new Array(150_000).fill(tensor).join(",")}]}`);
    const count = /many\.json: holds 150000 tensors in "inputs", the model has 1 input$/;
    await refused(["predict", seed("model.keras"), "--input", path("many.json")], count);
    await refused(["verify", seed("model.keras"), "--input", path("many.json"), "--expected", seed("io.json")], count);
  } finally {
    cleanup();
  }
});

describe("CSV", () => {
  test("cells naming Object.prototype members are not numbers, like any other word", async () => {
    for (const word of ["constructor", "__proto__", "toString", "valueOf", "hasOwnProperty", "abc"])
      assert.equal(parseNumber(word), undefined, word);
    const { path, cleanup } = tempDir();
    try {
      for (const word of ["constructor", "__proto__", "toString", "valueOf"]) {
        writeFileSync(path("x.csv"), `X1,X2,X3\n1,2,3\n1,${word},3\n1,2,3\n1,2,3\n`);
        await refused(
          ["predict", seed("model.keras"), "--csv", path("x.csv"), "--look-back", "4", "--features", "X1,X2,X3"],
          new RegExp(`line 3, column "X2": "${word}" is not a number$`),
        );
      }
    } finally {
      cleanup();
    }
  });

  test("a 30 MB row without line breaks: E_LIMIT after 4 Mi characters, in a 256 MB heap", () => {
    const { path, cleanup } = tempDir();
    try {
      writeFileSync(path("row.csv"), "X1,X2,X3\n" + "1,".repeat(15_000_000));
      const start = performance.now();
      const args = ["--look-back", "4", "--features", "X1,X2,X3"];
      const run = spawnSync(
        process.execPath,
        ["--max-old-space-size=256", "--import", "tsx", "src/cli/run.ts", "predict", seed("model.keras")].concat([
          "--csv",
          path("row.csv"),
          ...args,
        ]),
        { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
      );
      assert.equal(run.status, 1, run.stderr);
      assert.match(assertOneErrorLine(run.stderr), /row\.csv: line 2: a row longer than 4194304 characters/);
      assert.ok(performance.now() - start < 20_000);
    } finally {
      cleanup();
    }
  });

  test("a header of numbers is refused with the fix; a semicolon file is pointed to --delimiter", async () => {
    const { path, cleanup } = tempDir();
    try {
      writeFileSync(path("bare.csv"), "0.5,0.1,0.2\n0.6,0.2,0.3\n0.7,0.3,0.4\n0.8,0.4,0.5\n0.9,0.5,0.6\n");
      await refused(
        ["predict", seed("model.keras"), "--csv", path("bare.csv"), "--look-back", "4", "--features", "0,1,2"],
        /line 1, the header row, holds only numbers \(0\.5, 0\.1, 0\.2\): .* give --skip-header 0/,
      );
      const ok = await cli(
        ...["predict", seed("model.keras"), "--csv", path("bare.csv"), "--look-back", "4", "--features", "0,1,2"],
        ...["--skip-header", "0"],
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(JSON.parse(ok.stdout).outputs[0].shape, [2, 1]);
      writeFileSync(path("semi.csv"), "X1;X2;X3\n1;2;3\n");
      await refused(
        ["predict", seed("model.keras"), "--csv", path("semi.csv"), "--look-back", "4", "--features", "X1,X2,X3"],
        /no column "X1" .*: the header is one column; a file separated by ";" needs --delimiter semicolon$/,
      );
    } finally {
      cleanup();
    }
  });
});

test("files given the wrong way name the option to use: --input x.csv, inspect model.json", async () => {
  await refused(
    ["predict", seed("model.keras"), "--input", seed("LSTM_sample.csv")],
    /LSTM_sample\.csv: not a tensor file .*; a CSV file is read with --csv FILE --features A,B,C$/,
  );
  await refused(
    ["inspect", seed("model.json")],
    /model\.json: this is a model\.json architecture file: .* with --weights FILE$/,
  );
});
