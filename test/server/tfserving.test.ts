/** TensorFlow Serving's REST API (/v1) against Keras' numbers, and its error bodies and statuses. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/server.js";
import { MULTI_IO, SEED, allModels, assertKeras, nested, request, rows, serve } from "./helpers.js";

describe("serve /v1 (TensorFlow Serving REST)", () => {
  let server: RunningServer;
  before(async () => (server = await serve({ models: allModels })));
  after(() => server.close());

  it("GET /v1/models/{name} and /versions/1: the version is AVAILABLE", async () => {
    const want = {
      model_version_status: [{ version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }],
    };
    for (const path of ["/v1/models/seed", "/v1/models/seed/versions/1"]) {
      const reply = await request(server, "GET", path);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get("content-type"), "application/json");
      assert.deepEqual(reply.body, want);
    }
  });

  it("GET /v1/models/{name}/metadata: the serving_default signature with shapes and dtypes", async () => {
    const reply = await request(server, "GET", "/v1/models/multi_io/metadata");
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.model_spec, { name: "multi_io", signature_name: "", version: "1" });
    const signature = reply.body.metadata.signature_def.signature_def.serving_default;
    assert.equal(signature.method_name, "tensorflow/serving/predict");
    assert.deepEqual(Object.keys(signature.inputs), ["seq", "vec"]);
    assert.deepEqual(Object.keys(signature.outputs), ["head_a", "head_b"]);
    assert.deepEqual(signature.inputs.seq, {
      dtype: "DT_FLOAT",
      tensor_shape: { dim: ["-1", "5", "3"].map((size) => ({ size, name: "" })), unknown_rank: false },
      name: "serving_default_seq:0",
    });
  });

  it("POST :predict, row format (instances): one prediction per row, Keras' numbers", async () => {
    const reply = await request(server, "POST", "/v1/models/seed:predict", { instances: nested(SEED.inputs[0]) });
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.body), ["predictions"]);
    assert.equal(reply.body.predictions.length, 7);
    assertKeras(reply.body.predictions, SEED.outputs[0], "seed predictions");
  });

  it("POST /versions/1:predict, columnar format (inputs), unnamed and named", async () => {
    for (const inputs of [nested(SEED.inputs[0]), { input_layer: nested(SEED.inputs[0]) }]) {
      const reply = await request(server, "POST", "/v1/models/seed/versions/1:predict", { inputs });
      assert.equal(reply.status, 200);
      assert.deepEqual(Object.keys(reply.body), ["outputs"]);
      assertKeras(reply.body.outputs, SEED.outputs[0], "seed outputs");
    }
  });

  it("two inputs, two outputs: named instances give objects per row; columnar gives an object of outputs", async () => {
    const [seq, vec] = MULTI_IO.inputs;
    const instances = [0, 1, 2].map((i) => ({ seq: rows(seq, i, i + 1)[0], vec: rows(vec, i, i + 1)[0] }));
    const byRow = await request(server, "POST", "/v1/models/multi_io:predict", {
      signature_name: "serving_default",
      instances,
    });
    assert.equal(byRow.status, 200);
    assert.deepEqual(Object.keys(byRow.body.predictions[0]), ["head_a", "head_b"]);
    assertKeras(
      byRow.body.predictions.map((p: { head_a: unknown }) => p.head_a),
      MULTI_IO.outputs[0],
      "head_a",
    );
    assertKeras(
      byRow.body.predictions.map((p: { head_b: unknown }) => p.head_b),
      MULTI_IO.outputs[1],
      "head_b",
    );
    const byColumn = await request(server, "POST", "/v1/models/multi_io:predict", {
      inputs: { seq: nested(seq), vec: nested(vec) },
    });
    assert.equal(byColumn.status, 200);
    assertKeras(byColumn.body.outputs.head_a, MULTI_IO.outputs[0], "head_a");
    assertKeras(byColumn.body.outputs.head_b, MULTI_IO.outputs[1], "head_b");
  });

  it("the request bodies of TF Serving's REST docs: instances as objects keyed by input name", async () => {
    // The docs' row-format example names each input per instance; the column format with "inputs".
    const body = JSON.stringify({ instances: [{ input_layer: rows(SEED.inputs[0], 0, 1)[0] }] });
    const reply = await request(server, "POST", "/v1/models/seed:predict", body);
    assert.equal(reply.status, 200);
    assertKeras(
      reply.body.predictions,
      { ...SEED.outputs[0], shape: [1, 1], data: SEED.outputs[0].data.slice(0, 1) },
      "row 0",
    );
  });

  const errors: [string, string, string, unknown, number, string | RegExp][] = [
    [
      "an unknown model",
      "POST",
      "/v1/models/nope:predict",
      { instances: [1] },
      404,
      "Servable not found for request: Latest(nope)",
    ],
    [
      "an unknown version",
      "GET",
      "/v1/models/seed/versions/2",
      undefined,
      404,
      "Servable not found for request: Specific(seed, 2)",
    ],
    [
      "a wrong signature",
      "POST",
      "/v1/models/seed:predict",
      { signature_name: "x", instances: [] },
      400,
      /Serving signature name: "x" not found/,
    ],
    [
      "neither instances nor inputs",
      "POST",
      "/v1/models/seed:predict",
      {},
      400,
      "Missing 'inputs' or 'instances' key in the request",
    ],
    ["both instances and inputs", "POST", "/v1/models/seed:predict", { instances: [], inputs: [] }, 400, /both/],
    ["malformed JSON", "POST", "/v1/models/seed:predict", '{"instances": [', 400, /not JSON/],
    [
      "a wrong shape",
      "POST",
      "/v1/models/seed:predict",
      { instances: [[[1, 2, 3]]] },
      400,
      /expects shape \[None, 4, 3\], got \[1, 1, 3\]/,
    ],
    [
      "a string for a number",
      "POST",
      "/v1/models/seed:predict",
      {
        inputs: [
          [
            ["a", 1, 2],
            [1, 2, 3],
            [1, 2, 3],
            [1, 2, 3],
          ],
        ],
      },
      400,
      /where a number belongs/,
    ],
    [
      "an unknown input name",
      "POST",
      "/v1/models/multi_io:predict",
      { inputs: { seq: [], x: [] } },
      400,
      /input "x" is not one of/,
    ],
    ["a missing input", "POST", "/v1/models/multi_io:predict", { inputs: { seq: [] } }, 400, /input "vec" is missing/],
    [
      "a float for an int32 input",
      "POST",
      "/v1/models/embedding:predict",
      { instances: [[1, 2, 3, 4, 5, 0.5]] },
      400,
      /not a 32-bit integer/,
    ],
    ["classify", "POST", "/v1/models/seed:classify", { examples: [] }, 501, /kerasless serves :predict/],
    ["a malformed path", "GET", "/v1/models/seed/oops", undefined, 400, "Malformed request: GET /v1/models/seed/oops"],
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
