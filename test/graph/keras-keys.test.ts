/**
 * Never stricter than Keras (issue 14 section 3): every class kerasless registers is created from
 * the config Keras 3 and tf_keras write for it (test/fixtures/layer-keys/, written by
 * tools/fixtures/layer_keys.py), with every parameter of its constructor added, and none of those
 * keys may be reported as unknown. Values are whatever the config has (null for parameters it
 * does not write), so a layer may find an option unsupported; only unknown keys fail here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ConfigReader, type JsonObject } from "../../src/layers/config.js";
import type { LayerContext } from "../../src/layers/layer.js";
import { supportedLayers } from "../../src/layers/registry.js";
import { KeraslessError } from "../../src/errors.js";
import { FIXTURES } from "../helpers.js";

interface KerasKeys {
  framework: string;
  version: string;
  classes: Record<string, { config: JsonObject; parameters: string[] }>;
}

for (const [suite, major] of [
  ["keras3", 3],
  ["keras2", 2],
] as const) {
  const keys = JSON.parse(readFileSync(`${FIXTURES}layer-keys/${suite}.json`, "utf8")) as KerasKeys;

  test(`${keys.framework} ${keys.version}: no key Keras writes or takes is unknown to a registered layer`, () => {
    const unknown: string[] = [];
    let checked = 0;
    for (const definition of supportedLayers()) {
      const keras = keys.classes[definition.className];
      if (definition.create === null || keras === undefined) continue;
      const config: JsonObject = { ...keras.config };
      for (const parameter of keras.parameters) if (!(parameter in config)) config[parameter] = null;
      const context: LayerContext = { kerasMajor: major, report: () => {}, createLayer: () => null };
      const reader = new ConfigReader("layer", definition.className, config, context);
      try {
        definition.create(reader);
      } catch (e) {
        // A default that kerasless finds malformed (no inner layer for a wrapper) stops the
        // constructor: the keys it reads after that are not known, and show up below.
        if (!(e instanceof KeraslessError)) throw e;
      }
      checked++;
      for (const key of reader.unknownKeys()) unknown.push(`${definition.className}.${key}`);
    }
    assert.ok(checked > 60, `${checked} classes checked`);
    assert.deepEqual(unknown, []);
  });
}
