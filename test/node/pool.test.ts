/**
 * loadModelPool: predict() split over worker threads gives model.predict()'s outputs bit for bit
 * (and so Keras' numbers), for uneven shards, several inputs and outputs, masks and int32 inputs,
 * on both kernel paths; small batches and stateful models stay on the calling thread; errors.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadWorkloads } from "../../bench/lib/spec.js";
import {
  KeraslessError,
  Tensor,
  kernelPath,
  loadModel,
  loadModelPool,
  setKernelPath,
  setKernelThreads,
  type ModelPool,
} from "../../src/node.js";
import { kernelTeamInternals } from "../../src/node/kernel-threads.js";
import { assertClose, assertSameBits, listFixtures, type Fixture } from "../helpers.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const workloads = loadWorkloads();

const fixture = (id: string): Fixture => {
  const found = listFixtures("keras3").find((f) => f.id === `keras3/${id}`);
  assert.ok(found, `fixture keras3/${id}`);
  return found;
};
const fixtureInputs = (f: Fixture) =>
  f.inputs.map((t) => ({
    shape: t.shape,
    data: t.dtype === "int32" ? Int32Array.from(t.data) : Float32Array.from(t.data),
  }));

/** The first `rows` rows of a benchmark workload's input, and Keras' outputs for them. */
function workloadRows(id: string, rows: number) {
  const w = workloads.find((x) => x.id === id)!;
  const [, steps, features] = w.inputShape;
  const rowOut = w.expectedShape.slice(1).reduce((a, b) => a * b, 1);
  return {
    file: join(ROOT, "bench", w.model.keras),
    input: { shape: [rows, steps, features], data: w.input.slice(0, rows * steps * features) },
    keras: {
      shape: [rows, ...w.expectedShape.slice(1)],
      dtype: "float32" as const,
      data: Array.from(w.expected.subarray(0, rows * rowOut)),
    },
  };
}

const pools: ModelPool[] = [];
async function open(source: string, options: Parameters<typeof loadModelPool>[1]): Promise<ModelPool> {
  const pool = await loadModelPool(source, options);
  pools.push(pool);
  return pool;
}
after(() => Promise.all(pools.map((p) => p.close())));

/** A pool thread's Worker (tests only: to stand in for a crash). */
const workerOf = (pool: ModelPool, k: number) =>
  (pool as unknown as { workers: { worker: import("node:worker_threads").Worker }[] }).workers[k].worker;

for (const path of ["wasm", "js"] as const) {
  describe(`kernel path ${path}`, () => {
    const previous = kernelPath();
    const withPath = async <T>(run: () => Promise<T>): Promise<T> => {
      setKernelPath(path);
      try {
        return await run();
      } finally {
        setKernelPath(previous);
      }
    };

    for (const [id, model] of [
      ["W3", "lstm128"],
      ["W4", "gru64x2"],
    ] as const) {
      test(`${model}.keras: 37 rows over 3 threads (13 + 12 + 12) equal model.predict bit for bit, and Keras`, () =>
        withPath(async () => {
          const { file, input, keras } = workloadRows(id, 37);
          const pool = await open(file, { threads: 3, inlineBelowMs: 0 });
          assert.equal(pool.threads, 3);
          const want = pool.model.predict(input);
          const got = await pool.predict(input);
          assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 1, retriedCalls: 0 });
          assertSameBits(got, want, model);
          assertClose(got[0], keras, `${model} pool vs Keras`);
          // Nested arrays are split the same way.
          const nested = new Tensor(input.shape, input.data).toArray();
          assertSameBits(await pool.predict(nested), want, `${model} (nested arrays)`);
        }));
    }

    test("the workers use the calling thread's kernel path", () =>
      withPath(async () => {
        // On lstm128 the two paths round differently, so a worker on the other path would show.
        const { file, input } = workloadRows("W3", 8);
        const pool = await open(file, { threads: 2, inlineBelowMs: 0 });
        const mine = pool.model.predict(input);
        setKernelPath(path === "wasm" ? "js" : "wasm");
        const other = (await loadModel(file)).predict(input);
        setKernelPath(path);
        assert.notDeepEqual(
          Array.from(other[0].data),
          Array.from(mine[0].data),
          "the kernel paths give different bits on this model",
        );
        assertSameBits(await pool.predict(input), mine, "pool");
      }));

    for (const id of ["multi_io", "seq2seq_lstm", "masking_lstm", "embedding_mask_zero", "masking_bidir"]) {
      test(`fixture ${id}: split one row per thread, as model.predict and Keras`, () =>
        withPath(async () => {
          const f = fixture(id);
          const pool = await open(join(f.dir, "model.keras"), { threads: 3, inlineBelowMs: 0 });
          const inputs = fixtureInputs(f);
          const got = await pool.predict(inputs);
          assertSameBits(got, pool.model.predict(inputs), id);
          f.outputs.forEach((expected, i) => assertClose(got[i], expected, `${id} output #${i}`));
          // Again: the workers' outputs were moved out, and nothing a model keeps went with them.
          assertSameBits(await pool.predict(inputs), got, `${id} (second call)`);
          assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 2, retriedCalls: 0 });
          if (inputs.length > 1) {
            // A record keyed by input name works as for model.predict.
            const record = Object.fromEntries(pool.model.inputs.map((info, i) => [info.name, inputs[i]]));
            assertSameBits(await pool.predict(record), got, `${id} (record)`);
          }
        }));
    }
  });
}

