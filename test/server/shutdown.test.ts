/** `kerasless serve` as a process: SIGTERM during load answers every accepted request, then exits 0. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { SEED, SEED_MODEL, assertKeras, nested } from "./helpers.js";

const CLI = new URL("../../src/cli/run.ts", import.meta.url).pathname;

/** `kerasless serve` on seed in a process of its own; its JSON log records, as they come. */
async function serveProcess(
  args: string[],
): Promise<{ url: string; logs: Record<string, unknown>[]; exited: Promise<number | null>; kill(): void }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "serve", `seed=${SEED_MODEL}`, "--port", "0", "--threads", "1", ...args],
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
  return { url, logs, exited, kill: () => child.kill("SIGTERM") };
}

describe("serve: the process", () => {
  it("SIGTERM with 100 requests queued: all 100 answered with Keras' numbers, new ones refused, exit 0", async () => {
    // A long batching window holds the accepted requests in the queue when SIGTERM arrives.
    const window = ["--batch-window-ms", "1000", "--max-batch-rows", "1000", "--batch-wait-when-idle"];
    const { url, logs, exited, kill } = await serveProcess(window);
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
    kill();
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

  it("SIGTERM under load: every request the server accepted is answered with Keras' numbers", async () => {
    // Requests are logged at debug level when their response closes, finished or not.
    const { url, logs, exited, kill } = await serveProcess(["--log-level", "debug"]);
    const body = JSON.stringify({ instances: nested(SEED.inputs[0]) });
    let killed = false;
    let answered = 0;
    const failures: string[] = [];
    /** One client, sending requests one after the other until the server no longer takes them. */
    const client = async (): Promise<void> => {
      for (;;) {
        try {
          const res = await fetch(`${url}/v1/models/seed:predict`, { method: "POST", body });
          const json = (await res.json()) as { predictions: unknown };
          assert.equal(res.status, 200, JSON.stringify(json));
          assertKeras(json.predictions, SEED.outputs[0], "answered under load");
          answered++;
        } catch (e) {
          // Refused or reset connections only, and only once the server is shutting down.
          if (!killed || !(e instanceof TypeError)) failures.push(String(e));
          return;
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    await new Promise((resolve) => setTimeout(resolve, 500));
    killed = true;
    kill();
    await Promise.all(clients);
    assert.equal(await exited, 0);
    assert.deepEqual(failures, []);
    const accepted = logs.filter((l) => l.msg === "request" && l.path === "/v1/models/seed:predict");
    assert.ok(accepted.length > 16, `only ${accepted.length} requests under load`);
    assert.deepEqual(
      accepted.filter((l) => l.status !== 200 || l.finished !== true),
      [],
      "a request the server accepted was not answered",
    );
    assert.equal(answered, accepted.length);
  });
});
