/** The progress bar: on a terminal stderr only, only after the delay, cleared at the end. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Progress, formatDuration } from "../../src/cli/progress.js";
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
    assert.match(run.stderr, /kerasless predict \[[#-]{30}\] \d+% \| 0\.0\/0\.0 MiB \| \d+ predictions \| ETA /);
    // Cursor hidden while drawing and shown again; the line cleared at the end (no newline left).
    assert.ok(run.stderr.startsWith("\x1B[?25l") && run.stderr.endsWith("\r\x1B[2K\x1B[?25h"));
    assert.ok(!run.stderr.includes("\n"));
    assert.ok(!run.stderr.includes("\x1B[?7l"), "line wrapping stays on");
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
    assert.match(text, /kerasless predict \| 3\.0 MiB read \| 42 predictions \| 0s/);
  });

  test("the line is cut to the terminal's width; sizes in MiB; the ETA from the rate so far", async () => {
    let text = "";
    const progress = await Progress.create(
      { write: (s: string) => (text += s), isTTY: true, columns: 40 },
      { label: "predict", totalBytes: 10 * 1024 * 1024, delayMs: 0 },
    );
    progress.update(5 * 1024 * 1024, 812);
    assert.equal((text.split("\r\x1B[2K").pop() as string).length, 39);
    assert.match(progress.line(), /\[#{15}-{15}\] 50% \| 5\.0\/10\.0 MiB \| 812 predictions \| ETA \d+s$/);
    progress.stop();
  });

  test("durations: seconds, minutes, hours", () => {
    assert.deepEqual([0, 42, 185, 3725].map(formatDuration), ["0s", "42s", "3m05s", "1h02m"]);
  });
});
