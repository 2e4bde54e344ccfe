/**
 * Before and after a change, interleaved: runs a benchmark script in a copy of git revision --base
 * and in this tree (or a copy of revision --after; copies share node_modules), one after the other,
 * --runs times, and prints each figure's median per side with the spread and the ratio
 * after/before (below 1: the change is faster). Figures are read from the script's output:
 * bench/kernels.ts' lines ("  after typescript-shifted   3972.52 µs  [...]", under their title),
 * or, for bench/run.ts, its --json report (each contender's median per workload).
 *
 *   node --import tsx bench/ab.ts --base main [--after HEAD] [--runs 5] -- bench/kernels.ts --only conv
 *   node --import tsx bench/ab.ts --base main -- bench/run.ts --quick --contenders kerasless-js --workloads W2
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchReport } from "./lib/report.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const split = process.argv.indexOf("--");
if (split < 0) throw new Error("usage: bench/ab.ts --base REV [--runs N] -- SCRIPT [ARGS...]");
const own = process.argv.slice(2, split);
const [script, ...args] = process.argv.slice(split + 1);
const option = (name: string): string | undefined => {
  const i = own.indexOf(name);
  return i < 0 ? undefined : own[i + 1];
};
const base = option("--base") ?? "main";
const afterRev = option("--after");
const runs = Number(option("--runs") ?? 5);

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The figures one run printed, by name. */
function run(tree: string): Map<string, number> {
  const figures = new Map<string, number>();
  const json = join(tree, "ab-report.json");
  const isRun = script.endsWith("run.ts");
  const result = spawnSync(process.execPath, ["--import", "tsx", script, ...args, ...(isRun ? ["--json", json] : [])], {
    cwd: tree,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) throw new Error(`${script} failed in ${tree}:\n${result.stderr}`);
  if (isRun) {
    const report = JSON.parse(readFileSync(json, "utf8")) as BenchReport;
    rmSync(json, { force: true });
    for (const w of report.workloads)
      for (const [contender, r] of Object.entries(w.results))
        if ("median_ms" in r) figures.set(`${w.id} ${contender}`, r.median_ms);
  } else {
    let title = "";
    for (const line of result.stdout.split("\n")) {
      const unit = line.indexOf(" µs");
      if (line.startsWith("  ") && unit > 0) {
        const head = line.slice(0, unit).trim();
        const cut = head.lastIndexOf(" ");
        figures.set(`${title} | ${head.slice(0, cut).trim()}`, Number(head.slice(cut + 1)));
      } else if (line.trim() !== "") title = line.trim();
    }
  }
  return figures;
}

/** A copy of revision `rev` in a temporary folder, with this tree's node_modules. */
function exportRevision(rev: string): string {
  const copy = mkdtempSync(join(tmpdir(), "kerasless-ab-"));
  const archive = execFileSync("git", ["archive", rev], { cwd: REPO, maxBuffer: 1 << 30 });
  execFileSync("tar", ["-x", "-C", copy], { input: archive });
  symlinkSync(resolve(REPO, "node_modules"), join(copy, "node_modules"));
  return copy;
}

const copy = exportRevision(base);
const head = afterRev === undefined ? REPO : exportRevision(afterRev);
try {
  const before = new Map<string, number[]>();
  const after = new Map<string, number[]>();
  const add = (into: Map<string, number[]>, figures: Map<string, number>) => {
    for (const [name, value] of figures) into.set(name, [...(into.get(name) ?? []), value]);
  };
  for (let i = 0; i < runs; i++) {
    add(before, run(copy));
    add(after, run(head));
    process.stderr.write(`run ${i + 1}/${runs} done\n`);
  }
  const what = afterRev ?? "this tree";
  console.log(`${script} ${args.join(" ")}: ${base} (before) and ${what} (after), ${runs} interleaved runs`);
  console.log("median before [min .. max of the runs], median after [min .. max], after/before");
  for (const [name, values] of after) {
    const old = before.get(name);
    if (old === undefined) continue;
    const [b, a] = [median(old), median(values)];
    const spread = (v: number[]) => `[${Math.min(...v).toFixed(2)} .. ${Math.max(...v).toFixed(2)}]`;
    console.log(`${name}\n  ${b.toFixed(2)} ${spread(old)}  ${a.toFixed(2)} ${spread(values)}  x${(a / b).toFixed(3)}`);
  }
} finally {
  for (const dir of head === REPO ? [copy] : [copy, head]) rmSync(dir, { recursive: true, force: true });
}
