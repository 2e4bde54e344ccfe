/**
 * A loaded model holds its weights once. On the WebAssembly path, an LSTM or GRU keeps them only
 * in its WebAssembly memory (getWeights() reads them back); on the TypeScript path, only in
 * Float32Arrays. Measured in a child process: what the ArrayBuffers and WebAssembly memories
 * (`external`) grow by when the model loads, against the weight bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

const script = new URL("./support/load-memory.ts", import.meta.url).pathname;
const model = new URL("../bench/models/lstm128.keras", import.meta.url).pathname;

for (const path of ["js", "wasm"] as const) {
  test(`LSTM(128) -> Dense(1) holds its weights once (${path} kernels)`, () => {
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, model, path], {
      encoding: "utf8",
    });
    const { weightBytes, arrayBuffers, external } = JSON.parse(out) as {
      weightBytes: number;
      arrayBuffers: number;
      external: number;
    };
    assert.ok(weightBytes > 290_000, `weights: ${weightBytes} bytes`);
    // WebAssembly memory grows in 64 KiB pages.
    assert.ok(
      external < weightBytes + 96 * 1024,
      `ArrayBuffers and WebAssembly memory grew by ${external} bytes for ${weightBytes} bytes of weights`,
    );
    if (path === "wasm")
      assert.ok(
        arrayBuffers < 16 * 1024,
        `the LSTM's weights are in WebAssembly memory only, yet ArrayBuffers grew by ${arrayBuffers} bytes`,
      );
  });
}

test("MobileNetV2's convolutions and Dense on WebAssembly hold their weights once", () => {
  const mobilenet = new URL("./fixtures/keras3/apps_mobilenet_v2/model.keras", import.meta.url).pathname;
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", script, mobilenet, "wasm"], {
    encoding: "utf8",
  });
  const { weightBytes, arrayBuffers } = JSON.parse(out) as { weightBytes: number; arrayBuffers: number };
  assert.ok(weightBytes > 350_000, `weights: ${weightBytes} bytes`);
  // What stays in ArrayBuffers is BatchNormalization's (its statistics, and the scale and offset
  // made from them in float64: 30% of this narrow model's weights, 4% of the full-width one's).
  assert.ok(
    arrayBuffers < weightBytes / 2,
    `the kernels hold the weights in WebAssembly memory, yet ArrayBuffers grew by ${arrayBuffers} bytes ` +
      `for ${weightBytes} bytes of weights`,
  );
});
