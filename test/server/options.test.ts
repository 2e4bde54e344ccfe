/** `kerasless serve` options: the batching and inline flags, and their bounds. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeraslessError } from "../../src/errors.js";
import { DEFAULTS, parseServeArgs } from "../../src/server/options.js";

describe("serve: options", () => {
  it("batching and inline defaults, and the flags that change them", () => {
    const defaults = parseServeArgs(["m.keras"], {});
    assert.deepEqual(
      [defaults.maxBatchRows, defaults.batchWindowMs, defaults.batchWaitWhenIdle, defaults.inlineBelowMs],
      [64, 1, false, 0.1],
    );
    const given = parseServeArgs(
      ["m.keras", "--no-batching", "--batch-wait-when-idle", "--batch-window-ms", "5", "--inline-below-ms", "0"],
      {},
    );
    assert.deepEqual(
      [given.maxBatchRows, given.batchWindowMs, given.batchWaitWhenIdle, given.inlineBelowMs],
      [1, 5, true, 0],
    );
    assert.equal(DEFAULTS.inlineBelowMs, 0.1);
  });

  it("an inline threshold out of range is refused, naming the option", () => {
    for (const bad of ["-1", "abc", "5000"])
      assert.throws(
        () => parseServeArgs(["m.keras", "--inline-below-ms", bad], {}),
        (e: unknown) => e instanceof KeraslessError && /inlineBelowMs must be from 0 to 1000/.test(e.message),
      );
  });
});
