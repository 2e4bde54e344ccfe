/** The progress bar: on a terminal stderr only, only after the delay, cleared at the end. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Progress } from "../../src/cli/progress.js";
import { cliWith, seed } from "./helpers.js";

const args = [
  "predict",
  seed("model.keras"),
  "--csv",
  seed("LSTM_sample.csv"),
  "--look-back",
  "4",
  "--features",
  "X1,X2,X3",
];

describe("progress bar", () => {
  test("a terminal stderr and a job past the delay: the bar is drawn, then cleared", async () => {
    const run = await cliWith({ stderrIsTTY: true, progressDelayMs: 0 }, ...args);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /kerasless predict \[[█░]+\] 100% \| 0\.0\/0\.0 MB \| 7 predictions/);
    // Cursor hidden while drawing and shown again; the line cleared at the end (no newline left).
    assert.ok(run.stderr.includes("\x1B[?25l") && run.stderr.includes("\x1B[?25h"));
    assert.ok(!run.stderr.includes("\n"));
    JSON.parse(run.stdout);
  });

  test("nothing when stderr is not a terminal, or when the job ends within the delay", async () => {
    assert.equal((await cliWith({ stderrIsTTY: false, progressDelayMs: 0 }, ...args)).stderr, "");
    assert.equal((await cliWith({ stderrIsTTY: true }, ...args)).stderr, "");
  });

  test("without a known total (stdin) the bar shows bytes and predictions only", async () => {
    let text = "";
    const progress = await Progress.create(
      { write: (s: string) => (text += s), isTTY: true, columns: 120 },
      { label: "predict", totalBytes: undefined, delayMs: 0 },
    );
    progress.update(3 * 1024 * 1024, 42);
    progress.stop();
    assert.ok(progress.shown);
    assert.match(text, /kerasless predict \| 3\.0 MB read \| 42 predictions/);
  });
});
