/**
 * The exports of the WebAssembly kernel module (wasm/kernels.ts, built with and without threads).
 * Pointers are byte addresses in the instance's memory; sizes count floats.
 */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  /** c = (accumulate ? c : 0) + bias + a·b (wasm/gemm.ts). */
  gemm(
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    rows: number,
    inner: number,
    cols: number,
    bias: number,
    accumulate: number,
  ): void;
  /** c = min(max(c · scale + shift, lo), hi) per column of `rows` rows lc bytes apart (wasm/gemm.ts; scale 0: none). */
  epilogueRows(
    c: number,
    lc: number,
    rows: number,
    cols: number,
    scale: number,
    shift: number,
    lo: number,
    hi: number,
  ): void;
  /** LSTM gates (tanh, `gate`) of `batch` rows in place (wasm/recurrent.ts; the ConvLSTM's positions). */
  lstmGates(
    p: number,
    pStride: number,
    h: number,
    c: number,
    sStride: number,
    batch: number,
    units: number,
    gate: number,
    mask: number,
    maskStride: number,
  ): void;
  /** Runs blocks from..to of the sequence in the job record at `job` (wasm/recurrent.ts); 0: a barrier timed out. */
  runJob(job: number, from: number, to: number, threads: number, counter: number): number;
  /** Step t of the job's sequence, every block, rows masked by the bytes at mask + b*time (0: none). */
  stepJob(job: number, t: number, mask: number): void;
  readonly PANEL: WebAssembly.Global;
  readonly GATE_SIGMOID: WebAssembly.Global;
  readonly GATE_HARD_SIGMOID_KERAS2: WebAssembly.Global;
  readonly GATE_HARD_SIGMOID_KERAS3: WebAssembly.Global;
}

/** The job record's fields (wasm/recurrent.ts, enum Job) that the host writes. */
const JOB_FIELDS = [
  "CELL",
  "X",
  "FEATURES",
  "KERNEL",
  "BIAS",
  "P",
  "CHUNK",
  "TIME",
  "PACKED",
  "RECURRENT_BIAS",
  "REC",
  "H0",
  "H1",
  "C",
  "BATCH",
  "UNITS",
  "GATE",
  "BACKWARDS",
  "OUT",
  "PARTS",
  "FIELDS",
] as const;

/** Each field's index in the record, as the module that runs the jobs numbers them. */
export type JobFields = { readonly [K in (typeof JOB_FIELDS)[number]]: number };

/**
 * A record's layout, read from the module's "<record>.NAME" exports: the order is the module's
 * alone. A name missing on either side is a build error (the host would leave a field unset).
 */
export function recordFields(exports: object, record: string, names: readonly string[]): Record<string, number> {
  const globals = exports as Record<string, WebAssembly.Global | undefined>;
  const exported = Object.keys(globals).filter((name) => name.startsWith(`${record}.`));
  if (exported.length !== names.length || names.some((name) => globals[`${record}.${name}`] === undefined))
    throw new Error(
      `the WebAssembly kernels' ${record} record (${exported.join(", ")}) is not the host's (${names.join(", ")})`,
    );
  return Object.fromEntries(names.map((name) => [name, globals[`${record}.${name}`]!.value as number]));
}

/** The recurrent job record's layout (wasm/recurrent.ts Job). */
export function jobFields(exports: object): JobFields {
  return recordFields(exports, "Job", JOB_FIELDS) as JobFields;
}

/** The job's cell, as the module numbers it. */
export function jobCell(exports: object, cell: "lstm" | "gru"): number {
  const global = (exports as Record<string, WebAssembly.Global>)[cell === "lstm" ? "JOB_LSTM" : "JOB_GRU"];
  return global.value as number;
}

/**
 * The imports of the module built with threads, on shared `memory`: the memory, and the sleep its
 * barriers wait in (wasm/recurrent.ts sleep; kernel-threads-worker.js gives its workers the same).
 * A millisecond at most, as a whole number: Atomics.wait then allocates nothing.
 */
export function teamImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  const view = new Int32Array(memory.buffer);
  const sleep = (address: number, expected: number): number =>
    Atomics.wait(view, address >> 2, expected, 1) === "timed-out" ? 1 : 0;
  return { env: { memory, sleep } };
}
