/**
 * Load test of `kerasless serve` on loopback with autocannon: requests/s and p50/p99 latency for
 * the seed model (W1's input) and the LSTM(128) model (W2's input), one row per request, at
 * concurrency 1, 16, 64 and 256, with dynamic batching (1 ms window, 64 rows) and without.
 * Each server runs in its own process; /v2/health/live is probed during every run, and the server
 * process' CPU time per request (all its threads, from /proc) is recorded: on a shared machine it
 * varies less than requests/s.
 *
 *   node --import tsx bench/serve-load.ts [--protocol v1|v2-binary] [--seconds 5] [--repeats 3] [--out FILE]
 */
import autocannon from "autocannon";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { benchPath, compareWithKeras, loadWorkloads } from "./lib/spec.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    repeats: { type: "string", default: "3" },
    out: { type: "string", default: benchPath("results/serve.json") },
    concurrency: { type: "string", default: "1,16,64,256" },
    /** v1: TF Serving JSON rows; v2-binary: Open Inference Protocol with the tensor as raw FP32 bytes. */
    protocol: { type: "string", default: "v1" },
  },
});
const SECONDS = Number(args.seconds);
const REPEATS = Number(args.repeats);
const CONCURRENCY = args.concurrency.split(",").map(Number);
const CLI = new URL("../src/cli/run.ts", import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  url: string;
}

async function startServer(model: string, batching: boolean): Promise<Started> {
  const flags = batching ? ["--batch-window-ms", "1", "--max-batch-rows", "64"] : ["--no-batching"];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "serve", model, "--port", "0", "--max-queue", "4096", ...flags],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  // Info-level logs are startup and shutdown only (requests are logged at debug).
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the server exited with code ${code}`)));
    lines.on("line", (line) => {
      const record = JSON.parse(line) as { msg?: string; url?: string };
      if (record.msg === "listening") resolve(String(record.url));
    });
  });
  return { child, url };
}

/** CPU time (user + system, all threads) the process has used, in ms, from /proc/PID/stat. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command), in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface RunResult {
  cpuMsPerRequest: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  healthP99Ms: number;
}

/** One autocannon run, with /v2/health/live probed every 50 ms on its own connection meanwhile. */
interface LoadRequest {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
}

async function run(server: Started, { path, body, headers }: LoadRequest, connections: number): Promise<RunResult> {
  const url = server.url;
  const cpuBefore = cpuMs(server.child.pid!);
  const health: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const start = performance.now();
      await fetch(`${url}/v2/health/live`).then((r) => r.arrayBuffer());
      health.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const result = await autocannon({
    url: `${url}${path}`,
    method: "POST",
    headers,
    body,
    connections,
    duration: SECONDS,
  });
  probing = false;
  await probe;
  const cpu = cpuMs(server.child.pid!) - cpuBefore;
  health.sort((a, b) => a - b);
  return {
    cpuMsPerRequest: cpu / Math.max(1, result.requests.total),
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    healthP99Ms: health[Math.min(health.length - 1, Math.floor(health.length * 0.99))] ?? NaN,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const workloads = loadWorkloads();
const cases = [
  { label: "seed", workload: workloads.find((w) => w.id === "W1")! },
  { label: "lstm128", workload: workloads.find((w) => w.id === "W2")! },
];
const rows: Record<string, unknown>[] = [];

/** One row as the protocol sends it. */
function requestFor(model: string, instance: number[][], values: Float32Array, shape: number[]): LoadRequest {
  if (args.protocol === "v1") {
    return {
      path: `/v1/models/${model}:predict`,
      body: Buffer.from(JSON.stringify({ instances: [instance] })),
      headers: { "content-type": "application/json" },
    };
  }
  if (args.protocol !== "v2-binary") throw new Error(`--protocol is v1 or v2-binary, not ${args.protocol}`);
  const bytes = Buffer.from(values.slice().buffer);
  const input = { name: inputName(model), shape, datatype: "FP32", parameters: { binary_data_size: bytes.length } };
  const header = Buffer.from(JSON.stringify({ inputs: [input] }));
  return {
    path: `/v2/models/${model}/infer`,
    body: Buffer.concat([header, bytes]),
    headers: { "inference-header-content-length": String(header.length) },
  };
}

/** The benchmark models' input names (bench/models/*.keras). */
const inputName = (model: string): string => (model === "seed" ? "input_layer" : "x");
for (const { label, workload } of cases) {
  const [, steps, features] = workload.inputShape;
  const instance = Array.from({ length: steps }, (_, t) =>
    Array.from(workload.input.subarray(t * features, (t + 1) * features)),
  );
  const req = requestFor(label, instance, workload.input.subarray(0, steps * features), [1, steps, features]);
  for (const batching of [false, true]) {
    const server = await startServer(`${label}=${benchPath(workload.model.keras)}`, batching);
    try {
      // Parity first: the served numbers are Keras' (bench/references.json).
      const res = await fetch(`${server.url}${req.path}`, {
        method: "POST",
        body: new Uint8Array(req.body),
        headers: req.headers,
      });
      const reply = (await res.json()) as { predictions?: number[][]; outputs?: { data: number[] }[] };
      const served = reply.predictions?.flat() ?? reply.outputs![0].data;
      const check = compareWithKeras(served, workload.expected);
      if (!check.ok) throw new Error(`${label}: the served output is not Keras' (${check.problem})`);
      await run(server, req, 16); // warm-up, not recorded
      for (const connections of CONCURRENCY) {
        const runs: RunResult[] = [];
        for (let r = 0; r < REPEATS; r++) runs.push(await run(server, req, connections));
        const pick = (key: keyof RunResult) => ({
          median: median(runs.map((x) => x[key])),
          min: Math.min(...runs.map((x) => x[key])),
          max: Math.max(...runs.map((x) => x[key])),
        });
        const row = {
          protocol: args.protocol,
          model: label,
          batching,
          connections,
          requestsPerSecond: pick("requestsPerSecond"),
          p50Ms: pick("p50Ms"),
          p99Ms: pick("p99Ms"),
          healthP99Ms: pick("healthP99Ms"),
          cpuMsPerRequest: pick("cpuMsPerRequest"),
          errors: runs.reduce((n, x) => n + x.errors + x.non2xx, 0),
        };
        rows.push(row);
        process.stdout.write(
          `${args.protocol} ${label.padEnd(8)} batching=${String(batching).padEnd(5)} ` +
            `c=${String(connections).padEnd(4)} ` +
            `${row.requestsPerSecond.median.toFixed(0)} req/s (${row.requestsPerSecond.min.toFixed(0)}-` +
            `${row.requestsPerSecond.max.toFixed(0)})  p50 ${row.p50Ms.median} ms  p99 ${row.p99Ms.median} ms  ` +
            `health p99 ${row.healthP99Ms.median.toFixed(2)} ms  ` +
            `cpu ${row.cpuMsPerRequest.median.toFixed(3)} ms/req  ` +
            `errors ${row.errors}\n`,
        );
      }
    } finally {
      server.child.kill("SIGTERM");
      await new Promise((r) => server.child.once("exit", r));
    }
  }
}
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(
  args.out,
  JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, repeats: REPEATS, rows }, null, 1),
);
process.stdout.write(`results in ${args.out}\n`);
