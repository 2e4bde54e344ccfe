/**
 * Whole-file budgets and linear time in the HDF5 reader (issue 18): files whose structures are
 * shared, nested, repeated or padded so that a reader working per structure would multiply its
 * work. Each ends in a result or a one-line E_LIMIT/E_HDF5 error, quickly. Generators:
 * test/fuzz/structures/hdf5.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { KeraslessError } from "../../src/errors.js";
import { openHdf5 } from "../../src/io/hdf5/index.js";
import {
  absoluteSoftLinks,
  nestedHeaders,
  paddedStrings,
  sharedHeapString,
  sharedSymbolTable,
  zeroSizeStrings,
  type Hdf5Attack,
} from "../fuzz/structures/hdf5.js";

/** Runs the attack; returns its result or the KeraslessError it ended in, failing past `ms`. */
function run(attack: Hdf5Attack, ms = 2000): unknown {
  const start = performance.now();
  let outcome: unknown;
  try {
    outcome = attack.exercise(openHdf5(attack.bytes, "attack.h5"));
  } catch (e) {
    if (!(e instanceof KeraslessError)) throw e;
    assert.ok(!e.message.includes("\n"), "one-line message");
    outcome = e;
  }
  const elapsed = performance.now() - start;
  assert.ok(elapsed < ms, `took ${elapsed.toFixed(0)} ms (file of ${attack.bytes.length} bytes)`);
  return outcome;
}

function assertError(outcome: unknown, code: string, pattern: RegExp): void {
  assert.ok(outcome instanceof KeraslessError, `expected ${code}, got ${String(outcome)}`);
  assert.equal(outcome.code, code);
  assert.match(outcome.message, pattern);
}

test("fixed-length strings of 0 bytes are an error, not 2^32 empty strings (108-byte file)", () => {
  const attack = zeroSizeStrings(2 ** 32);
  assert.ok(attack.bytes.length < 512);
  assertError(run(attack), "E_HDF5", /attribute "names0" of "\/": fixed-length strings of 0 bytes/);
  // 200k of them once reached push(...list) and overflowed the stack.
  assertError(run(zeroSizeStrings(200_000)), "E_HDF5", /fixed-length strings of 0 bytes/);
});

test("groups sharing one B-tree and local heap read it once (n groups of n links: n, not n^2)", () => {
  const attack = sharedSymbolTable(3000);
  assert.equal(run(attack), 3000 * 3000);
});

test("version 2 object headers nested in each other's messages hit the file's message budget", () => {
  const attack = nestedHeaders(4000);
  assertError(run(attack), "E_LIMIT", /more than \d+ object header messages, the budget for a file of its size/);
  // Ten nested headers are a valid (if odd) file.
  assert.equal(run(nestedHeaders(10)), 10);
});

test("attribute chunks referencing one large global-heap string hit the attribute budget", () => {
  const attack = sharedHeapString(3000, 100_000);
  assertError(run(attack), "E_LIMIT", /more than \d+ bytes of attribute values/);
  assert.equal(run(sharedHeapString(5, 1000)), 5);
});

test("trailing NULs and spaces are trimmed in linear time (no backtracking regex)", () => {
  const outcome = run(paddedStrings(60_000), 1000);
  assert.deepEqual(outcome, [0, 0, 0, 0, 60_001, 60_001, 60_001, 60_001]);
});

test("absolute soft links share the one root group (n links: n, not n^2)", () => {
  assert.equal(run(absoluteSoftLinks(5000)), 5000 * 2);
});
