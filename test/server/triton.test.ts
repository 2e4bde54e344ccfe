/**
 * A real third-party client: Triton's Python HTTP client (tritonclient[http]) against `kerasless serve`.
 * Runs when test/server/.venv has it (.ci/run installs it); otherwise the test says it is skipped.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/server.js";
import { FIXTURES } from "../helpers.js";
import { EMBEDDING, MULTI_IO, SEED, allModels, assertKeras, serve } from "./helpers.js";

const PYTHON = new URL("./.venv/bin/python", import.meta.url).pathname;
const SCRIPT = new URL("./triton_client.py", import.meta.url).pathname;
const available = existsSync(PYTHON);
const skip = available
  ? false
  : `no ${PYTHON}: .ci/run creates it (python3 -m venv + pip install tritonclient[http] numpy)`;

describe("serve with Triton's Python client (tritonclient[http])", { skip }, () => {
  let server: RunningServer;
  before(async () => (server = await serve({ models: allModels })));
  after(() => server.close());

  it("health, metadata and infer (binary and JSON tensors, FP32 and INT64) give Keras' numbers", async () => {
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, `127.0.0.1:${server.port}`, FIXTURES], {
      timeout: 60_000,
    });
    const got = JSON.parse(stdout);
    assert.deepEqual([got.live, got.ready, got.model_ready], [true, true, true]);
    assert.equal(got.server.name, "kerasless");
    assert.deepEqual(got.metadata.inputs[0], { name: "seq", datatype: "FP32", shape: [-1, 5, 3] });
    for (const key of ["seed_binary_true", "seed_binary_false", "seed_defaults", "v1_predictions"])
      assertKeras(got[key], SEED.outputs[0], key);
    assertKeras(got.multi_io.head_a, MULTI_IO.outputs[0], "multi_io head_a");
    assertKeras(got.multi_io.head_b, MULTI_IO.outputs[1], "multi_io head_b");
    assertKeras(got.embedding, EMBEDDING.outputs[0], "embedding INT64");
    assert.match(got.unknown_model_error, /model "nope" is not served here/);
  });
});
