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
  gemm(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, rows: number, inner: number, cols: number, bias: number, accumulate: number): void;
  gemmPacked(a: number, lda: number, packed: number, c: number, ldc: number, rows: number, inner: number, cols: number, bias: number, accumulate: number): void;
  lstmGates(p: number, rowStride: number, h: number, c: number, batch: number, units: number, gate: number, mask: number, maskStride: number): void;
  gruGates(p: number, rowStride: number, rec: number, h: number, batch: number, units: number, gate: number, mask: number, maskStride: number): void;
  lstmSteps(p: number, time: number, packed: number, h: number, c: number, batch: number, units: number, gate: number, backwards: number, out: number): void;
  gruSteps(p: number, time: number, packed: number, recurrentBias: number, rec: number, h: number, batch: number, units: number, gate: number, backwards: number, out: number): void;
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

function kernelModule(): WebAssembly.Module | null {
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
  if (path !== "wasm" && path !== "js" && path !== "auto") throw new KeraslessError("E_UNSUPPORTED", `unknown kernel path "${String(path)}" (wasm, js or auto)`);
  if (path === "wasm" && kernelModule() === null) throw new KeraslessError("E_UNSUPPORTED", "this runtime cannot run the WebAssembly SIMD kernels");
  preferred = path;
}

/** The kernels a model loaded now would use. */
export function kernelPath(): KernelPath {
  return preferred !== "js" && kernelModule() !== null ? "wasm" : "js";
}

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
 * One recurrent cell's WebAssembly instance. prepare() copies the input, states and mask in and
 * computes the input projection. A fused cell then runs the whole sequence (run()) or, with a
 * mask, one step at a time (step()); other cells run their own steps on `projection`, `states`
 * and `scratch` (views of the workspace). finish() copies the states out.
 */
export class WasmSequence {
  readonly fused: boolean;
  projection = new Float32Array(0);
  scratch = new Float32Array(0);
  readonly states: Float32Array[];
  private readonly kernels: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private readonly cell: AcceleratedCell;
  private readonly gate: number;
  private readonly kernelPtr: number;
  private readonly inputBiasPtr: number;
  private readonly recurrentPtr: number;
  private readonly recurrentBiasPtr: number;
  private readonly workspacePtr: number;
  private xView = new Float32Array(0);
  private maskView = new Uint8Array(0);
  private outputView = new Float32Array(0);
  private projectionPtr = 0;
  private statePtrs: number[];
  private scratchPtr = 0;
  private maskPtr = 0;
  private outputPtr = 0;
  private buffer: ArrayBuffer | null = null;
  private batch = -1;
  private time = -1;
  private features = -1;

