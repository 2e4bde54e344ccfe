/**
 * The exports of the WebAssembly kernel modules (wasm/kernels.ts; wasm/threads.ts adds the thread
 * team's job runner). Pointers are byte addresses in the instance's memory; sizes count floats.
 */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
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
  gemmPacked(
    a: number,
    lda: number,
    packed: number,
    c: number,
    ldc: number,
    rows: number,
    inner: number,
    cols: number,
    bias: number,
    accumulate: number,
  ): void;
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
  gruGates(
    p: number,
    pStride: number,
    rec: number,
    recStride: number,
    hIn: number,
    hOut: number,
    sStride: number,
    batch: number,
    units: number,
    gate: number,
    mask: number,
    maskStride: number,
  ): void;
  lstmSteps(
    x: number,
    features: number,
    kernel: number,
    bias: number,
    p: number,
    chunk: number,
    time: number,
    packed: number,
    h: number,
    c: number,
    batch: number,
    units: number,
    gate: number,
    backwards: number,
    out: number,
  ): void;
  gruSteps(
    x: number,
    features: number,
    kernel: number,
    bias: number,
    p: number,
    chunk: number,
    time: number,
    packed: number,
    recurrentBias: number,
    rec: number,
    h: number,
    batch: number,
    units: number,
    gate: number,
    backwards: number,
    out: number,
  ): void;
  /** Only in the thread team's module: runs blocks from..to of the job record at `job`. */
  runJob?(job: number, from: number, to: number, threads: number, counter: number): number;
  readonly PANEL: WebAssembly.Global;
  readonly GATE_SIGMOID: WebAssembly.Global;
  readonly GATE_HARD_SIGMOID_KERAS2: WebAssembly.Global;
  readonly GATE_HARD_SIGMOID_KERAS3: WebAssembly.Global;
}

/** The job record's fields (wasm/threads.ts, enum Job) that the host writes. */
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
 * The job record's layout, read from the module's "Job.NAME" exports: the order is the module's
 * alone. A name missing on either side is a build error (the host would leave a field unset).
 */
export function jobFields(exports: object): JobFields {
  const globals = exports as Record<string, WebAssembly.Global | undefined>;
  const exported = Object.keys(globals).filter((name) => name.startsWith("Job."));
  if (exported.length !== JOB_FIELDS.length || JOB_FIELDS.some((name) => globals[`Job.${name}`] === undefined))
    throw new Error(
      `the thread kernels' job record (${exported.join(", ")}) is not the host's (${JOB_FIELDS.join(", ")})`,
    );
  return Object.fromEntries(JOB_FIELDS.map((name) => [name, globals[`Job.${name}`]!.value as number])) as JobFields;
}

/** The job's cell, as the thread module numbers it. */
export function jobCell(exports: object, cell: "lstm" | "gru"): number {
  const global = (exports as Record<string, WebAssembly.Global>)[cell === "lstm" ? "JOB_LSTM" : "JOB_GRU"];
  return global.value as number;
}
