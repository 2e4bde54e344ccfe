/**
 * Ctrl-C / SIGTERM during a run: the terminal is given back and the half-written --output is
 * removed; the process still ends by the signal (the shell's 130 / 143). The signals are real,
 * sent to a child process reading a CSV from a pipe that stays open.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { undoAll } from "../../src/cli/interrupt.js";
import { Progress } from "../../src/cli/progress.js";
import { ROOT, seed, tempDir } from "./helpers.js";

const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

async function interrupted(signal: "SIGINT" | "SIGTERM", output: string): Promise<void> {
  const { path, cleanup } = tempDir();
  try {
    const out = path(output);
    const args = ["--look-back", "4", "--features", "X1,X2,X3", "--output", out];
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/run.ts", "predict", seed("model.keras"), "--csv", "-", ...args],
      { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, sig) => resolve({ code, signal: sig })),
    );
    // The rows arrive, the output file is open and partly written; the pipe stays open.
    child.stdin.write(readFileSync(seed("LSTM_sample.csv"), "utf8"));
    await waitFor(() => existsSync(out), `${out} to be created`);
    child.kill(signal);
    const { code, signal: got } = await ended;
    assert.equal(got, signal, `exit code ${code}, stderr: ${stderr}`);
    assert.equal(existsSync(out), false, "the half-written output is removed");
    assert.equal(stderr, "");
  } finally {
    cleanup();
  }
}

describe("an interrupted run", () => {
  test("SIGINT (Ctrl-C) during predict --output OUT.npy: no OUT.npy left, ends by SIGINT", () =>
    interrupted("SIGINT", "out.npy"));
  test("SIGTERM during predict --output OUT.json: no OUT.json left, ends by SIGTERM", () =>
    interrupted("SIGTERM", "out.json"));

  test("Ctrl-C on a terminal while the progress bar shows: the cursor is given back", async (t) => {
    if (spawnSync("sh", ["-c", "command -v script"]).status !== 0) {
      t.skip("needs util-linux `script` for a pseudo-terminal");
      return;
    }
    const { path, cleanup } = tempDir();
    try {
      // `script` gives the command a pseudo-terminal (stderr is a TTY, so the bar draws); the
      // shell records its pid, which node takes over by exec, and node gets the signal.
      const out = path("out.json");
      const pidFile = path("pid");
      const command =
        `echo $$ > ${pidFile}; exec ${process.execPath} --import tsx src/cli/run.ts predict ${seed("model.keras")} ` +
        `--csv - --look-back 4 --features X1,X2,X3 --output ${out}`;
      const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
      let screen = "";
      child.stdout.on("data", (d: Buffer) => (screen += d.toString("latin1")));
      const ended = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      const rows = readFileSync(seed("LSTM_sample.csv"), "utf8").split("\n");
      child.stdin.write(rows.slice(0, 6).join("\n") + "\n");
      await waitFor(() => existsSync(out), "the output file");
      // Rows keep arriving after the 1 s delay, so that the bar is drawn.
      for (let i = 0; !screen.includes("kerasless predict |"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        child.stdin.write(rows[6 + (i % 4)] + "\n");
        if (i > 100) throw new Error(`no progress bar drawn:\n${JSON.stringify(screen)}`);
      }
      assert.ok(screen.includes("\x1b[?25l"), "the cursor was hidden");
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGINT");
      await ended;
      assert.ok(screen.lastIndexOf("\x1b[?25h") > screen.lastIndexOf("\x1b[?25l"), "the cursor is shown again");
      assert.ok(!screen.includes("\x1b[?7l"), "line wrapping was never switched off");
      assert.equal(existsSync(out), false);
    } finally {
      cleanup();
    }
  });

  test("the progress bar gives the cursor back on interrupt, once", async () => {
    let text = "";
    const progress = await Progress.create(
      { write: (s: string) => (text += s), isTTY: true, columns: 80 },
      { label: "predict", totalBytes: 100, delayMs: 0 },
    );
    progress.update(50, 3);
    assert.ok(text.startsWith("\x1b[?25l"), "the cursor is hidden while the bar is shown");
    undoAll();
    assert.ok(text.endsWith("\r\x1b[2K\x1b[?25h"), JSON.stringify(text));
    const length = text.length;
    progress.stop();
    assert.equal(text.length, length, "stop() after the interrupt's undo writes nothing more");
    assert.ok(!text.includes("\x1b[?7l"), "line wrapping is never switched off");
  });
});
