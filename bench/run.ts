/**
 * `npm run bench`: every contender on the same workloads, weights and inputs, one process per
 * contender, one after the other. Each contender's outputs are checked against Keras' references
 * before it is timed.
 *
 *   npm run bench                                   full run; report in bench/results/
 *   npm run bench -- --quick --json FILE            few samples (under 3 minutes on 2 cores)
 *   options: --json FILE  --md FILE  --svg FILE  --contenders a,b  --workloads W1,W2  --python PATH
 *
 * Python contenders (numpy-seed, numpy-batched, keras) use the first interpreter that has their
 * packages, from: --python, $KERASLESS_BENCH_PYTHON, bench/.venv, .venv, python3 (see
 * bench/python/requirements.txt); without one they are recorded as skipped with the reason.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { JS_CONTENDERS } from "./contenders/index.js";
import { KERASLESS_CONTENDERS } from "./contenders/kerasless.js";
import { isTimed, markdownReport, svgChart, type BenchReport, type Result } from "./lib/report.js";
import { BENCH_DIR, loadWorkloads, workloadFlops } from "./lib/spec.js";

const REPO = resolve(BENCH_DIR, "..");
const PYTHON_CONTENDERS: Record<string, string[]> = {
  "numpy-seed": ["numpy", "h5py"],
  "numpy-batched": ["numpy", "h5py"],
  keras: ["numpy", "h5py", "keras", "tensorflow"],
};
const ON_REQUEST = new Set(KERASLESS_CONTENDERS.filter((c) => c.onRequest === true).map((c) => c.id));
/** Every contender, and those of the default run (without the ones run only when named). */
const KNOWN = [...Object.keys(JS_CONTENDERS), ...Object.keys(PYTHON_CONTENDERS)];
const ORDER = KNOWN.filter((id) => !ON_REQUEST.has(id));

function parseArgs(argv: string[]) {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
    return argv[i + 1];
  };
  const known = new Set(["--quick", "--json", "--md", "--svg", "--contenders", "--workloads", "--python"]);
  for (const a of argv) if (a.startsWith("--") && !known.has(a)) throw new Error(`unknown option ${a}`);
  const contenders = value("--contenders")?.split(",") ?? ORDER;
  for (const c of contenders)
    if (!KNOWN.includes(c)) throw new Error(`unknown contender ${c} (known: ${KNOWN.join(", ")})`);
  return {
    quick: argv.includes("--quick"),
    json: value("--json"),
    md: value("--md"),
    svg: value("--svg"),
    contenders,
    workloads: value("--workloads")?.split(","),
    python: value("--python"),
  };
}

interface PythonChoice {
  path?: string;
  reason?: string;
}

/** The first interpreter that has `modules`, or why there is none. */
function findPython(
  explicit: string | undefined,
  modules: string[],
  cache: Map<string, Set<string> | null>,
): PythonChoice {
  const candidates = [
    explicit,
    process.env.KERASLESS_BENCH_PYTHON,
    join(BENCH_DIR, ".venv/bin/python"),
    join(REPO, ".venv/bin/python"),
    "python3",
  ].filter((c): c is string => c !== undefined && c !== "");
  const tried: string[] = [];
  for (const candidate of candidates) {
    if (candidate.includes("/") && !existsSync(candidate)) continue;
    if (!cache.has(candidate)) {
      // find_spec looks for a package without importing it (importing TensorFlow takes seconds).
      const probe = spawnSync(
        candidate,
        [
          "-c",
          "import importlib.util,sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))",
          ...Object.values(PYTHON_CONTENDERS).flat(),
        ],
        { encoding: "utf8" },
      );
      cache.set(candidate, probe.status === 0 ? new Set(probe.stdout.trim().split(/\s+/)) : null);
    }
    const found = cache.get(candidate);
    if (found === null || found === undefined) {
      tried.push(`${candidate} (does not run)`);
      continue;
    }
    const missing = modules.filter((m) => !found.has(m));
    if (missing.length === 0) return { path: candidate };
    tried.push(`${candidate} (no ${missing.join(", ")})`);
  }
  return {
    reason:
      `no Python with ${modules.join(" + ")}: tried ${tried.join("; ") || "nothing"}. ` +
      "Set KERASLESS_BENCH_PYTHON or create bench/.venv from bench/python/requirements.txt",
  };
}

