/**
 * Load test of `kerasless serve` on loopback with autocannon: requests/s and p50/p99 latency for
 * the seed model (W1's input) and the LSTM(128) model (W2's input), one row per request, at
 * concurrency 1, 16, 64 and 256, with dynamic batching (the defaults) and without (--no-batching).
 *
 * The four servers (two models, batching on and off) run at once, each in a process of its own,
 * and the runs go round them in turn (every concurrency, then the next repeat), so a change in the
 * machine's load touches all four alike. Each server's output is checked against Keras' first.
 * During every run /v2/health/live is probed every 50 ms, and the server process' CPU time per
 * request (all its threads, from /proc) and the mean rows per batch (from /metrics) are recorded.
 * The table for docs/serving.md and the issue's targets (met or not) are printed and written to
 * bench/results/serve.md (JSON: bench/results/serve.json).
 *
 * The servers run the built package: `npm run build` first.
 *
 *   npm run bench:serve -- [--protocol v1|v2-binary] [--seconds 3] [--repeats 3] [--concurrency 1,16,64,256]
 *                          [--models seed,lstm128] [--cpu-prof DIR] [--server-args="--threads 1"]
 */
import autocannon from "autocannon";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { FLOOR, markdownTable, targets, type Row } from "./lib/serve-report.js";
import { benchPath, compareWithKeras, loadWorkloads } from "./lib/spec.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    repeats: { type: "string", default: "3" },
    out: { type: "string", default: benchPath("results/serve.json") },
    concurrency: { type: "string", default: "1,16,64,256" },
    models: { type: "string", default: "seed,lstm128" },
    /** v1: TF Serving JSON rows; v2-binary: Open Inference Protocol with the tensor as raw FP32 bytes. */
    protocol: { type: "string", default: "v1" },
    /** Writes each server's CPU profile (node --cpu-prof) into this directory when it exits. */
    "cpu-prof": { type: "string" },
    /** More options for every `kerasless serve`, space-separated (e.g. "--threads 1"). */
    "server-args": { type: "string", default: "" },
    /** Also runs each server from this other build's bin/kerasless.js (labelled MODEL@baseline), side by side. */
    "baseline-cli": { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const REPEATS = Number(args.repeats);
const CONCURRENCY = args.concurrency.split(",").map(Number);
/**
 * The servers run the built package (bin/kerasless.js, dist/), as users run it: from the sources,
 * tsx's helpers add a call to every closure created per request (measured: about 2% of the event
 * loop's busy time on the seed model).
 */
const CLI = new URL("../bin/kerasless.js", import.meta.url).pathname;

/** dist/ must be built from the current sources. */
function checkBuilt(): void {
  const built = new URL("../dist/server/server.js", import.meta.url);
  const sources = new URL("../src/server/", import.meta.url);
  const newest = Math.max(...readdirSync(sources).map((f) => statSync(new URL(f, sources)).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newest)
    throw new Error("dist/ is older than src/server/: run npm run build first");
}

interface Server {
  label: string;
  model: string;
  batching: boolean;
  child: ChildProcess;
  url: string;
  request: LoadRequest;
}

interface LoadRequest {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
}

/**
 * The floor: a node:http server that reads and parses the same JSON body and answers a constant,
 * no model, no batching (bench/serve-http-stack.ts' own): what HTTP alone costs on this machine.
 */
async function startFloor(request: LoadRequest): Promise<Server> {
  const script = new URL("serve-http-stack.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", script, "--serve", "node"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) => child.stdout!.once("data", (d) => resolve(String(d).trim())));
  const { path, body, headers } = request;
  await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    method: "POST",
    headers,
    body,
    connections: 16,
    duration: 1,
  });
  return { label: FLOOR, model: FLOOR, batching: false, child, url: `http://127.0.0.1:${port}`, request };
}

async function startServer(
  label: string,
  model: string,
  path: string,
  batching: boolean,
  cli = CLI,
): Promise<Omit<Server, "request">> {
  const profile = args["cpu-prof"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", args["cpu-prof"]];
  const child = spawn(
    process.execPath,
    [
      ...profile,
      cli,
      "serve",
      `${model}=${path}`,
      "--port",
      "0",
      "--max-queue",
      "4096",
      ...(batching ? [] : ["--no-batching"]),
      ...args["server-args"].split(" ").filter((a) => a !== ""),
    ],
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
  return { label, model, batching, child, url };
}

/** CPU time (user + system, all threads) the process has used, in ms, from /proc/PID/stat. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command), in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The sum and count of the server's rows-per-batch histogram. */
async function batchRows(server: Server): Promise<[number, number]> {
  if (server.model === FLOOR) return [0, 0];
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string): number =>
    Number(new RegExp(`^kerasless_batch_rows_${name}\\{model="${server.model}"\\} (\\S+)`, "m").exec(text)?.[1] ?? 0);
  return [value("sum"), value("count")];
}

interface RunResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  healthP99Ms: number;
  cpuMsPerRequest: number;
  rowsPerBatch: number;
}

/** One autocannon run, with /v2/health/live probed every 50 ms on its own connection meanwhile. */
async function run(server: Server, connections: number): Promise<RunResult> {
  const { path, body, headers } = server.request;
  const cpuBefore = cpuMs(server.child.pid!);
  const [rowsBefore, batchesBefore] = await batchRows(server);
  const health: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const start = performance.now();
      await fetch(`${server.url}/v2/health/live`).then((r) => r.arrayBuffer());
      health.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const result = await autocannon({
    url: `${server.url}${path}`,
    method: "POST",
    headers,
    body,
    connections,
    duration: SECONDS,
  });
  probing = false;
  await probe;
  const cpu = cpuMs(server.child.pid!) - cpuBefore;
  const [rowsAfter, batchesAfter] = await batchRows(server);
  health.sort((a, b) => a - b);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    healthP99Ms: health[Math.min(health.length - 1, Math.floor(health.length * 0.99))] ?? NaN,
    cpuMsPerRequest: cpu / Math.max(1, result.requests.total),
    rowsPerBatch: batchesAfter === batchesBefore ? 0 : (rowsAfter - rowsBefore) / (batchesAfter - batchesBefore),
  };
}

