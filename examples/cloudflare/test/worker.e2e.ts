/**
 * The Cloudflare example in workerd, the Workers runtime, not in Node (`npm run test:workers`,
 * after `npm ci --prefix examples/cloudflare`; CI runs it from .ci/run). The Worker is bundled by
 * `wrangler deploy --dry-run --outdir`, the very files a deploy would upload, and `wrangler dev`
 * runs those files (unbundled again) in workerd, with the Durable Object binding of
 * wrangler.jsonc and the objects' storage on disk. Checked: the model runs on the WebAssembly
 * kernels (workerd refuses to compile WebAssembly from bytes; the kernels come in as a `.wasm`
 * module), predictions and streams give Keras' numbers, a stream resumes with identical outputs
 * after workerd is killed mid-sequence and started again, and the upload fits the Workers free
 * plan's size limit.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { assertClose, type FixtureTensor } from "../../../test/helpers.js";
import { Tensor } from "../../../src/tensor.js";

const EXAMPLE = new URL("../", import.meta.url).pathname;
const WRANGLER = join(EXAMPLE, "node_modules/wrangler/bin/wrangler.js");
/** The Workers size limits, compressed: 3 MiB on the free plan, 10 MiB on the paid plans. */
const FREE_PLAN_LIMIT = 3 * 1024 * 1024;
/** No telemetry, and no fetch of the `Request.cf` data from Cloudflare (this machine reaches no network). */
const QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "true" };

interface Output {
  name: string;
  shape: number[];
  data: number[];
}

/** The fields the example's answers have (each answer has some of them). */
interface Answer {
  error: string;
  code: string;
  kernels: { path: string; layers: { layer: string; backend: string }[] };
  outputs: Output[];
  steps: number;
  resumedAt: number | null;
}

/** Keras' predictions of the seed windows (examples/seed/io.json) and its stream reference (keras-stream.json). */
const seed = JSON.parse(readFileSync(join(EXAMPLE, "../seed/io.json"), "utf8")) as {
  inputs: FixtureTensor[];
  outputs: FixtureTensor[];
};
const kerasStream = JSON.parse(readFileSync(join(EXAMPLE, "test/keras-stream.json"), "utf8")) as {
  inputs: { shape: number[]; data: number[] };
  outputs: { shape: number[]; data: number[] };
};

/** Nested [batch][time][features] from a flat tensor. */
function nested({ shape, data }: { shape: number[]; data: number[] }): number[][][] {
  const [batch, time, features] = shape;
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: time }, (_, t) => data.slice((b * time + t) * features, (b * time + t + 1) * features)),
  );
}

/** Steps from..to of the stream reference's inputs, as a request body. */
function steps(from: number, to: number): string {
  return JSON.stringify({ inputs: nested(kerasStream.inputs).map((row) => row.slice(from, to)) });
}

function checkKeras(got: Output, expected: FixtureTensor, what: string): void {
  assertClose(new Tensor(got.shape, Float32Array.from(got.data)), expected, what);
}

