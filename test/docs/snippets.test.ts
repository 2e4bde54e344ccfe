/**
 * Every ts/js code block in README.md and docs/*.md runs (see test/docs/snippets.ts for the
 * markers). Node blocks run in Node. Deno and Bun blocks run in the real runtimes when they are
 * installed (`npm ci --prefix test/runtimes`, done by .ci/run); otherwise in Node, against the
 * same kerasless API, with the one runtime call they make (Deno.readFile, Bun.file) provided by
 * node:fs. Workers blocks are imported as modules and their fetch handler is called with a
 * Request. Browser blocks run in Chromium in test/e2e/web.e2e.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCoreBundle } from "../../scripts/build-browser.js";
import { ABS_TOLERANCE, REL_TOLERANCE } from "../helpers.js";
import { ROOT, allSnippets, makeWorkspace, seedReference, withImport, type Snippet } from "./snippets.js";

const snippets = allSnippets();
const TSX = import.meta.resolve("tsx");
const NODE_ENTRY = join(ROOT, "src/node.ts");
const CORE_ENTRY = join(ROOT, "src/index.ts");

/** A runtime's binary: test/runtimes/node_modules/.bin (pinned there), else PATH. */
function findRuntime(name: "deno" | "bun"): string | undefined {
  const pinned = join(ROOT, "test/runtimes/node_modules/.bin", name);
  if (existsSync(pinned)) return pinned;
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}
const DENO = findRuntime("deno");
const BUN = findRuntime("bun");

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  if (result.error) throw result.error;
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(" ")} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`,
  );
  return result.stdout;
}

const runInNode = (dir: string, file: string): string => run(process.execPath, ["--import", TSX, file], dir);

const DENO_SHIM = `globalThis.Deno = {
  readFile: async (path) => new Uint8Array(await (await import("node:fs/promises")).readFile(path)),
};
`;
const BUN_SHIM = `globalThis.Bun = {
  file: (path) => ({
    arrayBuffer: async () => {
      const b = await (await import("node:fs/promises")).readFile(path);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
  }),
};
`;

async function runSnippet(snippet: Snippet, dir: string): Promise<{ output: string; how: string }> {
  switch (snippet.mode) {
    case "node":
      writeFileSync(join(dir, "snippet.mts"), withImport(snippet.code, NODE_ENTRY));
      return { output: runInNode(dir, "snippet.mts"), how: "node" };
    case "deno":
      if (DENO !== undefined) {
        // Deno gets the browser bundle: the same file `npm:kerasless` users would load, minus the registry.
        writeFileSync(join(dir, "kerasless.min.js"), (await buildCoreBundle()).code);
        writeFileSync(join(dir, "snippet.ts"), withImport(snippet.code, "./kerasless.min.js"));
        const output = run(
          DENO,
          ["run", "--quiet", "--no-config", "--no-lock", "--no-remote", "--no-npm", "--allow-read=.", "snippet.ts"],
          dir,
          { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" },
        );
        return { output, how: `deno (${DENO})` };
      }
      writeFileSync(join(dir, "snippet.mts"), DENO_SHIM + withImport(snippet.code, CORE_ENTRY));
      return {
        output: runInNode(dir, "snippet.mts"),
        how: "node with Deno.readFile from node:fs (deno is not installed)",
      };
    case "bun":
      if (BUN !== undefined) {
        writeFileSync(join(dir, "snippet.ts"), withImport(snippet.code, NODE_ENTRY));
        return {
          output: run(BUN, ["run", "snippet.ts"], dir, {
            BUN_INSTALL_CACHE_DIR: join(dir, ".bun-cache"),
            DO_NOT_TRACK: "1",
          }),
          how: `bun (${BUN})`,
        };
      }
      writeFileSync(join(dir, "snippet.mts"), BUN_SHIM + withImport(snippet.code, NODE_ENTRY));
      return { output: runInNode(dir, "snippet.mts"), how: "node with Bun.file from node:fs (bun is not installed)" };
    case "worker": {
      // Workers bundlers resolve `kerasless` to the runtime-neutral entry (the "default" export condition).
      writeFileSync(join(dir, "worker.mts"), withImport(snippet.code, CORE_ENTRY));
      writeFileSync(
        join(dir, "driver.mts"),
        WORKER_DRIVER.replace("%WINDOWS%", JSON.stringify(seedReference().windows)),
      );
      return {
        output: runInNode(dir, "driver.mts"),
        how: "node: the module's fetch(request, env, ctx) called with a Request",
      };
    }
    default:
      throw new Error(`${snippet.where}: mode ${snippet.mode} does not run here`);
  }
}

/**
 * Calls the module's fetch handler as the Workers runtime would: a POST with the seed windows,
 * an `env.ASSETS` binding that serves the workspace files, an execution context.
 */
const WORKER_DRIVER = `
import { readFile } from "node:fs/promises";
import worker from "./worker.mts";
const path = (input) => new URL(input instanceof Request ? input.url : String(input)).pathname;
const env = { ASSETS: { fetch: async (input) => new Response(await readFile("." + path(input))) } };
const ctx = { waitUntil() {}, passThroughOnException() {} };
for (let i = 0; i < 2; i++) {
  const request = new Request("https://example.com/predict", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: %WINDOWS% }),
  });
  const response = await worker.fetch(request, env, ctx);
  const type = response.headers.get("content-type");
  console.log(JSON.stringify({ status: response.status, type, body: await response.json() }));
}
`;

test("the docs have snippets for Node, Deno, Bun, a Workers handler and the browser", () => {
  const modes = new Set(snippets.map((s) => s.mode));
  for (const mode of ["node", "deno", "bun", "worker", "browser"])
    assert.ok(modes.has(mode as Snippet["mode"]), `no ${mode} snippet in the docs`);
});

for (const snippet of snippets) {
  if (snippet.mode === "browser") continue; // test/e2e/web.e2e.ts runs these in Chromium
  if (snippet.mode === "covered") {
    test(`${snippet.where}: covered by ${snippet.coveredBy}`, () => {
      assert.ok(existsSync(join(ROOT, snippet.coveredBy!)), `${snippet.coveredBy} does not exist`);
    });
    continue;
  }
  test(`${snippet.where} runs (${snippet.mode})`, async (t) => {
    const dir = makeWorkspace();
    try {
      const { output, how } = await runSnippet(snippet, dir);
      t.diagnostic(`ran in ${how}`);
      if (snippet.prints) assert.match(output, snippet.prints, `${snippet.where}: output`);
      if (snippet.mode === "worker") {
        const keras = seedReference().predictions;
        const responses = output
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line));
        assert.equal(responses.length, 2, "two requests (the second reuses the loaded model)");
        for (const { status, type, body } of responses) {
          assert.equal(status, 200);
          assert.match(type, /application\/json/);
          assert.equal(body.predictions.length, keras.length);
          body.predictions.forEach((got: number, i: number) => {
            assert.ok(
              Math.abs(got - keras[i]) <= ABS_TOLERANCE + REL_TOLERANCE * Math.abs(keras[i]),
              `prediction ${i}: ${got}, Keras ${keras[i]}`,
            );
          });
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
