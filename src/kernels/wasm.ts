/**
 * The WebAssembly SIMD kernel path (wasm/kernels.ts, compiled into wasm-binary.ts) and the choice
 * between it and the plain TypeScript kernels.
 *
 * Each accelerated recurrent cell gets its own instance: its memory holds a copy of the cell's
 * weights followed by a workspace (input, projection, states, scratch) sized for the last call,
 * so nothing is shared between models and the memory goes when the model does.
 */
import { KeraslessError } from "../errors.js";
import { WASM_KERNELS_BASE64 } from "./wasm-binary.js";

export type KernelPath = "wasm" | "js";

interface KernelExports {
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
  /** Only in the thread team's module (wasm/threads.ts). */
  lstmStepsParts?(...args: number[]): number;
  gruStepsParts?(...args: number[]): number;
  readonly PANEL: WebAssembly.Global;
  readonly GATE_SIGMOID: WebAssembly.Global;
  readonly GATE_HARD_SIGMOID_KERAS2: WebAssembly.Global;
  readonly GATE_HARD_SIGMOID_KERAS3: WebAssembly.Global;
}

/** undefined: not tried yet; null: not available (yet). */
let compiled: WebAssembly.Module | null | undefined;
let preferred: KernelPath | "auto" = "auto";

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (typeof WebAssembly !== "object" || typeof atob !== "function") return null;
  const bytes = decodeBase64(WASM_KERNELS_BASE64);
  // Runtimes without SIMD reject the module: they keep the TypeScript kernels.
  if (!WebAssembly.validate(bytes)) return null;
  try {
    compiled = new WebAssembly.Module(bytes);
  } catch {
    // Browsers may refuse to compile synchronously on their main thread: compile in the
    // background, and models loaded after it finishes use it.
    WebAssembly.compile(bytes).then(
      (module) => (compiled = module),
      () => undefined,
    );
  }
  return compiled;
}

/**
 * Selects the kernels for models loaded from now on: "wasm" (WebAssembly SIMD), "js" (plain
 * TypeScript) or "auto" (the default: WebAssembly SIMD where the runtime has it). Both give
 * Keras' results within the same tolerance; "js" is the reference path.
 */
export function setKernelPath(path: KernelPath | "auto"): void {
  if (path !== "wasm" && path !== "js" && path !== "auto")
    throw new KeraslessError("E_UNSUPPORTED", `unknown kernel path "${String(path)}" (wasm, js or auto)`);
  if (path === "wasm" && kernelModule() === null)
    throw new KeraslessError("E_UNSUPPORTED", "this runtime cannot run the WebAssembly SIMD kernels");
  preferred = path;
}

/** The kernels a model loaded now would use. */
export function kernelPath(): KernelPath {
  return preferred !== "js" && kernelModule() !== null ? "wasm" : "js";
}

/**
 * Threads that run recurrent sequences together with the calling thread, on WebAssembly memories
 * they share (wasm/threads.ts). The Node entry provides one (setKernelThreads); the core only
 * uses it. The calling thread blocks until its helpers are done, so predict() stays synchronous.
 */
export interface KernelTeam {
  /** Threads including the calling one. */
  readonly size: number;
  /** wasm/threads.ts compiled: its memory is imported ("env", "memory") and shared. */
  readonly module: WebAssembly.Module;
  /** Hands a shared memory (and an instance of `module` on it) to the helpers; returns its id. */
  attach(memory: WebAssembly.Memory): number;
  /** How many helpers have their instance for `id` (the team is used once all have). */
  ready(id: number): number;
  /**
   * Starts helpers 1..size-1 on `fn` with the first `count` of `args`, then (from, to) for their
   * own part, then `threads` and the barrier `counter`. Allocates nothing (it runs every step).
   */
  dispatch(id: number, fn: "lstm" | "gru", args: Int32Array, count: number, threads: number, counter: number): void;
  /** The memory is no longer used. */
  detach(id: number): void;
}

let team: KernelTeam | null = null;

/** @internal The team that cells created from now on use (null: none). */
export function setKernelTeam(next: KernelTeam | null): void {
  team = next;
}

/** Threads the recurrent kernels of models loaded now would use (1 without a team). */
export function kernelThreads(): number {
  return team !== null && kernelPath() === "wasm" ? team.size : 1;
}

