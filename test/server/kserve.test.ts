/** The Open Inference Protocol (/v2) against Keras' numbers, binary tensors, and its error bodies. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/server.js";
import { EMBEDDING, MULTI_IO, SEED, allModels, assertKeras, request, serve } from "./helpers.js";

describe("serve /v2 (Open Inference Protocol)", () => {
  let server: RunningServer;
  before(async () => (server = await serve({ models: allModels })));
  after(() => server.close());

  it("health: live and ready; server metadata", async () => {
    assert.deepEqual(await request(server, "GET", "/v2/health/live"), {
      status: 200,
      headers: (await request(server, "GET", "/v2/health/live")).headers,
      body: { live: true },
    });
    const ready = await request(server, "GET", "/v2/health/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { ready: true });
    const meta = await request(server, "GET", "/v2");
    assert.equal(meta.body.name, "kerasless");
    assert.match(meta.body.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(meta.body.extensions, ["binary_tensor_data"]);
  });

  it("model metadata and readiness, with and without /versions/1", async () => {
    for (const base of ["/v2/models/multi_io", "/v2/models/multi_io/versions/1"]) {
      const meta = await request(server, "GET", base);
      assert.equal(meta.status, 200);
      assert.deepEqual(meta.body, {
        name: "multi_io",
        versions: ["1"],
        platform: "kerasless",
        inputs: [
          { name: "seq", datatype: "FP32", shape: [-1, 5, 3] },
          { name: "vec", datatype: "FP32", shape: [-1, 2] },
        ],
        outputs: [
          { name: "head_a", datatype: "FP32", shape: [-1, 2] },
          { name: "head_b", datatype: "FP32", shape: [-1, 1] },
        ],
      });
      const ready = await request(server, "GET", `${base}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { name: "multi_io", ready: true });
    }
  });

  it("infer FP32: Keras' numbers, the id echoed, every output by default", async () => {
    const t = SEED.inputs[0];
    const reply = await request(server, "POST", "/v2/models/seed/infer", {
      id: "request-7",
      inputs: [{ name: "input_layer", shape: t.shape, datatype: "FP32", data: t.data }],
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.model_name, "seed");
    assert.equal(reply.body.model_version, "1");
    assert.equal(reply.body.id, "request-7");
    assert.equal(reply.body.outputs.length, 1);
    const [out] = reply.body.outputs;
    assert.deepEqual([out.name, out.datatype, out.shape], ["dense", "FP32", [7, 1]]);
    assertKeras(out.data, SEED.outputs[0], "seed");
  });

  it("two named inputs; the outputs asked for, in the order asked; parameters accepted", async () => {
    const [seq, vec] = MULTI_IO.inputs;
    const reply = await request(server, "POST", "/v2/models/multi_io/versions/1/infer", {
      parameters: { priority: 1 },
      inputs: [
        { name: "vec", shape: vec.shape, datatype: "FP32", data: vec.data },
        { name: "seq", shape: seq.shape, datatype: "FP32", data: seq.data, parameters: {} },
      ],
      outputs: [{ name: "head_b" }, { name: "head_a", parameters: { binary_data: false } }],
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(
      reply.body.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
      [
        ["head_b", [3, 1]],
        ["head_a", [3, 2]],
      ],
    );
    assertKeras(reply.body.outputs[0].data, MULTI_IO.outputs[1], "head_b");
    assertKeras(reply.body.outputs[1].data, MULTI_IO.outputs[0], "head_a");
  });

  it("INT32 and INT64 token ids for an int32 input", async () => {
    const t = EMBEDDING.inputs[0];
    for (const datatype of ["INT32", "INT64"]) {
      const reply = await request(server, "POST", "/v2/models/embedding/infer", {
        inputs: [{ name: "tokens", shape: t.shape, datatype, data: t.data }],
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assertKeras(reply.body.outputs[0].data, EMBEDDING.outputs[0], `embedding ${datatype}`);
    }
  });

  it("binary tensor data (Triton's extension): raw FP32 in, raw FP32 out", async () => {
    const t = SEED.inputs[0];
    const json = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "input_layer", shape: t.shape, datatype: "FP32", parameters: { binary_data_size: 4 * 84 } }],
        outputs: [{ name: "dense", parameters: { binary_data: true } }],
      }),
    );
    const body = Buffer.concat([json, Buffer.from(Float32Array.from(t.data).buffer)]);
    const res = await fetch(`${server.url}/v2/models/seed/infer`, {
      method: "POST",
      headers: { "Inference-Header-Content-Length": String(json.length) },
      body,
    });
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get("inference-header-content-length"));
    const header = JSON.parse(bytes.subarray(0, headerLength).toString());
    assert.deepEqual(header.outputs[0].parameters, { binary_data_size: 28 });
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerLength, bytes.byteOffset + bytes.length));
    assertKeras([...data], SEED.outputs[0], "seed binary");
  });

  const t = SEED.inputs[0];
  const input = (over: Record<string, unknown>) => ({
    inputs: [{ name: "input_layer", shape: t.shape, datatype: "FP32", data: t.data, ...over }],
  });
  const errors: [string, string, string, unknown, number, string | RegExp][] = [
    ["an unknown model", "POST", "/v2/models/nope/infer", input({}), 404, 'model "nope" is not served here'],
    ["an unknown version", "GET", "/v2/models/seed/versions/3", undefined, 404, /has no version "3"/],
    [
      "a datatype the input does not take",
      "POST",
      "/v2/models/seed/infer",
      input({ datatype: "INT64" }),
      400,
      /datatype "INT64" does not match the model's FP32/,
    ],
    [
      "a shape the model does not take",
      "POST",
      "/v2/models/seed/infer",
      input({ shape: [7, 3, 4] }),
      400,
      /expects shape \[None, 4, 3\], got \[7, 3, 4\]/,
    ],
    [
      "data that does not fill the shape",
      "POST",
      "/v2/models/seed/infer",
      input({ shape: [8, 4, 3] }),
      400,
      /needs 96 values, 'data' has 84/,
    ],
    ["an unknown input", "POST", "/v2/models/seed/infer", input({ name: "x" }), 400, /unexpected input "x"/],
    [
      "an unknown output",
      "POST",
      "/v2/models/seed/infer",
      { ...input({}), outputs: [{ name: "y" }] },
      400,
      /unexpected output "y"/,
    ],
    [
      "a missing input",
      "POST",
      "/v2/models/multi_io/infer",
      { inputs: [{ name: "vec", shape: [1, 2], datatype: "FP32", data: [1, 2] }] },
      400,
      'input "seq" is missing',
    ],
    [
      "int64 beyond int32",
      "POST",
      "/v2/models/embedding/infer",
      { inputs: [{ name: "tokens", shape: [1, 6], datatype: "INT64", data: [1, 2, 3, 4, 5, 2 ** 40] }] },
      400,
      /not a 32-bit integer/,
    ],
    ["malformed JSON", "POST", "/v2/models/seed/infer", "{", 400, /not JSON/],
    ["GET on /infer", "GET", "/v2/models/seed/infer", undefined, 405, /GET is not allowed/],
  ];
  for (const [what, method, path, body, status, message] of errors) {
    it(`${what}: ${status} {"error": ...}`, async () => {
      const reply = await request(server, method, path, body);
      assert.equal(reply.status, status);
      assert.deepEqual(Object.keys(reply.body), ["error"]);
      if (typeof message === "string") assert.equal(reply.body.error, message);
      else assert.match(reply.body.error, message);
    });
  }
});
