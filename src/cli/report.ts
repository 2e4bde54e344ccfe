/**
 * What `verify` draws and writes besides the scatter plot: a histogram of the absolute errors
 * (SVG) and a small self-contained HTML report.
 */
import { escapeXml } from "./plot.js";

/** The errors of one verification, value by value. */
export interface ErrorSample {
  /** |kerasless - reference| per value (Infinity where exactly one of them is NaN or they differ in infinity). */
  errors: Float64Array;
  /** Whether each value is within the tolerance. */
  within: Uint8Array;
}

export interface HistogramBin {
  /** Label under the bar. */
  label: string;
  /** Lower and upper edge (|error| in [lo, hi)); both 0 for the exact-zero bin. */
  lo: number;
  hi: number;
  /** Values within tolerance, and outside it. */
  ok: number;
  bad: number;
}

/** Bins per power of ten. */
const PER_DECADE = 2;
/** The axis reaches at least this far (the tolerance is 1e-5 + 1e-4*|expected|), so it is always in view. */
const AXIS_MIN_TOP = 1e-4;
/** Where the dashed tolerance marker goes: the tolerance for expected values near 0. */
const TOLERANCE_FLOOR = 1e-5;

/**
 * Logarithmic bins over the absolute errors: one bin for exact zeros, then PER_DECADE bins per
 * power of ten from the smallest to the largest non-zero error, then one for infinite errors.
 */
export function errorBins(sample: ErrorSample): HistogramBin[] {
  const { errors, within } = sample;
  let minLog = Infinity;
  let maxLog = -Infinity;
  for (const e of errors) {
    if (e > 0 && Number.isFinite(e)) {
      const l = Math.log10(e);
      minLog = Math.min(minLog, l);
      maxLog = Math.max(maxLog, l);
    }
  }
  const bins: HistogramBin[] = [{ label: "0", lo: 0, hi: 0, ok: 0, bad: 0 }];
  let first = 0;
  if (minLog <= maxLog) {
    first = Math.min(
      Math.floor(minLog * PER_DECADE),
      Math.round(Math.log10(TOLERANCE_FLOOR) * PER_DECADE) - PER_DECADE,
    );
    const last = Math.max(Math.floor(maxLog * PER_DECADE), Math.round(Math.log10(AXIS_MIN_TOP) * PER_DECADE));
    for (let k = first; k <= last; k++) {
      const lo = 10 ** (k / PER_DECADE);
      bins.push({
        label: k % PER_DECADE === 0 ? `1e${k / PER_DECADE}` : "",
        lo,
        hi: 10 ** ((k + 1) / PER_DECADE),
        ok: 0,
        bad: 0,
      });
    }
  }
  const infinite: HistogramBin = { label: "∞", lo: Infinity, hi: Infinity, ok: 0, bad: 0 };
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    let bin: HistogramBin;
    if (e === 0) bin = bins[0];
    else if (!Number.isFinite(e)) bin = infinite;
    else bin = bins[1 + Math.min(bins.length - 2, Math.max(0, Math.floor(Math.log10(e) * PER_DECADE) - first))];
    if (within[i] === 1) bin.ok++;
    else bin.bad++;
  }
  if (infinite.ok + infinite.bad > 0) bins.push(infinite);
  return bins;
}

const W = 640;
const H = 420;
const LEFT = 70;
const RIGHT = 20;
const TOP = 76;
const BOTTOM = 70;

