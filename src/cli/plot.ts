/**
 * The seed article's figure as a standalone SVG: reference (Keras) prediction on x, kerasless
 * prediction on y, one dot per value, and the diagonal y = x that every dot should sit on.
 */

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
}

const LEFT = 80;
const TOP = 56;
const SIZE = 420; // the plot area is square: both axes share one range, so y = x is the diagonal
const RIGHT = 30;
const BOTTOM = 64;
const WIDTH = LEFT + SIZE + RIGHT;
const HEIGHT = TOP + SIZE + BOTTOM;

export function scatterSvg(xs: ArrayLike<number>, ys: ArrayLike<number>, options: ScatterOptions): string {
  const points: [number, number][] = [];
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) points.push([xs[i], ys[i]]);
  const [lo, hi] = axisRange(points);
  const ticks = niceTicks(lo, hi);
  const px = (v: number): number => LEFT + ((v - lo) / (hi - lo)) * SIZE;
  const py = (v: number): number => TOP + SIZE - ((v - lo) / (hi - lo)) * SIZE;
  const f = (v: number): string => v.toFixed(2);
  const tickLabel = labelFormatter(ticks);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  out.push(
    `<text class="title" x="${f(LEFT + SIZE / 2)}" y="${TOP - 24}" text-anchor="middle" ` +
      `font-size="15">${escapeXml(options.title)}</text>`,
  );

  out.push(`<g class="grid" stroke="#e6e6e6" stroke-width="1">`);
  for (const t of ticks) {
    out.push(`<line x1="${f(px(t))}" y1="${TOP}" x2="${f(px(t))}" y2="${TOP + SIZE}"/>`);
    out.push(`<line x1="${LEFT}" y1="${f(py(t))}" x2="${LEFT + SIZE}" y2="${f(py(t))}"/>`);
  }
  out.push(`</g>`);

  out.push(
    `<line id="diagonal" class="diagonal" x1="${f(px(lo))}" y1="${f(py(lo))}" x2="${f(px(hi))}" y2="${f(py(hi))}" ` +
      `stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"><title>y = x</title></line>`,
  );
  // Legend in the bottom-right corner, far from the diagonal.
  out.push(
    `<line x1="${LEFT + SIZE - 74}" y1="${TOP + SIZE - 16}" x2="${LEFT + SIZE - 50}" y2="${TOP + SIZE - 16}" ` +
      `stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  out.push(`<text x="${LEFT + SIZE - 12}" y="${TOP + SIZE - 12}" text-anchor="end" fill="#d62728">y = x</text>`);

  out.push(`<g class="points" fill="#1f77b4" fill-opacity="0.65" stroke="#1f77b4" stroke-width="0.5">`);
  for (const [x, y] of points) out.push(`<circle cx="${f(px(x))}" cy="${f(py(y))}" r="3"/>`);
  out.push(`</g>`);

  out.push(`<rect class="frame" x="${LEFT}" y="${TOP}" width="${SIZE}" height="${SIZE}" fill="none" stroke="#333"/>`);
  out.push(`<g class="ticks" stroke="#333">`);
  for (const t of ticks) {
    out.push(`<line x1="${f(px(t))}" y1="${TOP + SIZE}" x2="${f(px(t))}" y2="${TOP + SIZE + 5}"/>`);
    out.push(`<line x1="${LEFT - 5}" y1="${f(py(t))}" x2="${LEFT}" y2="${f(py(t))}"/>`);
  }
  out.push(`</g>`);
  out.push(`<g class="tick-labels" fill="#333">`);
  for (const t of ticks) {
    out.push(`<text x="${f(px(t))}" y="${TOP + SIZE + 19}" text-anchor="middle">${tickLabel(t)}</text>`);
    out.push(`<text x="${LEFT - 8}" y="${f(py(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  out.push(`</g>`);
  out.push(
    `<text class="x-label" x="${f(LEFT + SIZE / 2)}" y="${TOP + SIZE + 46}" text-anchor="middle" ` +
      `font-size="14">${escapeXml(options.xLabel)}</text>`,
  );
  const yMid = f(TOP + SIZE / 2);
  out.push(
    `<text class="y-label" x="22" y="${yMid}" text-anchor="middle" font-size="14" transform="rotate(-90 22 ` +
      `${yMid})">${escapeXml(options.yLabel)}</text>`,
  );
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** One range for both axes, covering every value with a 5% margin. */
function axisRange(points: [number, number][]): [number, number] {
  if (points.length === 0) return [-1, 1];
  let lo = Infinity;
  let hi = -Infinity;
  for (const [x, y] of points) {
    lo = Math.min(lo, x, y);
    hi = Math.max(hi, x, y);
  }
  const span = hi - lo || Math.abs(hi) || 1;
  return [lo - 0.05 * span, hi + 0.05 * span];
}

/** Round tick values (1, 2 or 5 times a power of ten apart): the widest spacing giving at least 4. */
export function niceTicks(lo: number, hi: number): number[] {
  const power = 10 ** Math.floor(Math.log10(hi - lo));
  const ticksFor = (step: number): number[] => {
    const ticks: number[] = [];
    for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) ticks.push(k * step);
    return ticks;
  };
  for (const m of [5, 2, 1, 0.5, 0.2]) {
    const ticks = ticksFor(m * power);
    if (ticks.length >= 4) return ticks;
  }
  return ticksFor(0.1 * power);
}

function labelFormatter(ticks: number[]): (v: number) => string {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  let biggest = 0;
  for (const t of ticks) biggest = Math.max(biggest, Math.abs(t));
  if (biggest >= 1e6 || step < 1e-4)
    return (v) =>
      v === 0 ? "0" : v.toExponential(Math.min(15, Math.max(0, Math.round(Math.log10(biggest) - Math.log10(step)))));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return (v) => {
    const s = v.toFixed(decimals);
    return /^-0(?:\.0*)?$/.test(s) ? s.slice(1) : s;
  };
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
