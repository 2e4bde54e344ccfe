/**
 * Every fault, repeated: it ends in the protocol's error body and status, the server keeps serving,
 * and the server's memory (this process' heap and array buffers, and the model thread's, each
 * after a full garbage collection) returns to its baseline. A fault runs a few times first, then
 * the baseline is taken, then it runs REPEAT more times: keeping even half of each request's
 * body (BODY_BYTES) would exceed the tolerance.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { memoryInUse } from "../../src/server/memory.js";
import type { RunningServer } from "../../src/server/server.js";
import { SEED, nested, raw, request, serve, statusAndBody, stillServes } from "./helpers.js";

const BODY_LIMIT = 256 * 1024;
/**
 * The size of the requests' bodies: what a leak per request would keep. Large enough that half of
 * it per fault is well above what a first few hundred requests add as the code warms up (about
 * 200 KB per 40 requests at first, measured, then nothing).
 */
const BODY_BYTES = 192 * 1024;
const REPEAT = 20;
const WARM_UP = 4;

const PREDICT = { instances: nested(SEED.inputs[0]) };
const ROW = (PREDICT.instances as unknown[])[0];
/** A valid request of about BODY_BYTES: as many seed rows as fit. */
const ROWS = JSON.stringify({
  instances: Array.from({ length: Math.floor(BODY_BYTES / (JSON.stringify(ROW).length + 1)) }, () => ROW),
});

/** Numbers, as JSON, about `bytes` long. */
function numbers(bytes: number): string {
  return Array.from({ length: Math.ceil(bytes / 10) }, (_, i) => (0.1 + (i % 97) / 1000).toFixed(6)).join(",");
}

/**
 * The server's memory in use: this process' (where the server runs) and the model thread's. The
 * least of three readings: V8 frees the array buffers a collection found dead in the background,
 * so one reading may still count some (a few MB of request bodies, measured).
 */
async function serverMemory(server: RunningServer): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 3; i++) {
    // Closed connections' last events run first, and the freeing of the buffers.
    await sleep(30);
    const thread = await server.models.get("seed")!.executor.memoryInUse();
    least = Math.min(least, memoryInUse() + thread);
  }
  return least;
}

/**
 * Runs `fault` WARM_UP times (code compiled and optimized, pools filled), takes the baseline, runs
 * it `repeat` times: the memory grows by less than half of the bodies sent.
 */
async function returnsToBaseline(server: RunningServer, fault: () => Promise<void>, repeat = REPEAT): Promise<void> {
  for (let i = 0; i < WARM_UP; i++) await fault();
  const baseline = await serverMemory(server);
  for (let i = 0; i < repeat; i++) await fault();
  const grown = (await serverMemory(server)) - baseline;
  const tolerance = (repeat * BODY_BYTES) / 2;
  assert.ok(grown < tolerance, `memory grew by ${grown} bytes over ${repeat} faults (tolerance ${tolerance})`);
  await stillServes(server);
}

/** A JSON request whose reply must be `status` with an {"error"} body matching `message`. */
async function refused(
  server: RunningServer,
  method: string,
  path: string,
  body: string,
  status: number,
  message: RegExp,
  headers: Record<string, string> = {},
): Promise<void> {
  const reply = await request(server, method, path, body, headers);
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.deepEqual(Object.keys(reply.body), ["error"]);
  assert.match(reply.body.error, message);
}