/** The histogram as a standalone SVG: stacked bars (within tolerance / outside), counts on a linear axis. */
export function histogramSvg(sample: ErrorSample, title: string): string {
  const bins = errorBins(sample);
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  let most = 1;
  for (const b of bins) most = Math.max(most, b.ok + b.bad);
  const step = niceStep(most);
  const top = Math.ceil(most / step) * step;
  const slot = plotW / bins.length;
  const barW = Math.max(1, slot * 0.8);
  const y = (count: number): number => TOP + plotH - (count / top) * plotH;
  const f = (v: number): string => v.toFixed(2);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text class="title" x="${f(LEFT + plotW / 2)}" y="24" text-anchor="middle" ` +
      `font-size="15">${escapeXml(title)}</text>`,
  );
  const legendX = LEFT + plotW - 330;
  out.push(
    `<g class="legend"><rect x="${legendX}" y="${TOP - 30}" width="12" height="12" fill="#1f77b4"/><text ` +
      `x="${legendX + 18}" y="${TOP - 20}">within tolerance</text>`,
  );
  out.push(
    `<rect x="${legendX + 130}" y="${TOP - 30}" width="12" height="12" fill="#d62728"/><text x="${legendX + 148}" ` +
      `y="${TOP - 20}">outside</text>`,
  );
  out.push(
    `<line x1="${legendX + 215}" y1="${TOP - 24}" x2="${legendX + 239}" y2="${TOP - 24}" stroke="#555" ` +
      `stroke-dasharray="5 3"/><text x="${legendX + 245}" y="${TOP - 20}">1e-5</text></g>`,
  );
  out.push(`<g class="grid" stroke="#e6e6e6">`);
  for (let c = 0; c <= top; c += step)
    out.push(`<line x1="${LEFT}" y1="${f(y(c))}" x2="${LEFT + plotW}" y2="${f(y(c))}"/>`);
  out.push(`</g>`);
  out.push(`<g class="bars">`);
  bins.forEach((b, i) => {
    const x = LEFT + i * slot + (slot - barW) / 2;
    const range =
      b.lo === 0
        ? "exactly 0"
        : Number.isFinite(b.lo)
          ? `[${b.lo.toExponential(1)}, ${b.hi.toExponential(1)})`
          : "infinite (NaN or ±Infinity mismatch)";
    const tip = `${range}: ${b.ok} within tolerance, ${b.bad} outside`;
    if (b.ok > 0)
      out.push(
        `<rect class="ok" x="${f(x)}" y="${f(y(b.ok))}" width="${f(barW)}" height="${f(y(0) - y(b.ok))}" ` +
          `fill="#1f77b4"><title>${escapeXml(tip)}</title></rect>`,
      );
    if (b.bad > 0)
      out.push(
        `<rect class="bad" x="${f(x)}" y="${f(y(b.ok + b.bad))}" width="${f(barW)}" ` +
          `height="${f(y(b.ok) - y(b.ok + b.bad))}" fill="#d62728"><title>${escapeXml(tip)}</title></rect>`,
      );
  });
  out.push(`</g>`);
  out.push(`<rect class="frame" x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  // The tolerance for expected values near zero, between the bins it separates.
  const floorBin = bins.findIndex((b) => b.lo > 0 && Math.abs(Math.log10(b.lo) - Math.log10(TOLERANCE_FLOOR)) < 1e-9);
  if (floorBin > 0) {
    const x = LEFT + floorBin * slot;
    out.push(
      `<line id="tolerance" x1="${f(x)}" y1="${TOP}" x2="${f(x)}" y2="${TOP + plotH}" stroke="#555" ` +
        `stroke-dasharray="5 3"><title>1e-5: the tolerance for expected values near 0</title></line>`,
    );
  }
  out.push(`<g class="tick-labels" fill="#333">`);
  for (let c = 0; c <= top; c += step)
    out.push(`<text x="${LEFT - 8}" y="${f(y(c) + 4)}" text-anchor="end">${c}</text>`);
  bins.forEach((b, i) => {
    if (b.label === "") return;
    // Power-of-ten labels sit on the bin's lower edge; "0" and "∞" under their bars.
    const x = b.lo > 0 && Number.isFinite(b.lo) ? LEFT + i * slot : LEFT + i * slot + slot / 2;
    out.push(`<text x="${f(x)}" y="${TOP + plotH + 18}" text-anchor="middle">${escapeXml(b.label)}</text>`);
  });
  out.push(`</g>`);
  out.push(
    `<text class="x-label" x="${f(LEFT + plotW / 2)}" y="${H - 24}" text-anchor="middle" font-size="14">|kerasless ` +
      `− Keras| (${PER_DECADE} bins per power of ten)</text>`,
  );
  out.push(
    `<text class="y-label" x="20" y="${f(TOP + plotH / 2)}" text-anchor="middle" font-size="14" ` +
      `transform="rotate(-90 20 ${f(TOP + plotH / 2)})">values</text>`,
  );
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** 1, 2 or 5 times a power of ten, giving at most about 6 grid lines up to `most`. */
function niceStep(most: number): number {
  const raw = most / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
  return Math.max(1, 10 * power);
}

export interface ReportData {
  model: string;
  kerasVersion: string;
  inputs: string[];
  expected: string[];
  tolerance: string;
  /** One row per output. */
  outputs: {
    name: string;
    shape: string;
    source: string;
    maxError: string;
    meanError: string;
    within: number;
    count: number;
  }[];
  verdict: string;
  ok: boolean;
  /** The values furthest outside (or closest to) the tolerance. */
  worst: { output: string; index: number; got: number; expected: number; error: string; tolerance: string }[];
  scatter: string;
  histogram: string;
}

const escapeHtml = escapeXml;

/** A single HTML file with everything inline (no scripts, no external resources). */
export function reportHtml(r: ReportData): string {
  const cell = (v: string | number): string => `<td>${escapeHtml(String(v))}</td>`;
  const row = (values: (string | number)[], tag = "td"): string =>
    `<tr>${values.map((v) => (tag === "td" ? cell(v) : `<${tag}>${escapeHtml(String(v))}</${tag}>`)).join("")}</tr>`;
  const svg = (text: string): string => text.replace(/^<\?xml[^>]*>\s*/, "");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kerasless verify: ${escapeHtml(r.model)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
.ok { color: #1a7f37; } .fail { color: #d62728; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
</style>
</head>
<body>
<h1>kerasless verify</h1>
<p class="verdict ${r.ok ? "ok" : "fail"}"><strong>${escapeHtml(r.verdict)}</strong></p>
<table class="about">
<tr><th>model</th>${cell(r.model)}</tr>
<tr><th>written by Keras</th>${cell(r.kerasVersion)}</tr>
<tr><th>inputs</th>${cell(r.inputs.join(", "))}</tr>
<tr><th>expected</th>${cell(r.expected.join(", "))}</tr>
<tr><th>tolerance per value</th>${cell(r.tolerance)}</tr>
</table>
<table class="outputs">
${row(["output", "shape", "expected from", "max abs error", "mean abs error", "within tolerance"], "th")}
${r.outputs.map((o) => row([o.name, o.shape, o.source, o.maxError, o.meanError, `${o.within}/${o.count}`])).join("\n")}
</table>
<div class="plots">
${svg(r.scatter)}
${svg(r.histogram)}
</div>
<h2>Largest errors relative to the tolerance</h2>
<table class="worst">
${row(["output", "flat index", "kerasless", "expected", "abs error", "tolerance"], "th")}
${r.worst.map((w) => row([w.output, w.index, w.got, w.expected, w.error, w.tolerance])).join("\n")}
</table>
</body>
</html>
`;
}