/**
 * A fused sequence computes its input projection this many bytes of steps at a time (at least
 * four steps, for the product's four-row tiles): the workspace then grows with the batch, not
 * with the sequence's length.
 */
const PROJECTION_CHUNK_BYTES = 1 << 20;

/** Per-step work (multiply-adds) below which a sequence is not split between threads. */
const MIN_SPLIT_WORK = 16384;

/** The gate activations the WebAssembly gate passes compute. */
export type GateActivation = "sigmoid" | "hard_sigmoid_keras2" | "hard_sigmoid_keras3";

/** What an accelerated recurrent cell hands over (the weights are copied). */
export interface AcceleratedCell {
  readonly units: number;
  readonly stateCount: number;
  readonly projectionWidth: number;
  readonly kernel: Float32Array;
  readonly inputBias: Float32Array | null;
  readonly recurrentKernel: Float32Array;
  /** GRU reset_after: the recurrent bias row, else null. */
  readonly recurrentBias: Float32Array | null;
  /**
   * The cell whose whole step (product and gates, tanh as activation) runs in WebAssembly, with
   * its gate activation; null: the cell's own TypeScript pass runs on the workspace.
   */
  readonly fusedGates: { readonly cell: "lstm" | "gru"; readonly gate: GateActivation } | null;
}

const align = (bytes: number): number => (bytes + 15) & ~15;

/** [rows, cols] row-major → panels of `panel` columns, each [rows, width] row-major (gemmPacked's layout). */
function packPanels(matrix: Float32Array, rows: number, cols: number, panel: number): Float32Array {
  const packed = new Float32Array(rows * cols);
  let at = 0;
  for (let n = 0; n < cols; n += panel) {
    const width = Math.min(panel, cols - n);
    for (let k = 0; k < rows; k++) {
      for (let j = 0; j < width; j++) packed[at++] = matrix[k * cols + n + j];
    }
  }
  return packed;
}

/**
 * The columns of a [rows, gates*units] matrix (gate blocks side by side) reordered into `parts`
 * blocks, block k holding units k*uk.. of every gate: wasm/threads.ts' layout. parts 1: a copy.
 */
function splitUnits(matrix: Float32Array, rows: number, gates: number, units: number, parts: number): Float32Array {
  const uk = units / parts;
  const width = gates * units;
  const out = new Float32Array(matrix.length);
  for (let r = 0; r < rows; r++) {
    let to = r * width;
    for (let k = 0; k < parts; k++) {
      for (let g = 0; g < gates; g++) {
        const from = r * width + g * units + k * uk;
        out.set(matrix.subarray(from, from + uk), to);
        to += uk;
      }
    }
  }
  return out;
}

/** Each part's [rows, gates*uk] block of a split matrix, packed in panels, one after another. */
function packParts(split: Float32Array, rows: number, width: number, parts: number, panel: number): Float32Array {
  const blockWidth = width / parts;
  const out = new Float32Array(split.length);
  for (let k = 0; k < parts; k++) {
    const block = new Float32Array(rows * blockWidth);
    for (let r = 0; r < rows; r++)
      block.set(split.subarray(r * width + k * blockWidth, r * width + (k + 1) * blockWidth), r * blockWidth);
    out.set(packPanels(block, rows, blockWidth, panel), k * rows * blockWidth);
  }
  return out;
}

/** splitUnits() undone. */
function joinUnits(split: Float32Array, rows: number, gates: number, units: number, parts: number): Float32Array {
  const uk = units / parts;
  const width = gates * units;
  const out = new Float32Array(split.length);
  for (let r = 0; r < rows; r++) {
    let from = r * width;
    for (let k = 0; k < parts; k++) {
      for (let g = 0; g < gates; g++) {
        out.set(split.subarray(from, from + uk), r * width + g * units + k * uk);
        from += uk;
      }
    }
  }
  return out;
}

/** packParts() undone: the split [rows, width] matrix. */
function unpackParts(packed: Float32Array, rows: number, width: number, parts: number, panel: number): Float32Array {
  const blockWidth = width / parts;
  const out = new Float32Array(packed.length);
  for (let k = 0; k < parts; k++) {
    let at = k * rows * blockWidth;
    for (let n = 0; n < blockWidth; n += panel) {
      const w = Math.min(panel, blockWidth - n);
      for (let r = 0; r < rows; r++) {
        out.set(packed.subarray(at, at + w), r * width + k * blockWidth + n);
        at += w;
      }
    }
  }
  return out;
}