  constructor(module: WebAssembly.Module, cell: AcceleratedCell) {
    this.kernels = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    this.memory = this.kernels.memory;
    this.cell = cell;
    // Address 0 means "none" (no bias, no mask) to the kernels, so data starts at 16.
    let at = 16;
    const place = (values: Float32Array | null): number => {
      if (values === null) return 0;
      const ptr = at;
      at = align(at + values.length * 4);
      this.reserve(at);
      new Float32Array(this.memory.buffer, ptr, values.length).set(values);
      return ptr;
    };
    this.kernelPtr = place(cell.kernel);
    this.inputBiasPtr = place(cell.inputBias);
    // Every step streams the whole recurrent kernel: it is stored in panels (see gemmPacked).
    this.recurrentPtr = place(packPanels(cell.recurrentKernel, cell.units, cell.projectionWidth, this.kernels.PANEL.value as number));
    this.recurrentBiasPtr = place(cell.recurrentBias);
    this.workspacePtr = at;
    this.fused = cell.fusedGates !== null;
    const gates = { sigmoid: this.kernels.GATE_SIGMOID, hard_sigmoid_keras2: this.kernels.GATE_HARD_SIGMOID_KERAS2, hard_sigmoid_keras3: this.kernels.GATE_HARD_SIGMOID_KERAS3 };
    this.gate = cell.fusedGates === null ? 0 : (gates[cell.fusedGates.gate].value as number);
    this.states = new Array<Float32Array>(cell.stateCount).fill(this.projection);
    this.statePtrs = new Array<number>(cell.stateCount).fill(0);
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Lays the workspace out for this size (views are made again only when it changes). */
  private layout(batch: number, time: number, features: number): void {
    if (batch === this.batch && time === this.time && features === this.features && this.buffer === this.memory.buffer) return;
    const { units, projectionWidth, stateCount } = this.cell;
    let at = this.workspacePtr;
    const xPtr = at;
    at = align(at + batch * time * features * 4);
    this.projectionPtr = at;
    at = align(at + batch * time * projectionWidth * 4);
    for (let k = 0; k < stateCount; k++) {
      this.statePtrs[k] = at;
      at = align(at + batch * units * 4);
    }
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
    this.xView = new Float32Array(buffer, xPtr, batch * time * features);
    this.projection = new Float32Array(buffer, this.projectionPtr, batch * time * projectionWidth);
    for (let k = 0; k < stateCount; k++) this.states[k] = new Float32Array(buffer, this.statePtrs[k], batch * units);
    this.scratch = new Float32Array(buffer, this.scratchPtr, batch * projectionWidth);
    this.outputView = new Float32Array(buffer, this.outputPtr, this.fused ? batch * time * units : 0);
    this.maskView = new Uint8Array(buffer, this.maskPtr, batch * time);
    this.buffer = buffer;
    this.batch = batch;
    this.time = time;
    this.features = features;
  }

  /** Copies x, the states and the mask ([batch, time], or null) in and computes x·kernel + bias. */
  prepare(x: Float32Array, batch: number, time: number, features: number, states: Float32Array[], mask: Uint8Array | null): void {
    this.layout(batch, time, features);
    this.xView.set(x);
    for (let k = 0; k < states.length; k++) this.states[k].set(states[k]);
    if (mask !== null) this.maskView.set(mask);
    const width = this.cell.projectionWidth;
    this.kernels.gemm(this.xView.byteOffset, features, this.kernelPtr, width, this.projectionPtr, width, batch * time, features, width, this.inputBiasPtr, 0);
  }

  /**
   * A fused cell's whole unmasked sequence in one call. With `sequence`, step s's output of every
   * row goes to sequence[b, s, :] (processing order, as Keras returns it).
   */
  run(batch: number, time: number, backwards: boolean, sequence: Float32Array | null): void {
    const u = this.cell.units;
    const out = sequence === null ? 0 : this.outputPtr;
    const h = this.statePtrs[0];
    if (this.cell.fusedGates!.cell === "lstm") {
      this.kernels.lstmSteps(this.projectionPtr, time, this.recurrentPtr, h, this.statePtrs[1], batch, u, this.gate, backwards ? 1 : 0, out);
    } else {
      this.kernels.gruSteps(this.projectionPtr, time, this.recurrentPtr, this.recurrentBiasPtr, this.scratchPtr, h, batch, u, this.gate, backwards ? 1 : 0, out);
    }
    if (sequence !== null) sequence.set(this.outputView);
  }

  /** One step of a fused cell, at time index t; rows masked at t (prepare's mask) keep their states. */
  step(t: number, time: number, batch: number, masked: boolean): void {
    const u = this.cell.units;
    const width = this.cell.projectionWidth;
    const p = this.projectionPtr + t * width * 4;
    const h = this.statePtrs[0];
    const mask = masked ? this.maskPtr + t : 0;
    if (this.cell.fusedGates!.cell === "lstm") {
      this.kernels.gemmPacked(h, u, this.recurrentPtr, p, time * width, batch, u, width, 0, 1);
      this.kernels.lstmGates(p, time * width, h, this.statePtrs[1], batch, u, this.gate, mask, time);
    } else {
      this.kernels.gemmPacked(h, u, this.recurrentPtr, this.scratchPtr, width, batch, u, width, this.recurrentBiasPtr, 0);
      this.kernels.gruGates(p, time * width, this.scratchPtr, h, batch, u, this.gate, mask, time);
    }
  }

  finish(states: Float32Array[]): void {
    for (let k = 0; k < states.length; k++) states[k].set(this.states[k]);
  }
}

/** The WebAssembly instance for `cell` when the selected path is "wasm", else null. */
export function accelerate(cell: AcceleratedCell): WasmSequence | null {
  const module = kernelPath() === "wasm" ? kernelModule() : null;
  return module === null ? null : new WasmSequence(module, cell);
}
