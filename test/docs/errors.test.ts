/** docs/errors.md lists exactly the error codes src/errors.ts defines, and src/ uses no others. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const union = (): string[] => {
  const source = readFileSync(join(root, "src/errors.ts"), "utf8");
  const declaration = source.slice(
    source.indexOf("export type ErrorCode"),
    source.indexOf(";", source.indexOf("export type ErrorCode")),
  );
  return [...declaration.matchAll(/"(E_[A-Z0-9_]+)"/g)].map((m) => m[1]).sort();
};

test("docs/errors.md has one table row per error code, and no others", () => {
  const doc = readFileSync(join(root, "docs/errors.md"), "utf8");
  const rows = [...doc.matchAll(/^\| `(E_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.ok(union().length >= 10);
  assert.deepEqual(rows, union());
});

test("every code string in src/ is a defined ErrorCode", () => {
  const defined = new Set(union());
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
    );
  const used = new Set<string>();
  for (const file of walk(join(root, "src"))) {
    for (const m of readFileSync(file, "utf8").matchAll(/["'`](E_[A-Z0-9_]+)["'`]/g)) used.add(m[1]);
  }
  assert.ok(used.size >= 10);
  for (const code of used) assert.ok(defined.has(code), `${code} is used in src/ but not defined in src/errors.ts`);
});
