/**
 * Parity with real Keras for the fixtures that are not one layer family's: the seed model, the
 * real-world corpus, compressed files and loading edge cases (loading/: tf_keras .keras files
 * written on Windows). The generated cases under keras3/ and keras2/ are run by the test file of
 * their layer family, test/layers/<family>.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KERAS_SUITES, listFixtures, testMatchesKeras } from "./helpers.js";

for (const suite of ["seed", "real-world", ...KERAS_SUITES, "compressed", "loading"]) {
  const fixtures = listFixtures(suite);
  test(`fixtures exist for ${suite}`, () => assert.ok(fixtures.length > 0, `no fixtures under test/fixtures/${suite}`));
  if (!(KERAS_SUITES as readonly string[]).includes(suite)) fixtures.forEach(testMatchesKeras);
}
