/** bench/serve-load.ts' table (for docs/serving.md) and issue 17's targets, met or not. */

/** bench/serve-load.ts' HTTP floor: a node:http server that parses the body and answers a constant. */
export const FLOOR = "http-floor";

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface Row {
  model: string;
  batching: boolean;
  connections: number;
  requestsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  healthP99Ms: Spread;
  cpuMsPerRequest: Spread;
  rowsPerBatch: Spread;
  /** Errors, timeouts and non-2xx answers over all runs of the line. */
  errors: number;
}

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    "| model | batching | connections | req/s | p50 ms | p99 ms | rows per batch | server CPU ms/request " +
      "| health p99 ms | errors |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const rps = r.requestsPerSecond;
    lines.push(
      `| ${r.model} | ${r.model === FLOOR ? "-" : r.batching ? "on" : "off"} | ${r.connections} | ` +
        `${rps.median.toFixed(0)} (${rps.min.toFixed(0)}-${rps.max.toFixed(0)}) | ` +
        `${r.p50Ms.median} | ${r.p99Ms.median} | ` +
        `${r.rowsPerBatch.median.toFixed(1)} | ${r.cpuMsPerRequest.median.toFixed(3)} | ` +
        `${r.healthP99Ms.median.toFixed(1)} | ${r.errors} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const find = (rows: readonly Row[], model: string, batching: boolean, connections: number): Row | undefined =>
  rows.find((r) => r.model === model && r.batching === batching && r.connections === connections);

/** The best median requests/s of a model and setting over the concurrencies: its capacity here. */
const peak = (rows: readonly Row[], model: string, batching: boolean): number =>
  Math.max(...rows.filter((r) => r.model === model && r.batching === batching).map((r) => r.requestsPerSecond.median));

/** Issue 17's three targets, each with the figures it was judged on. */
export function targets(rows: readonly Row[]): string {
  const out: string[] = ["Targets (issue 17, section 3):"];
  const say = (met: boolean | undefined, text: string): number =>
    out.push(`- ${met === undefined ? "NOT MEASURED" : met ? "MET" : "NOT MET"}: ${text}`);
  const errors = rows.filter((r) => r.model !== FLOOR).reduce((n, r) => n + r.errors, 0);
  say(errors === 0, `zero errors (${errors} errors, timeouts or non-2xx answers in all runs)`);
  if (rows.some((r) => r.model === "lstm128")) {
    const on = peak(rows, "lstm128", true);
    const off = peak(rows, "lstm128", false);
    const at = [16, 64, 256]
      .map((c) => [c, find(rows, "lstm128", true, c), find(rows, "lstm128", false, c)] as const)
      .filter(([, a, b]) => a !== undefined && b !== undefined)
      .map(([c, a, b]) => `${(a!.requestsPerSecond.median / b!.requestsPerSecond.median).toFixed(2)}x at ${c}`);
    say(
      on >= 3 * off,
      `LSTM(128) throughput with batching >= 3x without: peak ${on.toFixed(0)} vs ${off.toFixed(0)} req/s = ` +
        `${(on / off).toFixed(2)}x (${at.join(", ")})`,
    );
  } else say(undefined, "LSTM(128) throughput with batching >= 3x without");
  const seed = find(rows, "seed", true, 64);
  const seedOff = find(rows, "seed", false, 64);
  const floor = find(rows, FLOOR, false, 64);
  say(
    seed === undefined ? undefined : seed.p99Ms.median < 5,
    `seed p99 under 5 ms at 64 connections (the default, batching on): ` +
      (seed === undefined
        ? "not run"
        : `${seed.p99Ms.median} ms (runs ${seed.p99Ms.min}-${seed.p99Ms.max}); without batching ` +
          `${seedOff?.p99Ms.median ?? "-"} ms; the HTTP floor (no model) ${floor?.p99Ms.median ?? "-"} ms`),
  );
  return `${out.join("\n")}\n`;
}
