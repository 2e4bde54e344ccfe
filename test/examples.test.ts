/** The seed example and the by-hand replay of the article must keep working. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

const root = new URL("../", import.meta.url).pathname;
const run = (script: string) =>
  execFileSync(process.execPath, ["--import", "tsx", script], { cwd: root, encoding: "utf8" });

test("examples/seed/demo.ts reproduces Keras' predictions and writes the scatter plot", () => {
  const out = run("examples/seed/demo.ts");
  assert.match(out, /7 windows of 4 rows from LSTM_sample\.csv/);
  assert.match(out, /max \|kerasless - Keras\| = \d\.\d\de-(8|9|10)/);
});

test("examples/seed/manual.ts: the hand-written LSTM cell equals model.predict", () => {
  assert.match(run("examples/seed/manual.ts"), /largest difference: \d\.\d\de-(8|9|10)/);
});