/** Memory addresses below this hold the team's barrier counters; 0 means "none" to the kernels. */
const DATA_START = 64;
const COUNTERS = [16, 32];

/**
 * One recurrent cell's WebAssembly instance. prepare() copies the input, states and mask in and
 * computes the input projection. A fused cell then runs the whole sequence (run()) or, with a
 * mask, one step at a time (step()); other cells run their own steps on `projection`, `states`
 * and `scratch` (views of the workspace). finish() copies the states out.
 *
 * With a kernel team, a fused cell whose step is large enough is split by units into one part per
 * thread (splitUnits): its weights and workspace live in a memory the team shares, and run()
 * computes the projection and the steps on all threads at once.
 */
export class WasmSequence {
  readonly fused: boolean;
  projection = new Float32Array(0);
  scratch = new Float32Array(0);
  readonly states: Float32Array[];
  private readonly kernels: KernelExports;
  private readonly memory: WebAssembly.Memory;
  /** The cell's sizes and gates (not its weights, which the memory holds). */
  private readonly cell: Pick<AcceleratedCell, "units" | "stateCount" | "projectionWidth" | "fusedGates">;
  private readonly gate: number;
  /** Unit blocks (threads) the sequence is split into; 1: not split. */
  private readonly parts: number;
  private readonly team: KernelTeam | null;
  private readonly teamId: number;
  private jobs = 0;
  /** A split sequence's job arguments (see runSplit) and a view of the barrier counters. */
  private readonly jobArgs = new Int32Array(24);
  private readonly control: Int32Array;
  private readonly kernelPtr: number;
  private readonly kernelLength: number;
  private readonly inputBiasPtr: number;
  private readonly recurrentPtr: number;
  private readonly recurrentBiasPtr: number;
  private readonly workspacePtr: number;
  private xView = new Float32Array(0);
  private maskView = new Uint8Array(0);
  private outputView = new Float32Array(0);
  private spareStateView = new Float32Array(0);
  private xPtr = 0;
  private projectionPtr = 0;
  private statePtrs: number[];
  private spareStatePtr = 0;
  private scratchPtr = 0;
  private maskPtr = 0;
  private outputPtr = 0;
  private buffer: ArrayBuffer | SharedArrayBuffer | null = null;
  private batch = -1;
  private time = -1;
  private features = -1;
  /** Steps of projection the workspace holds (the whole sequence, except on run()'s path). */
  private chunk = -1;

