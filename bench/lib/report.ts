/** The benchmark's outputs: the JSON document, a markdown report and an SVG bar chart. */

export interface Timed {
  median_ms: number;
  min_ms: number;
  samples: number;
  reps: number;
  max_abs_diff: number;
  first_ms?: number;
  mode?: "stream" | "window";
  note?: string;
  /** This contender's median / kerasless' median: above 1, kerasless is faster. */
  vs_kerasless?: number;
  gflops?: number;
}
export type Result = Timed | { skipped: string } | { error: string };

export interface WorkloadReport {
  id: string;
  title: string;
  kind: string;
  batch: number;
  steps?: number;
  features?: number;
  image?: number[];
  mflop: number;
  results: Record<string, Result>;
}

export interface BenchReport {
  generated: string;
  quick: boolean;
  machine: Record<string, unknown>;
  contenders: Record<string, Record<string, unknown>>;
  workloads: WorkloadReport[];
}

export const isTimed = (r: Result | undefined): r is Timed => r !== undefined && "median_ms" in r;

export function formatMs(ms: number): string {
  if (ms < 0.01) return `${(ms * 1000).toFixed(2)} µs`;
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 100 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

const formatRatio = (r: number): string =>
  `×${r < 1 ? r.toPrecision(2) : r < 10 ? r.toFixed(2) : r < 100 ? r.toFixed(1) : r.toFixed(0)}`;

/** An axis label: 1 µs, 10 µs, ..., 1 ms, ..., 1 s, 10 s. */
function formatDecade(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Math.round(ms / 1000)} s`;
}

/** The skip reason of contenders that only take part in W5 (their other rows are left out of the chart). */
export const STREAMING_ONLY = "runs W5 (streaming) only";

function cell(r: Result | undefined): string {
  if (r === undefined) return "";
  if ("skipped" in r) return "skipped";
  if ("error" in r) return "**error**";
  const ratio = r.vs_kerasless === undefined ? "" : ` (${formatRatio(r.vs_kerasless)})`;
  return `${formatMs(r.median_ms)}${ratio}${r.mode === "window" ? " ʷ" : ""}`;
}

export function markdownReport(report: BenchReport): string {
  const ids = Object.keys(report.contenders);
  const lines: string[] = [];
  const m = report.machine;
  const peak =
    typeof m.peak_gflops === "number"
      ? `, float32 peak ≈ ${m.peak_gflops.toFixed(0)} GFLOP/s (${String(m.peak_note)})`
      : "";
  const ghz = typeof m.ghz === "number" ? ` at ${m.ghz} GHz` : "";
  lines.push(`Machine: ${String(m.cpu)}, ${String(m.cores)} cores${ghz}, ${String(m.simd)}${peak}.`);
  const [start, end] = [JSON.stringify(m.loadavg_start), JSON.stringify(m.loadavg_end)];
  const load = `load average ${start} at the start, ${end} at the end`;
  lines.push(`Node ${String(m.node)}; ${load}; ${report.generated}.`);
  lines.push("");
  lines.push(`Medians; (×r) = this contender's median / kerasless' median (above 1: kerasless is faster).`);
  const quick = report.quick ? "**--quick run: few samples.**" : "";
  lines.push(`ʷ = W5 without streaming: re-runs the 50-step window. ${quick}`.trimEnd());
  lines.push("");
  lines.push(`| contender | ${report.workloads.map((w) => w.id).join(" | ")} |`);
  lines.push(`|---|${report.workloads.map(() => "---:").join("|")}|`);
  for (const id of ids) lines.push(`| ${id} | ${report.workloads.map((w) => cell(w.results[id])).join(" | ")} |`);
  lines.push("");
  lines.push("### Contenders as run");
  lines.push("");
  lines.push("| contender | settings |");
  lines.push("|---|---|");
  for (const id of ids) {
    const settings = Object.entries(report.contenders[id])
      .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join("; ");
    lines.push(`| ${id} | ${settings.replace(/\|/g, "\\|")} |`);
  }
  lines.push("");
  for (const w of report.workloads) {
    lines.push(`### ${w.id}: ${w.title}`);
    lines.push("");
    const flops = w.mflop > 0 && w.kind === "predict";
    lines.push(`| contender | median | min | ×kerasless | samples × calls |${flops ? " GFLOP/s |" : ""} notes |`);
    lines.push(`|---|---:|---:|---:|---:|${flops ? "---:|" : ""}---|`);
    for (const id of ids) {
      const r = w.results[id];
      if (r === undefined) continue;
      if (!isTimed(r)) {
        const why = "skipped" in r ? `skipped: ${r.skipped}` : `**error**: ${r.error}`;
        lines.push(`| ${id} | | | | |${flops ? " |" : ""} ${why} |`);
        continue;
      }
      const notes = [
        r.mode === "stream" ? "streams (state kept)" : r.mode === "window" ? "re-runs the window" : "",
        r.first_ms !== undefined ? `first call ${formatMs(r.first_ms)}` : "",
        r.note ?? "",
      ].filter((s) => s !== "");
      const ratio = r.vs_kerasless === undefined ? "" : formatRatio(r.vs_kerasless);
      const gflops = flops ? ` ${r.gflops!.toFixed(2)} |` : "";
      const times = `${formatMs(r.median_ms)} | ${formatMs(r.min_ms)} | ${ratio}`;
      lines.push(`| ${id} | ${times} | ${r.samples} × ${r.reps} |${gflops} ${notes.join("; ")} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const PALETTE = [
  "#1b6ac9",
  "#7fb2ee",
  "#e8590c",
  "#f59f00",
  "#ffd43b",
  "#2f9e44",
  "#8ce99a",
  "#862e9c",
  "#cc5de8",
  "#c92a2a",
  "#868e96",
  "#495057",
];

/**
 * Horizontal bars on a log time axis, one group per workload, one bar per contender (medians).
 * Skipped contenders get no bar; their name is still listed in grey.
 */
export function svgChart(report: BenchReport): string {
  const ids = Object.keys(report.contenders);
  const color = new Map(ids.map((id, i) => [id, PALETTE[i % PALETTE.length]]));
  const times = report.workloads.flatMap((w) =>
    Object.values(w.results)
      .filter(isTimed)
      .map((r) => r.median_ms),
  );
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...times, 1))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...times, 1))));
  const left = 290;
  const plotWidth = 560;
  const bar = 13;
  const x = (ms: number) => left + (plotWidth * (Math.log10(ms) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const out: string[] = [];
  let y = 58;
  const groups: string[] = [];
  for (const w of report.workloads) {
    const rows = ids.filter((id) => {
      const r = w.results[id];
      return r !== undefined && !("skipped" in r && r.skipped === STREAMING_ONLY);
    });
    groups.push(`<text x="10" y="${y + 12}" font-weight="bold">${escapeXml(`${w.id}: ${w.title}`)}</text>`);
    y += 20;
    for (const id of rows) {
      const r = w.results[id];
      const grey = isTimed(r) ? "" : ` fill="#999"`;
      const label = `<text x="${left - 8}" y="${y + bar - 3}" text-anchor="end"${grey}>${escapeXml(id)}</text>`;
      if (isTimed(r)) {
        const width = Math.max(1, x(r.median_ms) - left);
        const ratio = r.vs_kerasless !== undefined && id !== "kerasless" ? ` (${formatRatio(r.vs_kerasless)})` : "";
        const text = `${formatMs(r.median_ms)}${ratio}${r.mode === "window" ? " window" : ""}`;
        const title = escapeXml(`${id} ${w.id}: median ${formatMs(r.median_ms)}, min ${formatMs(r.min_ms)}`);
        const rect = `x="${left}" y="${y}" width="${width.toFixed(1)}" height="${bar}" fill="${color.get(id)}"`;
        groups.push(
          label,
          `<rect ${rect}><title>${title}</title></rect>`,
          `<text x="${(left + width + 4).toFixed(1)}" y="${y + bar - 3}">${escapeXml(text)}</text>`,
        );
      } else {
        groups.push(
          label,
          `<text x="${left + 4}" y="${y + bar - 3}" fill="#999">${"skipped" in r ? "skipped" : "error"}</text>`,
        );
      }
      y += bar + 3;
    }
    y += 12;
  }
  const height = y + 10;
  const width = left + plotWidth + 130;
  const size = `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"`;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" ${size} font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  const heading = "kerasless benchmark: median time per call (log scale, shorter is faster)";
  out.push(`<text x="10" y="20" font-size="14" font-weight="bold">${heading}</text>`);
  const { cpu, cores } = report.machine;
  const quickRun = report.quick ? ", --quick" : "";
  const run = `${report.generated.slice(0, 10)}, ${String(cpu)}, ${String(cores)} cores${quickRun}`;
  out.push(`<text x="10" y="38" fill="#555">${escapeXml(run)}</text>`);
  for (let decade = lo; decade <= hi * 1.0001; decade *= 10) {
    const gx = x(decade).toFixed(1);
    out.push(`<line x1="${gx}" y1="50" x2="${gx}" y2="${height - 10}" stroke="#ddd"/>`);
    out.push(
      `<text x="${gx}" y="${50 - 2}" text-anchor="middle" fill="#555">${escapeXml(formatDecade(decade))}</text>`,
    );
  }
  out.push(...groups);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