/** The benchmark models' input names (bench/models/*.keras). */
const inputName = (model: string): string => (model === "seed" ? "input_layer" : "x");

/** One row as the protocol sends it. */
function requestFor(model: string, values: Float32Array, shape: number[]): LoadRequest {
  if (args.protocol === "v1") {
    const [, steps, features] = shape;
    const instance = Array.from({ length: steps }, (_, t) =>
      Array.from(values.subarray(t * features, (t + 1) * features)),
    );
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

/** Checks that the served output is Keras' (bench/references.json), then warms the server up. */
async function checkAndWarm(server: Server, expected: Float32Array): Promise<void> {
  const { path, body, headers } = server.request;
  const res = await fetch(`${server.url}${path}`, { method: "POST", body: new Uint8Array(body), headers });
  const reply = (await res.json()) as { predictions?: number[][]; outputs?: { data: number[] }[] };
  const served = reply.predictions?.flat() ?? reply.outputs![0].data;
  const check = compareWithKeras(served, expected);
  if (!check.ok) throw new Error(`${server.label}: the served output is not Keras' (${check.problem})`);
  await autocannon({ url: `${server.url}${path}`, method: "POST", headers, body, connections: 16, duration: 1 });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");

const workloads = loadWorkloads();
const cases = [
  { model: "seed", workload: workloads.find((w) => w.id === "W1")! },
  { model: "lstm128", workload: workloads.find((w) => w.id === "W2")! },
].filter((c) => args.models.split(",").includes(c.model));

checkBuilt();
const started = new Date();
const loadAtStart = load();
process.stdout.write(`load average at start (1, 5, 15 min): ${loadAtStart}\n`);
const servers: Server[] = [];
try {
  for (const { model, workload } of cases)
    for (const batching of [false, true]) {
      const [, steps, features] = workload.inputShape;
      const request = requestFor(model, workload.input.subarray(0, steps * features), [1, steps, features]);
      const path = benchPath(workload.model.keras);
      const server = { ...(await startServer(model, model, path, batching)), request };
      servers.push(server);
      await checkAndWarm(server, workload.expected);
      const baseline = args["baseline-cli"];
      if (baseline === undefined) continue;
      const other = { ...(await startServer(`${model}@baseline`, model, path, batching, baseline)), request };
      servers.push(other);
      await checkAndWarm(other, workload.expected);
    }
  // The floor's body is the seed model's row (HTTP's cost, not the JSON's, is what it shows).
  if (args.protocol === "v1" && cases[0]?.model === "seed") servers.push(await startFloor(servers[0].request));
  const results = new Map<string, RunResult[]>();
  const keyOf = (s: Server, c: number): string => `${s.label} ${s.batching} ${c}`;
  for (let r = 0; r < REPEATS; r++)
    for (const connections of CONCURRENCY)
      for (const server of servers) {
        const result = await run(server, connections);
        const key = keyOf(server, connections);
        results.set(key, [...(results.get(key) ?? []), result]);
        process.stdout.write(
          `[${r + 1}/${REPEATS}] ${server.label.padEnd(8)} batching=${String(server.batching).padEnd(5)} ` +
            `c=${String(connections).padEnd(4)} ${result.requestsPerSecond.toFixed(0)} req/s  ` +
            `p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  rows/batch ${result.rowsPerBatch.toFixed(1)}  ` +
            `errors ${result.errors}\n`,
        );
      }
  const rows: Row[] = [];
  for (const server of servers)
    for (const connections of CONCURRENCY) {
      const runs = results.get(keyOf(server, connections))!;
      const pick = (key: keyof RunResult) => spread(runs.map((x) => x[key]));
      rows.push({
        model: server.label,
        batching: server.batching,
        connections,
        requestsPerSecond: pick("requestsPerSecond"),
        p50Ms: pick("p50Ms"),
        p99Ms: pick("p99Ms"),
        healthP99Ms: pick("healthP99Ms"),
        cpuMsPerRequest: pick("cpuMsPerRequest"),
        rowsPerBatch: pick("rowsPerBatch"),
        errors: runs.reduce((n, x) => n + x.errors, 0),
      });
    }
  const loadAtEnd = load();
  const heading =
    `Run of ${started.toISOString().slice(0, 16).replace("T", " ")} UTC, protocol ${args.protocol}, ` +
    `${SECONDS} s per run, ${REPEATS} runs per line (median, min-max of requests/s; latency medians); ` +
    `load average (1, 5, 15 min) ${loadAtStart} at the start, ${loadAtEnd} at the end.`;
  const report = `${heading}\n\n${markdownTable(rows)}\n${targets(rows)}`;
  process.stdout.write(`\n${report}`);
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(
    args.out,
    JSON.stringify(
      {
        date: started.toISOString(),
        protocol: args.protocol,
        seconds: SECONDS,
        repeats: REPEATS,
        loadAtStart,
        loadAtEnd,
        rows,
      },
      null,
      1,
    ),
  );
  writeFileSync(args.out.replace(/\.json$/, ".md"), report);
  process.stdout.write(`results in ${args.out} and ${args.out.replace(/\.json$/, ".md")}\n`);
} finally {
  for (const server of servers) {
    server.child.kill("SIGTERM");
    await new Promise((r) => server.child.once("exit", r));
  }
}
