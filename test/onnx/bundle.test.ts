/** The ONNX front end's share of a browser bundle: at most 20 KB gzip, and absent unless imported. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const root = new URL("../../", import.meta.url).pathname;

async function gzipSize(entry: string): Promise<{ gzip: number; text: string }> {
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: root, loader: "ts" },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
  });
  const code = result.outputFiles[0].contents;
  return { gzip: gzipSync(code, { level: 9 }).length, text: new TextDecoder().decode(code) };
}

test("importing kerasless/onnx adds at most 20 KB gzip; the core alone leaves it out", async (t) => {
  const core = await gzipSize('export * from "./src/index.ts";');
  const both = await gzipSize('export * from "./src/index.ts"; import "./src/onnx/index.ts";');
  // The figure docs/onnx.md gives.
  t.diagnostic(`ONNX adds ${both.gzip - core.gzip} B gzip`);
  assert.ok(both.gzip - core.gzip <= 20 * 1024, `ONNX adds ${both.gzip - core.gzip} B gzip`);
  assert.ok(!core.text.includes("linear_before_reset"), "the core bundle holds no ONNX op code");
  assert.ok(both.text.includes("linear_before_reset"));
});