  constructor(module: WebAssembly.Module, cell: AcceleratedCell) {
    this.cell = {
      units: cell.units,
      stateCount: cell.stateCount,
      projectionWidth: cell.projectionWidth,
      fusedGates: cell.fusedGates,
    };
    this.fused = cell.fusedGates !== null;
    const gates = cell.projectionWidth / cell.units;
    const size = team?.size ?? 1;
    // Each part needs a few vectors of units; whether a call is worth the threads depends on
    // its batch, known at run time (runSplit).
    const split = team !== null && this.fused && cell.units % size === 0 && cell.units / size >= 4;
    this.parts = split ? size : 1;
    if (split) {
      this.team = team;
      this.memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true });
      const now = (): number => performance.now();
      this.kernels = new WebAssembly.Instance(team!.module, { env: { memory: this.memory, now } })
        .exports as unknown as KernelExports;
    } else {
      this.team = null;
      this.kernels = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
      this.memory = this.kernels.memory;
    }
    let at = DATA_START;
    const place = (values: Float32Array | null): number => {
      if (values === null) return 0;
      const ptr = at;
      at = align(at + values.length * 4);
      this.reserve(at);
      new Float32Array(this.memory.buffer, ptr, values.length).set(values);
      return ptr;
    };
    const { units, projectionWidth: width, parts } = { ...cell, parts: this.parts };
    const panel = this.kernels.PANEL.value as number;
    this.kernelLength = cell.kernel.length;
    this.kernelPtr = place(
      parts === 1 ? cell.kernel : splitUnits(cell.kernel, cell.kernel.length / width, gates, units, parts),
    );
    this.inputBiasPtr = place(
      cell.inputBias === null || parts === 1 ? cell.inputBias : splitUnits(cell.inputBias, 1, gates, units, parts),
    );
    // Every step streams the whole recurrent kernel: it is stored in panels (see gemmPacked).
    this.recurrentPtr = place(
      packParts(
        parts === 1 ? cell.recurrentKernel : splitUnits(cell.recurrentKernel, units, gates, units, parts),
        units,
        width,
        parts,
        panel,
      ),
    );
    this.recurrentBiasPtr = place(
      cell.recurrentBias === null || parts === 1
        ? cell.recurrentBias
        : splitUnits(cell.recurrentBias, 1, gates, units, parts),
    );
    this.workspacePtr = at;
    this.teamId = this.team === null ? -1 : this.team.attach(this.memory);
    this.control = new Int32Array(this.memory.buffer, 0, DATA_START / 4);
    const gateIds = {
      sigmoid: this.kernels.GATE_SIGMOID,
      hard_sigmoid_keras2: this.kernels.GATE_HARD_SIGMOID_KERAS2,
      hard_sigmoid_keras3: this.kernels.GATE_HARD_SIGMOID_KERAS3,
    };
    this.gate = cell.fusedGates === null ? 0 : (gateIds[cell.fusedGates.gate].value as number);
    this.states = new Array<Float32Array>(cell.stateCount).fill(this.projection);
    this.statePtrs = new Array<number>(cell.stateCount).fill(0);
    if (this.team !== null) release.register(this, { team: this.team, id: this.teamId });
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Lays the workspace out for this size (views are made again only when it changes). */
  private layout(batch: number, time: number, features: number, chunk: number): void {
    if (
      batch === this.batch &&
      time === this.time &&
      features === this.features &&
      chunk === this.chunk &&
      this.buffer === this.memory.buffer
    )
      return;
    const { units, projectionWidth, stateCount } = this.cell;
    let at = this.workspacePtr;
    this.xPtr = at;
    at = align(at + batch * time * features * 4);
    this.projectionPtr = at;
    at = align(at + batch * chunk * projectionWidth * 4);
    for (let k = 0; k < stateCount; k++) {
      this.statePtrs[k] = at;
      at = align(at + batch * units * 4);
    }
    // A split sequence writes every other step's h here (double buffering).
    this.spareStatePtr = at;
    at = align(at + (this.parts > 1 ? batch * units * 4 : 0));
    this.scratchPtr = at;
    at = align(at + batch * projectionWidth * 4);
    // A fused sequence writes its per-step outputs here (return_sequences).
    this.outputPtr = at;
    at = align(at + (this.fused ? batch * time * units * 4 : 0));
    this.maskPtr = at;
    at = align(at + batch * time);
    // The gate passes' partial last vectors may read up to 12 bytes past the workspace.
    this.reserve(at + 16);
    const buffer = this.memory.buffer;
    this.xView = new Float32Array(buffer, this.xPtr, batch * time * features);
    this.projection = new Float32Array(buffer, this.projectionPtr, batch * chunk * projectionWidth);
    for (let k = 0; k < stateCount; k++) this.states[k] = new Float32Array(buffer, this.statePtrs[k], batch * units);
    this.spareStateView = new Float32Array(buffer, this.spareStatePtr, this.parts > 1 ? batch * units : 0);
    this.scratch = new Float32Array(buffer, this.scratchPtr, batch * projectionWidth);
    this.outputView = new Float32Array(buffer, this.outputPtr, this.fused ? batch * time * units : 0);
    this.maskView = new Uint8Array(buffer, this.maskPtr, batch * time);
    this.buffer = buffer;
    this.batch = batch;
    this.time = time;
    this.features = features;
    this.chunk = chunk;
  }

  /**
   * Copies x, the states and the mask ([batch, time], or null) in. With a mask, or for a cell
   * that is not fused, also computes x·kernel + bias for every step (`projection`); a fused
   * unmasked sequence computes it in run(), a chunk of steps at a time.
   */
  prepare(
    x: Float32Array,
    batch: number,
    time: number,
    features: number,
    states: Float32Array[],
    mask: Uint8Array | null,
  ): void {
    const chunked = this.fused && mask === null;
    const stepBytes = batch * this.cell.projectionWidth * 4;
    const chunk = chunked
      ? Math.min(time, Math.max(4, Math.floor(PROJECTION_CHUNK_BYTES / Math.max(1, stepBytes))))
      : time;
    this.layout(batch, time, features, Math.max(1, chunk));
    this.xView.set(x);
    for (let k = 0; k < states.length; k++) this.states[k].set(states[k]);
    if (mask !== null) this.maskView.set(mask);
    if (chunked) return;
    const width = this.cell.projectionWidth;
    this.kernels.gemm(
      this.xPtr,
      features,
      this.kernelPtr,
      width,
      this.projectionPtr,
      width,
      batch * time,
      features,
      width,
      this.inputBiasPtr,
      0,
    );
  }

  /**
   * A fused cell's whole unmasked sequence. With `sequence`, step s's output of every row goes to
   * sequence[b, s, :] (processing order, as Keras returns it).
   */
  run(batch: number, time: number, backwards: boolean, sequence: Float32Array | null): void {
    const u = this.cell.units;
    const out = sequence === null ? 0 : this.outputPtr;
    const h = this.statePtrs[0];
    const lstm = this.cell.fusedGates!.cell === "lstm";
    if (this.parts === 1) {
      const { xPtr, features, kernelPtr, inputBiasPtr, projectionPtr, chunk } = this;
      if (lstm)
        this.kernels.lstmSteps(
          xPtr,
          features,
          kernelPtr,
          inputBiasPtr,
          projectionPtr,
          chunk,
          time,
          this.recurrentPtr,
          h,
          this.statePtrs[1],
          batch,
          u,
          this.gate,
          backwards ? 1 : 0,
          out,
        );
      else
        this.kernels.gruSteps(
          xPtr,
          features,
          kernelPtr,
          inputBiasPtr,
          projectionPtr,
          chunk,
          time,
          this.recurrentPtr,
          this.recurrentBiasPtr,
          this.scratchPtr,
          h,
          batch,
          u,
          this.gate,
          backwards ? 1 : 0,
          out,
        );
    } else {
      this.runSplit(lstm, batch, time, backwards, out);
    }
    if (sequence !== null) sequence.set(this.outputView);
  }

  /** run() on a split sequence: every thread of the team takes its part, or this thread all of them. */
  private runSplit(lstm: boolean, batch: number, time: number, backwards: boolean, out: number): void {
    const team = this.team!;
    const { units, projectionWidth } = this.cell;
    const worthIt = time > 0 && batch * units * projectionWidth >= MIN_SPLIT_WORK;
    const threads = worthIt && team.ready(this.teamId) === team.size - 1 ? team.size : 1;
    const counter = COUNTERS[this.jobs++ % 2];
    // Reset before the helpers start: the last job that used this counter ended two jobs ago.
    // (A view made once: a shared memory's old buffers stay valid when it grows.)
    this.control[counter >> 2] = 0;
    // The job's arguments, written in place (a streamed step allocates nothing).
    const a = this.jobArgs;
    a[0] = this.xPtr;
    a[1] = this.features;
    a[2] = this.kernelPtr;
    a[3] = this.inputBiasPtr;
    a[4] = this.projectionPtr;
    a[5] = this.chunk;
    a[6] = time;
    a[7] = this.recurrentPtr;
    let n = 8;
    if (!lstm) {
      a[n++] = this.recurrentBiasPtr;
      a[n++] = this.scratchPtr;
    }
    a[n++] = this.statePtrs[0];
    a[n++] = this.spareStatePtr;
    if (lstm) a[n++] = this.statePtrs[1];
    a[n++] = batch;
    a[n++] = units;
    a[n++] = this.gate;
    a[n++] = backwards ? 1 : 0;
    a[n++] = out;
    a[n++] = this.parts;
    if (threads > 1) team.dispatch(this.teamId, lstm ? "lstm" : "gru", a, n, threads, counter);
    // This thread takes part 0, or every part when it runs alone.
    const to = threads > 1 ? 1 : this.parts;
    const k = this.kernels;
    const ok = lstm
      ? k.lstmStepsParts!(
          a[0],
          a[1],
          a[2],
          a[3],
          a[4],
          a[5],
          a[6],
          a[7],
          a[8],
          a[9],
          a[10],
          a[11],
          a[12],
          a[13],
          a[14],
          a[15],
          a[16],
          0,
          to,
          threads,
          counter,
        )
      : k.gruStepsParts!(
          a[0],
          a[1],
          a[2],
          a[3],
          a[4],
          a[5],
          a[6],
          a[7],
          a[8],
          a[9],
          a[10],
          a[11],
          a[12],
          a[13],
          a[14],
          a[15],
          a[16],
          a[17],
          0,
          to,
          threads,
          counter,
        );
    if (ok === 0) throw new KeraslessError("E_THREADS", "a kernel thread stopped answering (10 s at a step barrier)");
    // The final h is in the spare buffer after an odd number of steps.
    if (time % 2 === 1) this.states[0].set(this.spareStateView);
  }

  /** One step of a fused cell, at time index t; rows masked at t (prepare's mask) keep their states. */
  step(t: number, time: number, batch: number, masked: boolean): void {
    const u = this.cell.units;
    const width = this.cell.projectionWidth;
    const p = this.projectionPtr + t * width * 4;
    const h = this.statePtrs[0];
    const mask = masked ? this.maskPtr + t : 0;
    // Split weights: every part's product first (they read h), then every part's gates.
    const parts = this.parts;
    const uk = u / parts;
    const blockWidth = width / parts;
    const lstm = this.cell.fusedGates!.cell === "lstm";
    for (let k = 0; k < parts; k++) {
      const packed = this.recurrentPtr + k * u * blockWidth * 4;
      if (lstm) this.kernels.gemmPacked(h, u, packed, p + k * blockWidth * 4, time * width, batch, u, blockWidth, 0, 1);
      else
        this.kernels.gemmPacked(
          h,
          u,
          packed,
          this.scratchPtr + k * blockWidth * 4,
          width,
          batch,
          u,
          blockWidth,
          this.recurrentBiasPtr === 0 ? 0 : this.recurrentBiasPtr + k * blockWidth * 4,
          0,
        );
    }
    for (let k = 0; k < parts; k++) {
      const unitOffset = k * uk * 4;
      if (lstm)
        this.kernels.lstmGates(
          p + k * blockWidth * 4,
          time * width,
          h + unitOffset,
          this.statePtrs[1] + unitOffset,
          u,
          batch,
          uk,
          this.gate,
          mask,
          time,
        );
      else
        this.kernels.gruGates(
          p + k * blockWidth * 4,
          time * width,
          this.scratchPtr + k * blockWidth * 4,
          width,
          h + unitOffset,
          h + unitOffset,
          u,
          batch,
          uk,
          this.gate,
          mask,
          time,
        );
    }
  }

  /** The cell's weights as handed over (copies, in their original layout), read back from the memory. */
  readWeights(): {
    kernel: Float32Array;
    inputBias: Float32Array | null;
    recurrentKernel: Float32Array;
    recurrentBias: Float32Array | null;
  } {
    const { units, projectionWidth: width } = this.cell;
    const parts = this.parts;
    const gates = width / units;
    const read = (ptr: number, length: number): Float32Array =>
      new Float32Array(this.memory.buffer, ptr, length).slice();
    const join = (split: Float32Array, rows: number): Float32Array =>
      parts === 1 ? split : joinUnits(split, rows, gates, units, parts);
    const inputDim = this.kernelLength / width;
    return {
      kernel: join(read(this.kernelPtr, this.kernelLength), inputDim),
      inputBias: this.inputBiasPtr === 0 ? null : join(read(this.inputBiasPtr, width), 1),
      recurrentKernel: join(
        unpackParts(read(this.recurrentPtr, units * width), units, width, parts, this.kernels.PANEL.value as number),
        units,
      ),
      recurrentBias: this.recurrentBiasPtr === 0 ? null : join(read(this.recurrentBiasPtr, width), 1),
    };
  }

  finish(states: Float32Array[]): void {
    for (let k = 0; k < states.length; k++) states[k].set(this.states[k]);
  }
}

/** A split sequence's memory is released by the team once its WasmSequence is collected. */
const release = new FinalizationRegistry<{ team: KernelTeam; id: number }>(({ team, id }) => team.detach(id));

/** The WebAssembly instance for `cell` when the selected path is "wasm", else null. */
export function accelerate(cell: AcceleratedCell): WasmSequence | null {
  const module = kernelPath() === "wasm" ? kernelModule() : null;
  return module === null ? null : new WasmSequence(module, cell);
}
