/**
 * Parity with real Keras: every fixture, in every format it was saved in, must reproduce the
 * outputs Keras computed (tools/fixtures/ generates them; seed and real-world come from the corpus).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../src/load.js";
import { assertClose, listFixtures } from "./helpers.js";

const suites = ["seed", "real-world", "keras3", "keras2", "compressed"];

for (const suite of suites) {
  const fixtures = listFixtures(suite);
  test(`fixtures exist for ${suite}`, () => assert.ok(fixtures.length > 0, `no fixtures under test/fixtures/${suite}`));
  for (const fixture of fixtures) {
    for (const format of fixture.formats) {
      const label = `${fixture.id} (${format.model}${format.weights ? ` + ${format.weights}` : ""})`;
      test(`matches Keras: ${label}`, () => {
        const read = (name: string) => ({
          name: join(fixture.dir, name),
          bytes: new Uint8Array(readFileSync(join(fixture.dir, name))),
        });
        const model = loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
        // Stateful models keep their states from one chunk to the next, as in Keras.
        fixture.chunks.forEach((chunk, c) => {
          const outputs = model.predict(chunk.inputs.map((t) => ({ shape: t.shape, data: t.data })));
          assert.equal(outputs.length, chunk.outputs.length, "number of outputs");
          chunk.outputs.forEach((expected, i) =>
            assertClose(outputs[i], expected, `${label} chunk #${c} output #${i}`),
          );
        });
      });
    }
  }
}
