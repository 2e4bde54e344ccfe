/** `kerasless serve` as a process: SIGTERM during load answers every accepted request, then exits 0. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { SEED, SEED_MODEL, assertKeras, nested } from "./helpers.js";

const CLI = new URL("../../src/cli/run.ts", import.meta.url).pathname;

describe("serve: the process", () => {
  it("SIGTERM with 100 requests queued: all 100 answered with Keras' numbers, new ones refused, exit 0", async () => {
    // A long batching window holds the accepted requests in the queue when SIGTERM arrives.
    const window = ["--batch-window-ms", "1000", "--max-batch-rows", "1000", "--batch-wait-when-idle"];
    const child = spawn(
      process.execPath,
      ["--import", "tsx", CLI, "serve", `seed=${SEED_MODEL}`, "--port", "0", "--threads", "1", ...window],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout });
    const logs: Record<string, unknown>[] = [];
    const url = await new Promise<string>((resolve) =>
      lines.on("line", (line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        logs.push(record);
        if (record.msg === "listening") resolve(String(record.url));
      }),
    );
    const body = JSON.stringify({ instances: nested(SEED.inputs[0]) });
    const replies = Array.from({ length: 100 }, () =>
      fetch(`${url}/v1/models/seed:predict`, { method: "POST", body }).then(
        async (r) => [r.status, await r.json()] as const,
      ),
    );
    // SIGTERM once the server holds all 100 (they are accepted: read and waiting for their batch).
    for (let queued = 0; queued < 100;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const text = await (await fetch(`${url}/metrics`)).text();
      queued = Number(/^kerasless_queued_requests\{model="seed"\} (\d+)/m.exec(text)?.[1] ?? 0);
    }
    child.kill("SIGTERM");
    for (const [status, json] of await Promise.all(replies)) {
      assert.equal(status, 200);
      assertKeras((json as { predictions: unknown }).predictions, SEED.outputs[0], "answered while draining");
    }
    assert.equal(await exited, 0);
    await assert.rejects(fetch(`${url}/v2/health/live`));
    assert.deepEqual(
      logs.map((l) => l.msg),
      ["model loaded", "listening", "shutting down: not accepting new connections", "stopped"],
    );
    assert.ok(logs.every((l) => typeof l.time === "string" && l.level === "info"));
  });
});