interface WorkerOutput {
  describe: Record<string, unknown>;
  results: Record<string, Result>;
}

function runProcess(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "3" },
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output, timedOut });
    });
  });
}

async function runContender(
  id: string,
  args: ReturnType<typeof parseArgs>,
  pythonCache: Map<string, Set<string> | null>,
  workloadIds: string[],
): Promise<WorkerOutput> {
  const skipAll = (reason: string): WorkerOutput => ({
    describe: { skipped: reason },
    results: Object.fromEntries(workloadIds.map((w) => [w, { skipped: reason }])),
  });
  const failAll = (message: string): WorkerOutput => ({
    describe: { error: message },
    results: Object.fromEntries(workloadIds.map((w) => [w, { error: message }])),
  });
  const dir = mkdtempSync(join(tmpdir(), "kerasless-bench-"));
  const outFile = join(dir, `${id}.json`);
  const flags = [...(args.quick ? ["--quick"] : []), "--workloads", workloadIds.join(",")];
  let command: string;
  let commandArgs: string[];
  if (id in PYTHON_CONTENDERS) {
    const python = findPython(args.python, PYTHON_CONTENDERS[id], pythonCache);
    if (python.path === undefined) return skipAll(python.reason!);
    command = python.path;
    commandArgs = [join(BENCH_DIR, "python/contenders.py"), id, outFile, ...flags];
  } else {
    command = process.execPath;
    commandArgs = ["--import", "tsx", join(BENCH_DIR, "worker.ts"), id, outFile, ...flags];
  }
  const started = performance.now();
  const { code, output, timedOut } = await runProcess(command, commandArgs, (args.quick ? 150 : 1800) * 1000);
  try {
    if (timedOut) return failAll(`timed out after ${((performance.now() - started) / 1000).toFixed(0)} s`);
    if (code !== 0 || !existsSync(outFile))
      return failAll(`exited with ${code}: ${output.trim().split("\n").slice(-3).join(" / ")}`);
    const result = JSON.parse(readFileSync(outFile, "utf8")) as WorkerOutput;
    result.describe = { ...result.describe, ...(id in PYTHON_CONTENDERS ? { python: command } : {}) };
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`  ${id}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

/**
 * The machine, and its float32 peak: cores x clock x FLOPs per cycle per core. With AVX-512 that is
 * 2 FMA units x 16 lanes x 2 (multiply and add) = 64; with AVX2 + FMA 2 x 8 x 2 = 32. The clock is
 * lscpu's maximum, else its current MHz, else /proc/cpuinfo's (under KVM: the nominal clock).
 */
function machine(): Record<string, unknown> {
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" });
  const text = lscpu.stdout ?? "";
  const field = (name: string) => text.match(new RegExp(`^${name}:\\s*(.+)$`, "m"))?.[1]?.trim();
  const cpuinfoMhz = existsSync("/proc/cpuinfo")
    ? readFileSync("/proc/cpuinfo", "utf8").match(/^cpu MHz\s*:\s*([\d.]+)/m)?.[1]
    : undefined;
  const mhz = Number(field("CPU max MHz") ?? field("CPU MHz") ?? cpuinfoMhz ?? NaN);
  const avx512 = /\bavx512f\b/.test(text);
  const fma = /\bfma\b/.test(text);
  const flopsPerCycle = avx512 ? 64 : fma ? 32 : undefined;
  const cores = availableParallelism();
  return {
    cpu: field("Model name") ?? cpus()[0]?.model ?? "unknown",
    cores,
    ghz: Number.isFinite(mhz) ? mhz / 1000 : null,
    simd: avx512 ? "AVX-512 + FMA" : fma ? "AVX2 + FMA" : "unknown",
    peak_gflops: Number.isFinite(mhz) && flopsPerCycle !== undefined ? (cores * mhz * flopsPerCycle) / 1000 : null,
    peak_note:
      flopsPerCycle === undefined
        ? "unknown SIMD width"
        : `cores x GHz x ${flopsPerCycle} float32 FLOPs/cycle ` +
          `(${avx512 ? "2 AVX-512 FMA units x 16 lanes x 2" : "2 AVX2 FMA units x 8 lanes x 2"})`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadavg_start: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const workloads = loadWorkloads().filter((w) => args.workloads === undefined || args.workloads.includes(w.id));
  if (workloads.length === 0) throw new Error(`no workload matches ${args.workloads?.join(",")}`);
  const workloadIds = workloads.map((w) => w.id);
  const report: BenchReport = {
    generated: new Date().toISOString(),
    quick: args.quick,
    machine: machine(),
    contenders: {},
    workloads: [],
  };
  const pythonCache = new Map<string, Set<string> | null>();
  const outputs: Record<string, WorkerOutput> = {};
  process.stderr.write(
    `kerasless bench${args.quick ? " --quick" : ""}: ${args.contenders.length} contenders x ` +
      `${workloadIds.join(" ")} (load average ${report.machine.loadavg_start})\n`,
  );
  for (const id of KNOWN.filter((c) => args.contenders.includes(c))) {
    outputs[id] = await runContender(id, args, pythonCache, workloadIds);
    report.contenders[id] = outputs[id].describe;
  }
  report.machine.loadavg_end = loadavg().map((l) => Number(l.toFixed(2)));
  const base = KERASLESS_CONTENDERS[0].id;
  for (const w of workloads) {
    const results: Record<string, Result> = {};
    const baseline = outputs[base]?.results[w.id];
    const flops = workloadFlops(w);
    for (const id of Object.keys(outputs)) {
      const r = outputs[id].results[w.id];
      if (r === undefined) continue;
      results[id] = isTimed(r)
        ? {
            ...r,
            ...(isTimed(baseline) ? { vs_kerasless: r.median_ms / baseline.median_ms } : {}),
            ...(w.kind === "predict" ? { gflops: flops / r.median_ms / 1e6 } : {}),
          }
        : r;
    }
    report.workloads.push({
      id: w.id,
      title: w.title,
      kind: w.kind,
      batch: w.batch,
      ...(w.model.image ? { image: w.model.image } : { steps: w.model.steps, features: w.model.features }),
      mflop: flops / 1e6,
      results,
    });
  }

  const markdown = markdownReport(report);
  const defaultDir = join(BENCH_DIR, "results");
  const targets = {
    json: args.json ?? (args.quick ? undefined : join(defaultDir, "latest.json")),
    md: args.md ?? (args.quick ? undefined : join(defaultDir, "latest.md")),
    svg: args.svg ?? (args.quick ? undefined : join(defaultDir, "latest.svg")),
  };
  const write = (file: string | undefined, text: string) => {
    if (file === undefined) return;
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, text);
    process.stderr.write(`wrote ${file}\n`);
  };
  write(targets.json, JSON.stringify(report, null, 1) + "\n");
  write(targets.md, markdown + "\n");
  write(targets.svg, svgChart(report));
  process.stdout.write(markdown + "\n");
  const errors = report.workloads.flatMap((w) =>
    Object.entries(w.results)
      .filter(([, r]) => "error" in r)
      .map(([id]) => `${id} ${w.id}`),
  );
  if (errors.length > 0) {
    process.stderr.write(`errors (a harness bug: see the report): ${errors.join(", ")}\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
