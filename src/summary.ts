/** A model summary table in the style of Keras 3's model.summary(). */
import type { Call } from "./graph/call.js";
import type { GraphView } from "./graph/types.js";
import type { Layer, Shape } from "./layers/layer.js";

export interface LayerRow {
  readonly name: string;
  readonly className: string;
  readonly outputShapes: Shape[];
  readonly params: number;
  readonly connectedTo: string[];
}

export interface SummaryData {
  readonly name: string;
  readonly className: string;
  readonly rows: LayerRow[];
  readonly trainableParams: number;
  readonly nonTrainableParams: number;
}

export function summarize(graph: GraphView): SummaryData {
  const calls = graph.calls;
  // Each layer's calls in graph order, gathered in one pass.
  const callsOf = new Map<Layer, Call[]>();
  for (const call of calls) {
    const list = callsOf.get(call.layer);
    if (list === undefined) callsOf.set(call.layer, [call]);
    else list.push(call);
  }
  const rows: LayerRow[] = [];
  let trainableParams = 0;
  let nonTrainableParams = 0;
  for (const layer of graph.layers) {
    const layerCalls = callsOf.get(layer) ?? [];
    const first = layerCalls[0];
    const counts = layer.paramCounts();
    trainableParams += counts.trainable;
    nonTrainableParams += counts.nonTrainable;
    rows.push({
      name: layer.name,
      className: layer.className,
      outputShapes: first?.outputShapes ?? [],
      params: counts.trainable + counts.nonTrainable,
      connectedTo: layerCalls.flatMap((c) =>
        c.inputs.map(([producer, tensor]) => `${calls[producer].layer.name}[${calls[producer].node}][${tensor}]`),
      ),
    });
  }
  return { name: graph.name, className: graph.className, rows, trainableParams, nonTrainableParams };
}

export function formatOutputShapes(shapes: Shape[]): string {
  const one = (s: Shape): string =>
    `(${s.map((d) => (d === null ? "None" : String(d))).join(", ")}${s.length === 1 ? "," : ""})`;
  return shapes.length === 1 ? one(shapes[0]) : `[${shapes.map(one).join(", ")}]`;
}

/** Keras' readable memory size: 4 bytes per float32 parameter. */
export function readableSize(params: number): string {
  let bytes = params * 4;
  for (const unit of ["B", "KB", "MB", "GB"]) {
    if (bytes < 1024 || unit === "GB") return `${bytes.toFixed(2)} ${unit}`;
    bytes /= 1024;
  }
  return "";
}

/** Widest a column gets: longer cells (a shared layer's list of calls) are cut, so that the table grows linearly. */
const MAX_COLUMN = 200;

function fit(text: string): string {
  return text.length <= MAX_COLUMN ? text : `${text.slice(0, MAX_COLUMN - 1)}…`;
}

/** An integer with thousands separators, as toLocaleString("en-US") writes it (without Intl's cost per row). */
function grouped(n: number): string {
  const digits = String(Math.abs(n));
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${out}` : out;
}

export function formatSummary(data: SummaryData): string {
  const functional = data.className === "Functional";
  const header = ["Layer (type)", "Output Shape", "Param #"];
  if (functional) header.push("Connected to");
  const body = data.rows.map((r) => {
    const row = [fit(`${r.name} (${r.className})`), fit(formatOutputShapes(r.outputShapes)), grouped(r.params)];
    if (functional) row.push(fit(r.connectedTo.join(", ") || "-"));
    return row;
  });
  const widths = header.map((h, i) => {
    let width = Math.max(i === 0 ? 31 : i === 1 ? 22 : 13, h.length);
    for (const row of body) width = Math.max(width, row[i].length);
    return width;
  });
  const cell = (text: string, i: number): ` ${string} ` =>
    ` ${i === 2 ? text.padStart(widths[i]) : text.padEnd(widths[i])} `;
  const line = (l: string, m: string, r: string, fill: string): string =>
    l + widths.map((w) => fill.repeat(w + 2)).join(m) + r;
  const lines = [
    `Model: "${data.name}"`,
    line("┏", "┳", "┓", "━"),
    `┃${header.map(cell).join("┃")}┃`,
    line("┡", "╇", "┩", "━"),
  ];
  const between = line("├", "┼", "┤", "─");
  body.forEach((row, k) => {
    lines.push(`│${row.map(cell).join("│")}│`);
    lines.push(k === body.length - 1 ? line("└", "┴", "┘", "─") : between);
  });
  const total = data.trainableParams + data.nonTrainableParams;
  lines.push(` Total params: ${grouped(total)} (${readableSize(total)})`);
  lines.push(` Trainable params: ${grouped(data.trainableParams)} (${readableSize(data.trainableParams)})`);
  lines.push(` Non-trainable params: ${grouped(data.nonTrainableParams)} (${readableSize(data.nonTrainableParams)})`);
  return lines.join("\n");
}
