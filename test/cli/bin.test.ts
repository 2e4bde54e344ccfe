/**
 * The command as a process. bin/kerasless.js runs the built dist/cli/main.js; src/cli/run.ts is
 * the same entry on the sources (through tsx), so this test needs no build step.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ROOT, seed } from "./helpers.js";

const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

function spawn(
  entry: string[],
  args: string[],
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    input,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const SOURCE_ENTRY = ["--import", "tsx", "src/cli/run.ts"];

describe("kerasless as a process", () => {
  test("--version, from the sources", () => {
    const run = spawn(SOURCE_ENTRY, ["--version"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${version}\n`);
  });

  test("exit codes and streams: predict to stdout, a usage error on stderr", () => {
    const ok = spawn(SOURCE_ENTRY, ["predict", seed("model.keras"), "--input", seed("input_0.npy")]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual((JSON.parse(ok.stdout) as { outputs: { shape: number[] }[] }).outputs[0].shape, [7, 1]);
    const bad = spawn(SOURCE_ENTRY, ["predict", seed("model.keras"), "--nope"]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, "kerasless: unknown option --nope; see 'kerasless predict --help'\n");
  });

  test("predict --csv - reads standard input; stderr stays empty when it is not a terminal", () => {
    const run = spawn(
      SOURCE_ENTRY,
      ["predict", seed("model.keras"), "--csv", "-", "--look-back", "4", "--features", "X1,X2,X3"],
      readFileSync(seed("LSTM_sample.csv"), "utf8"),
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.deepEqual((JSON.parse(run.stdout) as { outputs: { shape: number[] }[] }).outputs[0].shape, [7, 1]);
  });

  test("bin/kerasless.js --version (needs `npm run build`)", (t) => {
    if (!existsSync(join(ROOT, "dist/cli/main.js"))) {
      t.skip("dist/cli/main.js is not built: run `npm run build` to test bin/kerasless.js");
      return;
    }
    const run = spawn(["bin/kerasless.js"], ["--version"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${version}\n`);
  });
});
