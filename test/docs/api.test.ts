/** The API reference (typedoc.json, `npm run docs:api`) builds from the TypeScript without a warning. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./snippets.js";

test("npm run docs:api builds the API reference without warnings (typedoc, warnings are errors)", () => {
  const typedoc = join(ROOT, "node_modules/typedoc/bin/typedoc");
  const result = spawnSync(process.execPath, [typedoc, "--emit", "none"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(result.status, 0, `typedoc failed:\n${result.stdout}\n${result.stderr}`);
  assert.doesNotMatch(result.stdout + result.stderr, /warning|error/i);
});
