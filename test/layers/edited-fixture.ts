/** Loading a fixture's model.json after editing its config, for tests of config checks. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadModelFromBytes } from "../../src/load.js";
import type { Model } from "../../src/model.js";
import { FIXTURES } from "../helpers.js";
export { rejects } from "../helpers.js";

export type LayerJson = { class_name: string; config: Record<string, unknown> };

/** Loads keras3/<fixture>'s model.json + weights, after `edit` changed its layer list. */
export function loadEdited(fixture: string, edit: (layers: LayerJson[]) => void): Model {
  const dir = `${FIXTURES}keras3/${fixture}/`;
  const json = JSON.parse(readFileSync(`${dir}model.json`, "utf8"));
  edit(json.config.layers);
  const weights = { name: "model.weights.h5", bytes: new Uint8Array(readFileSync(`${dir}model.weights.h5`)) };
  return loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) }, weights);
}

export function layerNamed(layers: LayerJson[], name: string): LayerJson {
  const layer = layers.find((l) => l.config.name === name);
  assert.ok(layer, `no layer ${name}`);
  return layer;
}