describe("serve: memory returns to its baseline after each fault", () => {
  let server: RunningServer;
  before(
    async () => (server = await serve({ bodyLimitBytes: BODY_LIMIT, requestTimeoutMs: 300, headersTimeoutMs: 300 })),
  );
  after(() => server.close());

  it("malformed JSON (v1 and v2): 400", async () => {
    const body = `{"instances": [${numbers(BODY_BYTES)}`;
    await returnsToBaseline(server, async () => {
      await refused(server, "POST", "/v1/models/seed:predict", body, 400, /^the request body is not JSON/);
      await refused(server, "POST", "/v2/models/seed/infer", body, 400, /^the request body is not JSON/);
    });
  });

  it("wrong shapes (v1 rows, v2 tensor) and a wrong datatype: 400", async () => {
    const row = `[${numbers(BODY_BYTES)}]`;
    const count = JSON.parse(row).length as number;
    const v1 = `{"instances": [${row}]}`;
    const v2 = `{"inputs": [{"name": "input_layer", "shape": [1, ${count}], "datatype": "FP32", "data": ${row}}]}`;
    const dtype = v2.replace('"FP32"', '"FP64"');
    await returnsToBaseline(server, async () => {
      await refused(server, "POST", "/v1/models/seed:predict", v1, 400, /expects shape \[None, 4, 3\]/);
      await refused(server, "POST", "/v2/models/seed/infer", v2, 400, /expects shape \[None, 4, 3\]/);
      await refused(server, "POST", "/v2/models/seed/infer", dtype, 400, /datatype "FP64" does not match/);
    });
  });

  it("an unknown model, an unknown version, an unknown session id: 404", async () => {
    const body = `{"instances": [[${numbers(BODY_BYTES)}]]}`;
    const step = `{"inputs": [[[${numbers(BODY_BYTES)}]]]}`;
    const session = "/sessions/00000000-0000-0000-0000-000000000000";
    await returnsToBaseline(server, async () => {
      await refused(server, "POST", "/v1/models/nope:predict", body, 404, /^Servable not found/);
      await refused(server, "POST", "/v2/models/seed/versions/7/infer", body, 404, /has no version "7"/);
      await refused(server, "POST", `${session}/step`, step, 404, /does not exist/);
    });
  });

  it("a body that claims 1 GB, and a chunked body that grows past the limit: 413, not read", async () => {
    await returnsToBaseline(server, async () => {
      const claim = await raw(server, (send) =>
        send("POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n{"),
      );
      assert.deepEqual(statusAndBody(claim), [
        413,
        { error: `the request body is 1073741824 bytes; the limit is ${BODY_LIMIT}` },
      ]);
      const chunked = await raw(server, (send) => {
        send("POST /v2/models/seed/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        const chunk = numbers(16 * 1024);
        for (let i = 0; i < 20; i++) send(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      });
      assert.deepEqual(statusAndBody(chunked), [
        413,
        { error: `the request body is over the limit of ${BODY_LIMIT} bytes` },
      ]);
    });
  });

  it("a client that really sends a 1 GB body: 413, and the connection closes after a few MB", async () => {
    const chunk = Buffer.alloc(1024 * 1024, "1");
    await returnsToBaseline(
      server,
      async () => {
        const socket = connect(server.port, "127.0.0.1");
        let received = "";
        let written = 0;
        socket.on("data", (d) => (received += String(d)));
        const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
        socket.on("error", () => undefined); // EPIPE or ECONNRESET: the server stopped reading, as it should
        socket.write("POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n");
        const pump = (): void => {
          while (!socket.destroyed && written < 1024 ** 3) {
            written += chunk.length;
            if (!socket.write(chunk)) {
              socket.once("drain", pump);
              return;
            }
          }
        };
        pump();
        await closed;
        assert.equal(statusAndBody(received)[0], 413);
        assert.ok(written < 64 * 1024 * 1024, `${written} bytes were sent before the server closed the connection`);
      },
      5,
    );
  });

  it("a body that stops arriving: 408; headers that never end: cut off", async () => {
    const part = `{"instances": [${numbers(BODY_BYTES)}`;
    await returnsToBaseline(
      server,
      async () => {
        const slow = await raw(server, (send) =>
          send(`POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT}\r\n\r\n${part}`),
        );
        assert.deepEqual(statusAndBody(slow), [408, { error: "the request body did not arrive within 300 ms" }]);
        const headers = await raw(server, (send) => send("POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\n"));
        assert.match(headers, /^HTTP\/1\.1 408|^$/);
      },
      10,
    );
  });

  it("clients that disconnect mid-body and while their prediction runs", async () => {
    const part = `{"instances": [${numbers(BODY_BYTES)}`;
    const full = ROWS;
    await returnsToBaseline(server, async () => {
      await raw(server, (send, end) => {
        send(`POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT}\r\n\r\n${part}`);
        setTimeout(end, 5);
      });
      await Promise.all(
        Array.from({ length: 4 }, () =>
          raw(server, (send, end) => {
            send(`POST /v1/models/seed:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${full.length}\r\n\r\n${full}`);
            end();
          }),
        ),
      );
    });
  });

  it("the model's worker thread dies: the requests it held get 503, a new thread serves", async () => {
    // Every batch in the model's thread (none on the event loop): they are there when it dies.
    const threaded = await serve({ bodyLimitBytes: BODY_LIMIT, inlineBelowMs: 0 });
    const model = threaded.models.get("seed")!;
    try {
      await returnsToBaseline(
        threaded,
        async () => {
          const held = [1, 2, 3].map(() => request(threaded, "POST", "/v1/models/seed:predict", ROWS));
          while (model.executor.inFlight === 0) await sleep(1);
          const crash = model.executor.request({ kind: "crash" }).catch(() => undefined);
          for (const reply of await Promise.all(held)) {
            assert.ok(reply.status === 200 || reply.status === 503, `status ${reply.status}`);
            if (reply.status === 503) assert.match(reply.body.error, /^the model's worker thread stopped/);
          }
          await crash;
          while (!model.ready) await sleep(10);
        },
        5,
      );
    } finally {
      await threaded.close();
    }
  });

  it("a full queue: 503 with Retry-After", async () => {
    // The window holds the first requests (however many rows they have) while the others arrive:
    // long enough for five 192 KB bodies on a busy machine (100 ms was not, once).
    const busy = await serve({ maxQueue: 2, batchWindowMs: 1000, batchWaitWhenIdle: true, maxBatchRows: 100_000 });
    try {
      await returnsToBaseline(
        busy,
        async () => {
          const replies = await Promise.all(
            Array.from({ length: 5 }, () => request(busy, "POST", "/v1/models/seed:predict", ROWS)),
          );
          assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 503, 503, 503]);
          for (const r of replies.filter((r) => r.status === 503)) {
            assert.equal(r.headers.get("retry-after"), "1");
            assert.deepEqual(r.body, { error: "the model's queue is full (2 requests); retry later" });
          }
        },
        6,
      );
    } finally {
      await busy.close();
    }
  });
});
