/**
 * The benchmark's JSON contract on a tiny run (W1 only, kerasless and one Python contender).
 * Times are not asserted: speed claims come from full side-by-side runs (docs/benchmarks.md).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("npm run bench -- --quick --json FILE: workloads with per-contender timings or skip reasons", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-test-"));
  try {
    const file = join(dir, "out.json");
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/run.ts",
        "--quick",
        "--json",
        file,
        "--contenders",
        "kerasless,numpy-seed",
        "--workloads",
        "W1",
      ],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(readFileSync(file, "utf8")) as {
      workloads: { id: string; results: Record<string, Record<string, unknown>> }[];
    };
    assert.deepEqual(
      report.workloads.map((w) => w.id),
      ["W1"],
    );
    const { results } = report.workloads[0];
    assert.deepEqual(Object.keys(results), ["kerasless", "numpy-seed"]);
    const kerasless = results.kerasless;
    assert.equal(typeof kerasless.median_ms, "number");
    assert.equal(typeof kerasless.min_ms, "number");
    assert.ok((kerasless.min_ms as number) > 0 && (kerasless.min_ms as number) <= (kerasless.median_ms as number));
    assert.equal(kerasless.vs_kerasless, 1);
    // numpy-seed runs where a Python with numpy + h5py is found, and says why not otherwise.
    const numpy = results["numpy-seed"];
    if ("skipped" in numpy) assert.match(numpy.skipped as string, /no Python with numpy \+ h5py/);
    else
      assert.ok(
        (numpy.min_ms as number) > 0 && (numpy.min_ms as number) <= (numpy.median_ms as number),
        JSON.stringify(numpy),
      );
    // The markdown table goes to stdout.
    assert.match(run.stdout, /\| kerasless \| .* µs \(×1\.00\) \|/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
