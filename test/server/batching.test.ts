/** Dynamic batching: concurrent requests share one predict, each gets its own rows back; metrics count it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunningServer } from "../../src/server/server.js";
import type { FixtureTensor } from "../helpers.js";
import { EMBEDDING, EMBEDDING_MODEL, SEED, assertKeras, request, rows, serve } from "./helpers.js";

/** The seed fixture's 7 windows as 7 concurrent one-row requests; each answer checked against its Keras row. */
async function sevenRequests(server: RunningServer): Promise<void> {
  const replies = await Promise.all(
    [0, 1, 2, 3, 4, 5, 6].map((i) =>
      request(server, "POST", "/v1/models/seed:predict", { instances: rows(SEED.inputs[0], i, i + 1) }),
    ),
  );
  replies.forEach((r, i) => {
    assert.equal(r.status, 200);
    assertKeras(r.body.predictions, { shape: [1, 1], dtype: "float32", data: [SEED.outputs[0].data[i]] }, `row ${i}`);
  });
}

/** Row 0 of a fixture tensor, as a tensor of one row. */
function firstRow(t: FixtureTensor): FixtureTensor {
  const size = t.data.length / t.shape[0];
  return { ...t, shape: [1, ...t.shape.slice(1)], data: t.data.slice(0, size) };
}

function metric(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  assert.ok(found !== undefined, `metric ${line} is missing`);
  return Number(found.slice(line.length + 1));
}

describe("serve: dynamic batching and metrics", () => {
  for (const [where, inlineBelowMs] of [
    ["on the event loop", 1],
    ["in the model's thread", 0],
  ] as const)
    it(`7 concurrent one-row requests within the window, ${where}: fewer predicts, every row right`, async () => {
      const server = await serve({ batchWindowMs: 50, batchWaitWhenIdle: true, inlineBelowMs });
      try {
        assert.equal(server.models.get("seed")!.inlineRows > 0, inlineBelowMs > 0);
        await sevenRequests(server);
        const text = await (await fetch(`${server.url}/metrics`)).text();
        assert.equal(metric(text, 'kerasless_batch_rows_sum{model="seed"}'), 7);
        assert.ok(metric(text, 'kerasless_batch_rows_count{model="seed"}') < 7);
      } finally {
        await server.close();
      }
    });

  it("a request the model refuses fails alone, not its batch (on the event loop and in the thread)", async () => {
    for (const inlineBelowMs of [1, 0]) {
      const server = await serve({
        models: [{ name: "embedding", path: EMBEDDING_MODEL }],
        batchWindowMs: 50,
        batchWaitWhenIdle: true,
        inlineBelowMs,
      });
      try {
        assert.equal(server.models.get("embedding")!.inlineRows > 0, inlineBelowMs > 0);
        const ids = rows(EMBEDDING.inputs[0], 0, 1) as number[][];
        const bad = [ids[0].map((v, i) => (i === 0 ? 999_999 : v))];
        const replies = await Promise.all(
          [ids, bad, ids].map((instances) => request(server, "POST", "/v1/models/embedding:predict", { instances })),
        );
        assert.deepEqual(
          replies.map((r) => r.status),
          [200, 400, 200],
        );
        assert.match(replies[1].body.error, /token id 999999 .* outside the vocabulary/);
        for (const r of [replies[0], replies[2]])
          assertKeras(r.body.predictions, firstRow(EMBEDDING.outputs[0]), "its own row");
      } finally {
        await server.close();
      }
    }
  });

  it("without batching every request is its own predict; /metrics has counts, latencies, sessions", async () => {
    const server = await serve({ maxBatchRows: 1 });
    try {
      await sevenRequests(server);
      await request(server, "POST", "/sessions", { model: "seed" });
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.equal(metric(text, 'kerasless_batch_rows_count{model="seed"}'), 7);
      assert.equal(metric(text, 'kerasless_requests_total{protocol="v1",model="seed",code="200"}'), 7);
      assert.equal(metric(text, 'kerasless_request_duration_seconds_count{protocol="v1",model="seed"}'), 7);
      assert.equal(metric(text, "kerasless_live_sessions"), 1);
      assert.match(text, /^kerasless_process_cpu_seconds_total /m);
    } finally {
      await server.close();
    }
  });
});
