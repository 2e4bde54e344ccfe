/** Predictions run off the event loop: health, metadata and metrics answer while a long prediction computes. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { request, serve } from "./helpers.js";

const LSTM128 = fileURLToPath(new URL("../../bench/models/lstm128.keras", import.meta.url));

describe("serve: the event loop stays free", () => {
  it("while LSTM(128) predicts 2048 rows, /v2/health/ready, model metadata and /metrics answer", async () => {
    const server = await serve({ models: [{ name: "lstm128", path: LSTM128 }], threads: 1 });
    try {
      const rows = 2048;
      const values = new Float32Array(rows * 50 * 16).map((_, i) => Math.sin(i));
      const json = Buffer.from(
        JSON.stringify({
          inputs: [
            { name: "x", shape: [rows, 50, 16], datatype: "FP32", parameters: { binary_data_size: values.byteLength } },
          ],
        }),
      );
      const model = server.models.get("lstm128")!;
      const long = fetch(`${server.url}/v2/models/lstm128/infer`, {
        method: "POST",
        headers: { "Inference-Header-Content-Length": String(json.length) },
        body: Buffer.concat([json, Buffer.from(values.buffer)]),
      });
      let finished = false;
      const done = long.then(async (r) => {
        finished = true;
        return [r.status, await r.json()] as const;
      });
      while (model.executor.inFlight === 0 && !finished) await new Promise((r) => setTimeout(r, 1));
      // The prediction is in the model's thread now: these are answered before it ends.
      assert.equal((await request(server, "GET", "/v2/health/ready")).status, 200);
      assert.equal((await request(server, "GET", "/v2/models/lstm128")).status, 200);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
      assert.equal(finished, false, "the prediction ended before the health checks were answered");
      assert.equal(model.executor.inFlight, 1);
      const [status, body] = await done;
      assert.equal(status, 200);
      assert.deepEqual(body.outputs[0].shape, [rows, 1]);
    } finally {
      await server.close();
    }
  });
});
