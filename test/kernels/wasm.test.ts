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

test("Node runs the WebAssembly SIMD kernels unless told otherwise", { skip: selected === "js" ? "KERASLESS_KERNELS=js" : false }, () => {
  assert.equal(kernelPath(), "wasm");
});

test("setKernelPath rejects unknown paths", () => {
  assert.throws(() => setKernelPath("gpu" as never), (e: unknown) => e instanceof KeraslessError && e.code === "E_UNSUPPORTED");
});

test("the plain TypeScript kernels pass every fixture, stream and allocation test", { skip: selected === "js" ? "already on the js path" : false }, () => {
  const files = ["test/load.test.ts", "test/stream.test.ts", "test/stream-alloc.test.ts", "test/model.test.ts"];
  try {
    execFileSync(process.execPath, ["--import", "tsx", "--test", ...files], { cwd: root, env: { ...process.env, KERASLESS_KERNELS: "js" }, stdio: "pipe", encoding: "utf8" });
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? "";
    assert.fail(`the js kernel path fails:\n${out.split("\n").filter((l) => l.startsWith("not ok") || l.includes("Error")).slice(0, 20).join("\n")}`);
  }
});