describe("examples/cloudflare in workerd", { timeout: 300_000 }, () => {
  let work: string;
  let bundle: string;
  let wranglerReport: string;
  /** The files of the upload: the Worker and its modules (not the source map nor wrangler's README). */
  let uploaded: string[];
  let runtime: { process: ChildProcess; url: string; log: string[] } | undefined;

  /** `wrangler dev` on the uploaded files; resolves once workerd serves them. */
  const start = async (): Promise<void> => {
    const [port, inspector] = [await freePort(), await freePort()];
    const args = [WRANGLER, "dev", "--config", join(bundle, "wrangler.json"), "--persist-to", join(work, "storage")];
    const where = ["--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector)];
    const child = spawn(process.execPath, [...args, ...where, "--show-interactive-dev-session=false"], {
      cwd: EXAMPLE,
      env: { ...process.env, ...QUIET },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: workerd goes with it when it is killed
    });
    const log: string[] = [];
    runtime = { process: child, url: `http://127.0.0.1:${port}`, log };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`wrangler dev did not start:\n${log.join("")}`)), 120_000);
      const read = (chunk: Buffer): void => {
        log.push(chunk.toString());
        if (/Ready on http/.test(log.join(""))) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", read);
      child.stderr!.on("data", read);
      child.on("exit", (code) => reject(new Error(`wrangler dev exited (${code}):\n${log.join("")}`)));
    });
  };
  /** Kills wrangler and workerd at once (no shutdown: as a crash would), and waits until they are gone. */
  const kill = async (): Promise<void> => {
    const child = runtime?.process;
    runtime = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(-child.pid!, "SIGKILL");
    await exited;
  };
  const call = async (
    path: string,
    init?: { method: string; body?: string },
  ): Promise<{ status: number; body: Answer }> => {
    const response = await fetch(`${runtime!.url}${path}`, init);
    return { status: response.status, body: (await response.json()) as Answer };
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "kerasless-workers-"));
    bundle = join(work, "bundle");
    const dryRun = spawnSync(process.execPath, [WRANGLER, "deploy", "--dry-run", "--outdir", bundle], {
      cwd: EXAMPLE,
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, ...QUIET },
    });
    wranglerReport = `${dryRun.stdout}\n${dryRun.stderr}`;
    assert.equal(dryRun.status, 0, `wrangler deploy --dry-run failed:\n${wranglerReport}`);
    uploaded = readdirSync(bundle).filter((f) => !/\.(?:map|md)$/.test(f));
    // The example's configuration, for the bundled files as they are (wrangler's default rules
    // make the .wasm file a compiled module, the example's own the model a Data module).
    const jsonc = readFileSync(join(EXAMPLE, "wrangler.jsonc"), "utf8");
    const config = JSON.parse(jsonc.replace(/^\s*\/\/.*$/gm, "").replace(/,(\s*[}\]])/g, "$1"));
    delete config.$schema;
    writeFileSync(join(bundle, "wrangler.json"), JSON.stringify({ ...config, main: "index.js", no_bundle: true }));
    await start();
  });

  after(async () => {
    await kill();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  test("the model runs on the WebAssembly kernels, not the TypeScript fallback", async () => {
    const { status, body } = await call("/");
    assert.equal(status, 200);
    assert.equal(body.kernels.path, "wasm");
    // The LSTM's whole step runs in WebAssembly (not "typescript": the fallback without the module).
    // The Dense(1) head runs in TypeScript by plan, in Node as here: its 3x1 weights are too small to
    // pay for the copies into WebAssembly memory (kernelPlans() says so).
    assert.deepEqual(body.kernels.layers, [
      { layer: "lstm", backend: "wasm-simd fused" },
      { layer: "dense", backend: "typescript" },
    ]);
  });

  test("POST /predict gives Keras' predictions of the seed windows", async () => {
    const { status, body } = await call("/predict", {
      method: "POST",
      body: JSON.stringify({ inputs: nested(seed.inputs[0]) }),
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.outputs.length, 1);
    checkKeras(body.outputs[0], seed.outputs[0], "predict");
    assert.equal(body.kernels.path, "wasm");
  });

  test("a request the model refuses is a 400 naming the problem", async () => {
    const { status, body } = await call("/predict", { method: "POST", body: JSON.stringify({ inputs: [[[1, 2]]] }) });
    assert.equal(status, 400);
    assert.equal(body.code, "E_INPUT_SHAPE");
  });

  test("a stream request the model refuses takes none of its steps", async () => {
    const good = nested(kerasStream.inputs).map((row) => row.slice(0, 2));
    const refused = good.map((row) => [row[0], [...row[1], 7]]); // the second step has 4 features, not 3
    const answer = await call("/streams/refused/step", { method: "POST", body: JSON.stringify({ inputs: refused }) });
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.code, "E_INPUT_SHAPE");
    assert.equal((await call("/streams/refused")).body.steps, 0);
    const again = await call("/streams/refused/step", { method: "POST", body: JSON.stringify({ inputs: good }) });
    assert.equal(again.body.steps, 2);
    const reference = await call("/streams/reference/step", { method: "POST", body: steps(0, 2) });
    assert.deepEqual(again.body.outputs, reference.body.outputs);
  });

  test("a stream resumes with identical outputs after workerd restarts mid-sequence, and equals Keras'", async () => {
    const [, time] = kerasStream.inputs.shape;
    const cut = 4;
    // Uninterrupted: all steps, in three requests.
    const whole: Output[] = [];
    for (const [from, to] of [
      [0, 3],
      [3, 7],
      [7, time],
    ]) {
      const { status, body } = await call("/streams/uninterrupted/step", { method: "POST", body: steps(from, to) });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.resumedAt, null);
      whole.push(body.outputs[0]);
    }
    // Interrupted: the first steps, then workerd stops (every object with it) and starts again.
    const first = await call("/streams/restarted/step", { method: "POST", body: steps(0, cut) });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await kill();
    await start();
    const status = await call("/streams/restarted");
    assert.deepEqual({ steps: status.body.steps, resumedAt: status.body.resumedAt }, { steps: cut, resumedAt: cut });
    const rest = await call("/streams/restarted/step", { method: "POST", body: steps(cut, time) });
    assert.equal(rest.status, 200, JSON.stringify(rest.body));
    assert.equal(rest.body.resumedAt, cut, "the new object resumed from its storage");
    assert.equal(rest.body.steps, time);

    // [batch][steps · outputs per step] of the requests' outputs [batch, steps, ...], joined along time.
    const alongTime = (parts: Output[]): number[][] =>
      Array.from({ length: parts[0].shape[0] }, (_, b) =>
        parts.flatMap((p) => {
          const row = p.data.length / p.shape[0];
          return p.data.slice(b * row, (b + 1) * row);
        }),
      );
    const uninterrupted = alongTime(whole);
    assert.deepEqual(alongTime([first.body.outputs[0], rest.body.outputs[0]]), uninterrupted, "bit for bit");
    const flat = uninterrupted.flat();
    checkKeras(
      { name: "dense", shape: kerasStream.outputs.shape, data: flat },
      { ...kerasStream.outputs, dtype: "float32" },
      "stream",
    );
  });

  test("the upload fits the Workers free plan's 3 MiB (compressed)", () => {
    const files = uploaded;
    const gzip = files.reduce((sum, f) => sum + gzipSync(readFileSync(join(bundle, f)), { level: 9 }).length, 0);
    const raw = files.reduce((sum, f) => sum + readFileSync(join(bundle, f)).length, 0);
    const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(wranglerReport);
    assert.ok(reported !== null, `wrangler reported no upload size:\n${wranglerReport}`);
    const wranglerGzip = Number(reported[2]) * 1024;
    console.log(
      `upload: ${files.join(", ")}; ${(raw / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzip ` +
        `(wrangler: ${reported[1]} KiB, gzip ${reported[2]} KiB); free plan limit 3 MiB, paid 10 MiB`,
    );
    assert.ok(wranglerGzip < FREE_PLAN_LIMIT && gzip < FREE_PLAN_LIMIT);
  });
});

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
