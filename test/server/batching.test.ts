/** Dynamic batching: concurrent requests share one predict, each gets its own rows back; metrics count it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunningServer } from "../../src/server/server.js";
import { SEED, assertKeras, request, rows, serve } from "./helpers.js";

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

function metric(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  assert.ok(found !== undefined, `metric ${line} is missing`);
  return Number(found.slice(line.length + 1));
}

describe("serve: dynamic batching and metrics", () => {
  it("7 concurrent one-row requests within the window: fewer predicts than requests, every row right", async () => {
    const server = await serve({ batchWindowMs: 50 });
    try {
      await sevenRequests(server);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.equal(metric(text, 'kerasless_batch_rows_sum{model="seed"}'), 7);
      assert.ok(metric(text, 'kerasless_batch_rows_count{model="seed"}') < 7);
    } finally {
      await server.close();
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