describe("what runs on the calling thread", () => {
  test("a batch of one row, and any batch when inlineBelowMs is Infinity", async () => {
    const { file, input, keras } = workloadRows("W3", 4);
    const pool = await open(file, { threads: 2, inlineBelowMs: Infinity });
    const one = workloadRows("W3", 1);
    assertClose((await pool.predict(one.input))[0], one.keras, "one row");
    assertClose((await pool.predict(input))[0], keras, "four rows");
    assert.deepEqual(pool.stats, { inlineCalls: 2, splitCalls: 0, retriedCalls: 0 });
  });

  test("a model with one thread is model.predict", async () => {
    const f = fixture("multi_io");
    const pool = await open(join(f.dir, "model.keras"), { threads: 1, inlineBelowMs: 0 });
    assert.equal(pool.threads, 1);
    const got = await pool.predict(fixtureInputs(f));
    f.outputs.forEach((expected, i) => assertClose(got[i], expected, `output #${i}`));
    assert.deepEqual(pool.stats, { inlineCalls: 1, splitCalls: 0, retriedCalls: 0 });
  });

  test("a stateful model runs whole on the calling thread, keeping its states between calls as in Keras", async () => {
    const f = fixture("stateful_lstm");
    const pool = await open(join(f.dir, "model.keras"), { threads: 3, inlineBelowMs: 0 });
    for (let round = 0; round < 2; round++) {
      for (const [c, chunk] of f.chunks.entries()) {
        const got = await pool.predict(chunk.inputs.map((t) => ({ shape: t.shape, data: Float32Array.from(t.data) })));
        chunk.outputs.forEach((expected, i) =>
          assertClose(got[i], expected, `round ${round} chunk #${c} output #${i}`),
        );
      }
      pool.model.resetStates();
    }
    assert.deepEqual(pool.stats, { inlineCalls: 2 * f.chunks.length, splitCalls: 0, retriedCalls: 0 });
  });
});

describe("with kernel threads (setKernelThreads)", () => {
  test("the calling thread's shard may use kernel threads; the outputs stay model.predict's bits", async () => {
    const previous = kernelPath();
    setKernelPath("wasm");
    const { file, input, keras } = workloadRows("W3", 37);
    const single = (await loadModel(file)).predict(input);
    await setKernelThreads(2);
    try {
      const pool = await open(file, { threads: 2, inlineBelowMs: 0 });
      const got = await pool.predict(input);
      assert.ok(kernelTeamInternals()!.jobs > 0, "the calling thread's shard ran on the kernel threads");
      assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 1, retriedCalls: 0 });
      assertSameBits(got, single, "pool with kernel threads");
      assertClose(got[0], keras, "vs Keras");
    } finally {
      await setKernelThreads(1);
      setKernelPath(previous);
    }
  });
});

