/**
 * Faults: oversize and slow bodies, clients that leave, a worker thread that dies, a full queue,
 * auth and CORS. Each ends in the protocol's error body and status, and the server keeps serving.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { HttpError } from "../../src/server/http-error.js";
import type { RunningServer } from "../../src/server/server.js";
import { SEED, assertKeras, nested, raw, request, serve, statusAndBody, stillServes } from "./helpers.js";

const PREDICT = { instances: nested(SEED.inputs[0]) };

describe("serve: faults", () => {
  let server: RunningServer;
  before(
    async () => (server = await serve({ bodyLimitBytes: 64 * 1024, requestTimeoutMs: 300, headersTimeoutMs: 300 })),
  );
  after(() => server.close());

  it("a body that claims 1 GB: 413 at once, nothing allocated for it", async () => {
    const before = process.memoryUsage().rss;
    const response = await raw(server, (send) =>
      send("POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n{"),
    );
    const [status, body] = statusAndBody(response);
    assert.equal(status, 413);
    assert.deepEqual(body, { error: "the request body is 1073741824 bytes; the limit is 65536" });
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
    await stillServes(server);
  });

  it("a chunked body that grows past the limit: 413, the rest is not read", async () => {
    const response = await raw(server, (send) => {
      send("POST /v2/models/seed/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      const chunk = "x".repeat(16 * 1024);
      for (let i = 0; i < 8; i++) send(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    const [status, body] = statusAndBody(response);
    assert.equal(status, 413);
    assert.deepEqual(body, { error: "the request body is over the limit of 65536 bytes" });
    await stillServes(server);
  });

  it("a client that sends its body too slowly: 408 with a JSON error", async () => {
    const response = await raw(server, (send) => {
      send('POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"inst');
    });
    const [status, body] = statusAndBody(response);
    assert.equal(status, 408);
    assert.deepEqual(body, { error: "the request body did not arrive within 300 ms" });
    await stillServes(server);
  });

  it("a client that never finishes its headers is cut off", async () => {
    const started = Date.now();
    const response = await raw(server, (send) => send("POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\n"));
    assert.match(response, /^HTTP\/1\.1 408|^$/);
    assert.ok(Date.now() - started < 5000);
    await stillServes(server);
  });

  it("clients that disconnect mid-body and while their prediction runs", async () => {
    await raw(server, (send, end) => {
      send('POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"instances":');
      setTimeout(end, 20);
    });
    const full = JSON.stringify(PREDICT);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        raw(server, (send, end) => {
          send(`POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${full.length}\r\n\r\n${full}`);
          end();
        }),
      ),
    );
    await stillServes(server);
  });

  it("a worker thread that dies: the jobs it held fail with 503, a new thread takes over", async () => {
    const model = server.models.get("seed")!;
    const restarts = model.executor.restarts;
    const crash = model.executor.request({ kind: "crash" });
    const inFlight = model.executor.request({
      kind: "predict",
      inputs: [{ shape: [1, 4, 3], data: new Float32Array(12) }],
    });
    await assert.rejects(crash, (e: unknown) => e instanceof HttpError && e.status === 503);
    await assert.rejects(
      inFlight,
      (e: unknown) => e instanceof HttpError && e.status === 503 && /stopped/.test(e.message),
    );
    // Meanwhile, over HTTP: every request is answered (200 or a 503 error body), none hangs.
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => request(server, "POST", "/v1/models/seed:predict", PREDICT)),
    );
    for (const r of replies) assert.ok(r.status === 200 || (r.status === 503 && typeof r.body.error === "string"));
    while (!model.ready) await sleep(10);
    assert.equal(model.executor.restarts, restarts + 1);
    await stillServes(server);
  });

  it("a full queue: 503 with Retry-After and the v2 error body", async () => {
    const busy = await serve({ maxQueue: 2, batchWindowMs: 200, batchWaitWhenIdle: true });
    try {
      const t = SEED.inputs[0];
      const body = { inputs: [{ name: "input_layer", shape: t.shape, datatype: "FP32", data: t.data }] };
      const replies = await Promise.all(
        Array.from({ length: 5 }, () => request(busy, "POST", "/v2/models/seed/infer", body)),
      );
      const refused = replies.filter((r) => r.status === 503);
      assert.equal(refused.length, 3);
      for (const r of refused) {
        assert.equal(r.headers.get("retry-after"), "1");
        assert.deepEqual(r.body, { error: "the model's queue is full (2 requests); retry later" });
      }
      for (const r of replies.filter((r) => r.status === 200))
        assertKeras(r.body.outputs[0].data, SEED.outputs[0], "queued");
    } finally {
      await busy.close();
    }
  });

  it("a bearer token: 401 without it (health stays open), 200 with it; no CORS headers unless configured", async () => {
    const locked = await serve({ token: "s3cret", corsOrigin: "https://app.example" });
    try {
      const denied = await request(locked, "GET", "/v1/models/seed");
      assert.equal(denied.status, 401);
      assert.equal(denied.headers.get("www-authenticate"), "Bearer");
      assert.deepEqual(denied.body, { error: "missing or wrong bearer token" });
      assert.equal(
        (await request(locked, "GET", "/v1/models/seed", undefined, { Authorization: "Bearer nope" })).status,
        401,
      );
      assert.equal((await request(locked, "GET", "/v2/health/ready")).status, 200);
      const allowed = await request(locked, "GET", "/v1/models/seed", undefined, {
        Authorization: "Bearer s3cret",
        Origin: "https://app.example",
      });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example");
      const other = await request(locked, "GET", "/v2/health/live", undefined, { Origin: "https://evil.example" });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
    } finally {
      await locked.close();
    }
    const open = await request(server, "GET", "/v2/health/live", undefined, { Origin: "https://app.example" });
    assert.equal(open.headers.get("access-control-allow-origin"), null);
  });

  it('unknown paths: 404 {"error"}', async () => {
    const reply = await request(server, "GET", "/etc/passwd");
    assert.deepEqual([reply.status, reply.body], [404, { error: "no endpoint GET /etc/passwd" }]);
    const traversal = await request(server, "GET", "/v2/models/..%2F..%2Fetc%2Fpasswd");
    assert.equal(traversal.status, 404);
    const malformed = await request(server, "GET", "/v2/models/%E0%A4%A");
    assert.deepEqual([malformed.status, Object.keys(malformed.body)], [400, ["error"]]);
  });
});
