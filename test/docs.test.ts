/** The supported-layers tables are generated from the registry and must be current. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { supportedLayersPage, withTable } from "../scripts/gen-layer-docs.js";

const root = new URL("../", import.meta.url).pathname;

test("docs/supported-layers.md is generated from the registry (run npm run docs:layers)", () => {
  assert.equal(readFileSync(`${root}docs/supported-layers.md`, "utf8"), supportedLayersPage());
});

test("the README's supported-layers table is generated from the registry (run npm run docs:layers)", () => {
  const readme = readFileSync(`${root}README.md`, "utf8");
  assert.equal(readme, withTable(readme));
});