describe("concurrency", () => {
  test("calls made at once each get their own rows back", async () => {
    const pool = await open(join(ROOT, "bench/models/gru64x2.keras"), { threads: 3, inlineBelowMs: 0 });
    const batches = [37, 5, 12, 3].map((rows, k) => {
      const w = workloadRows("W4", 64);
      const [, steps, features] = w.input.shape;
      const size = steps * features;
      return { shape: [rows, steps, features], data: w.input.data.slice(k * size, (k + rows) * size) };
    });
    const results = await Promise.all(batches.map((b) => pool.predict(b)));
    results.forEach((got, k) => assertSameBits(got, pool.model.predict(batches[k]), `call ${k}`));
    assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 4, retriedCalls: 0 });
  });
});

describe("errors", () => {
  test("input problems are model.predict's KeraslessErrors, found before any shard is sent", async () => {
    const f = fixture("multi_io");
    const pool = await open(join(f.dir, "model.keras"), { threads: 2, inlineBelowMs: 0 });
    const [seq, vec] = fixtureInputs(f);
    const badShape = [{ shape: [3, 5, 4], data: new Float32Array(60) }, vec];
    const plain = (() => {
      try {
        pool.model.predict(badShape);
      } catch (e) {
        return e as KeraslessError;
      }
      assert.fail("model.predict accepted a wrong shape");
    })();
    await assert.rejects(
      pool.predict(badShape),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT_SHAPE" && e.message === plain.message,
    );
    await assert.rejects(
      pool.predict([seq, { shape: [2, 2], data: new Float32Array(4) }]),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT_SHAPE",
    );
    await assert.rejects(
      pool.predict({ nope: seq }),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT",
    );
    assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 0, retriedCalls: 0 });
  });

  test("a value problem found inside a shard is reported as model.predict reports it for the whole batch", async () => {
    const f = fixture("embedding_mask_zero");
    const pool = await open(join(f.dir, "model.keras"), { threads: 2, inlineBelowMs: 0 });
    const [tokens] = fixtureInputs(f);
    const data = Int32Array.from(tokens.data);
    data[data.length - 1] = 1_000_000; // in the last row: the calling thread's shard
    const inWorkerShard = Int32Array.from(tokens.data);
    inWorkerShard[1] = 1_000_000; // in the first row: the worker's shard
    for (const bad of [data, inWorkerShard]) {
      const input = { shape: tokens.shape, data: bad };
      const plain = (() => {
        try {
          pool.model.predict(input);
        } catch (e) {
          return e as KeraslessError;
        }
        assert.fail("model.predict accepted a token outside the vocabulary");
      })();
      assert.equal(plain.code, "E_INPUT_VALUE");
      await assert.rejects(
        pool.predict(input),
        (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT_VALUE" && e.message === plain.message,
      );
    }
    assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 2, retriedCalls: 2 });
  });

  test("options: threads and inlineBelowMs", async () => {
    const file = join(ROOT, "bench/models/seed.keras");
    for (const threads of [0, 1.5, -1, Number.NaN]) {
      await assert.rejects(
        loadModelPool(file, { threads }),
        (e: unknown) =>
          e instanceof KeraslessError && e.code === "E_INPUT" && /threads must be a positive integer/.test(e.message),
      );
    }
    await assert.rejects(
      loadModelPool(file, { inlineBelowMs: -1 }),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_INPUT",
    );
    await assert.rejects(
      loadModelPool(join(ROOT, "no-such-model.keras"), { threads: 2 }),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_IO",
    );
  });

  test("a file loadModel refuses, loadModelPool refuses with the same error (and its threads end)", async () => {
    const garbage = new TextEncoder().encode("not a model at all");
    const plain = await loadModel(garbage).then(
      () => assert.fail("loadModel accepted garbage"),
      (e: unknown) => e as KeraslessError,
    );
    await assert.rejects(
      loadModelPool(garbage, { threads: 3 }),
      (e: unknown) => e instanceof KeraslessError && e.code === plain.code && e.message === plain.message,
    );
  });

  test("a closed pool refuses predict with E_POOL", async () => {
    const pool = await loadModelPool(join(ROOT, "bench/models/seed.keras"), { threads: 2 });
    await pool.close();
    assert.equal(pool.threads, 0);
    await assert.rejects(
      pool.predict([
        [
          [0, 1, 0],
          [0, 1, 0],
          [0, 1, 0],
          [0, 1, 0],
        ],
      ]),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_POOL" && /closed/.test(e.message),
    );
    await pool.close(); // closing twice is harmless
  });

  test("close() fails the calls whose shards are still running with E_POOL", async () => {
    const { file, input } = workloadRows("W3", 4);
    const pool = await loadModelPool(file, { threads: 2, inlineBelowMs: 0 });
    const worker = workerOf(pool, 0);
    worker.postMessage = () => undefined; // the shard stays "running" until close()
    const call = pool.predict(input);
    await pool.close();
    await assert.rejects(
      call,
      (e: unknown) =>
        e instanceof KeraslessError && e.code === "E_POOL" && /closed while predict\(\) was running/.test(e.message),
    );
  });

  test("a worker dying with a shard fails that call with E_POOL; the pool goes on with the threads left", async () => {
    const { file, input, keras } = workloadRows("W3", 9);
    const pool = await open(file, { threads: 3, inlineBelowMs: 0 });
    const worker = workerOf(pool, 0);
    // The shard is never delivered: the worker is terminated instead, as a crash would end it.
    worker.postMessage = () => void worker.terminate();
    await assert.rejects(
      pool.predict(input),
      (e: unknown) =>
        e instanceof KeraslessError &&
        e.code === "E_POOL" &&
        /worker thread 1 of the model pool exited/.test(e.message),
    );
    assert.equal(pool.threads, 2);
    const got = await pool.predict(input);
    assertClose(got[0], keras, "after the crash");
    assert.deepEqual(pool.stats, { inlineCalls: 0, splitCalls: 2, retriedCalls: 0 });
  });

  test("an uncaught error in a worker is named in the E_POOL error", async () => {
    const { file, input } = workloadRows("W3", 4);
    const pool = await open(file, { threads: 2, inlineBelowMs: 0 });
    const worker = workerOf(pool, 0);
    const post = worker.postMessage.bind(worker);
    // A message the worker cannot handle, queued before the shard: the worker throws and exits.
    worker.postMessage = (job: unknown, transfer?: readonly import("node:worker_threads").TransferListItem[]) => {
      post(null);
      post(job, transfer);
    };
    await assert.rejects(
      pool.predict(input),
      (e: unknown) =>
        e instanceof KeraslessError &&
        e.code === "E_POOL" &&
        /worker thread 1 of the model pool failed: .*null/.test(e.message),
    );
    assert.equal(pool.threads, 1);
    assert.equal((await pool.predict(input))[0].shape[0], 4);
  });
});

