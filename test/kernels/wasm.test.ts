/**
 * The WebAssembly SIMD kernel path: its binary is built from wasm/kernels.ts, Node runs it by
 * default, and the plain TypeScript path passes the same parity suite (run here in a child
 * process with KERASLESS_KERNELS=js; the ordinary test run covers the default, wasm).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { KeraslessError } from "../../src/errors.js";
import { kernelPath, setKernelPath } from "../../src/kernels/wasm.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const selected = process.env.KERASLESS_KERNELS;

test("src/kernels/wasm-binary.ts is what wasm/kernels.ts compiles to", () => {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/build-wasm.ts", "--check"], { cwd: root, stdio: "pipe" });
});

test(
  "Node runs the WebAssembly SIMD kernels unless told otherwise",
  { skip: selected === "js" ? "KERASLESS_KERNELS=js" : false },
  () => {
    assert.equal(kernelPath(), "wasm");
  },
);

test("setKernelPath rejects unknown paths", () => {
  assert.throws(
    () => setKernelPath("gpu" as never),
    (e: unknown) => e instanceof KeraslessError && e.code === "E_UNSUPPORTED",
  );
});

test(
  "the plain TypeScript kernels pass every fixture, stream and allocation test",
  { skip: selected === "js" ? "already on the js path" : false },
  () => {
    const files = ["test/load.test.ts", "test/stream.test.ts", "test/stream-alloc.test.ts", "test/model.test.ts"];
    try {
      execFileSync(process.execPath, ["--import", "tsx", "--test", ...files], {
        cwd: root,
        env: { ...process.env, KERASLESS_KERNELS: "js" },
        stdio: "pipe",
        encoding: "utf8",
      });
    } catch (error) {
      const out = (error as { stdout?: string }).stdout ?? "";
      assert.fail(
        `the js kernel path fails:\n${out
          .split("\n")
          .filter((l) => l.startsWith("not ok") || l.includes("Error"))
          .slice(0, 20)
          .join("\n")}`,
      );
    }
  },
);

test("large batches: a projection a chunk of steps at a time (W3, W4, W3 streamed) gives Keras' numbers", async () => {
  const { loadWorkloads } = await import("../../bench/lib/spec.js");
  const { loadModel } = await import("../../src/node.js");
  const { assertClose } = await import("../helpers.js");
  const { Tensor } = await import("../../src/tensor.js");
  // W3: 256 rows x 512 projection columns = 512 KiB a step, so 4-step chunks over 50 steps
  // (the last one 2 steps); W4's GRU(64): 21-step chunks over 200.
  for (const w of loadWorkloads().filter((x) => x.id === "W3" || x.id === "W4")) {
    const model = await loadModel(new URL(`../../bench/${w.model.keras}`, import.meta.url).pathname);
    const [y] = model.predict({ shape: [...w.inputShape], data: w.input });
    assertClose(y, { shape: [...w.expectedShape], dtype: "float32", data: Array.from(w.expected) }, w.id);
    // The same rows one step at a time through a stream (one-step projections): the same outputs.
    if (w.id === "W3") {
      const [batch, steps, features] = w.inputShape;
      const stream = model.stream({ batch });
      let last = new Tensor([batch, 1], new Float32Array(batch));
      for (let t = 0; t < steps; t++) {
        const x = new Float32Array(batch * features);
        for (let b = 0; b < batch; b++)
          x.set(w.input.subarray((b * steps + t) * features, (b * steps + t + 1) * features), b * features);
        last = stream.step({ shape: [batch, features], data: x })[0];
      }
      assertClose(last, { shape: [...w.expectedShape], dtype: "float32", data: Array.from(w.expected) }, "W3 streamed");
    }
  }
});

test("chunked projections read backwards: Bidirectional fixtures on 4096x batch give Keras' numbers", async () => {
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { loadModel } = await import("../../src/node.js");
  const { assertClose, listFixtures } = await import("../helpers.js");
  const repeat = 4096; // a few thousand rows: chunks of a few steps, so a backward layer crosses chunks
  const cases = listFixtures("keras3").filter(
    (f) => /^keras3\/bidir_(?:stacked|merge_modes|return_state)/.test(f.id) && f.io.chunks === undefined,
  );
  assert.ok(cases.length >= 2, cases.map((f) => f.id).join(", "));
  for (const fixture of cases) {
    const model = await loadModel(new Uint8Array(readFileSync(join(fixture.dir, "model.keras"))));
    const tile = (t: { shape: number[]; data: number[] }) => ({
      shape: [t.shape[0] * repeat, ...t.shape.slice(1)],
      data: Float32Array.from({ length: t.data.length * repeat }, (_, i) => t.data[i % t.data.length]),
    });
    const outputs = model.predict(fixture.inputs.map(tile));
    outputs.forEach((y, i) => {
      const want = tile(fixture.outputs[i]);
      assertClose(y, { shape: want.shape, dtype: "float32", data: Array.from(want.data) }, `${fixture.id} output ${i}`);
    });
  }
});