test("dist/node.js starts its workers from dist/node/pool-worker.js, even under node --input-type=module -e", (t) => {
  if (!existsSync(join(ROOT, "dist/node/pool-worker.js"))) {
    t.skip("dist/ is not built with the pool: run `npm run build`");
    return;
  }
  const { input, keras } = workloadRows("W3", 5);
  const script = `
    import { loadModelPool } from "./dist/node.js";
    const pool = await loadModelPool("bench/models/lstm128.keras", { threads: 2, inlineBelowMs: 0 });
    const input = ${JSON.stringify({ shape: input.shape, data: Array.from(input.data) })};
    const [y] = await pool.predict(input);
    const same = pool.model.predict(input)[0].data.every((v, i) => Object.is(v, y.data[i]));
    console.log(JSON.stringify({ data: Array.from(y.data), same, stats: pool.stats }));
  `;
  // No tsx here: plain Node, as users run the package. The pool is not closed: idle workers do
  // not keep the process alive, so it exits (or spawnSync times out).
  // --expose-gc: a V8 flag, which Node refuses in a worker's execArgv.
  const run = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { data: number[]; same: boolean; stats: unknown };
  assert.equal(out.same, true);
  assert.deepEqual(out.stats, { inlineCalls: 0, splitCalls: 1, retriedCalls: 0 });
  assertClose(new Tensor([5, 1], Float32Array.from(out.data)), keras, "dist pool vs Keras");
});
