/**
 * The matrix product on WebAssembly SIMD: `gemm` of wasm/gemm.ts (4×8 and 1×16 `f32x4` tiles, float32
 * sums; the recurrent kernels use the same one). Each planned product has its own instance: its
 * memory holds the weights and bias (copied once, at load) followed by the rows of a and c for the
 * largest call so far. A call copies a in, runs the product, copies c out and applies the epilogue
 * to the copied rows.
 */
import type { Activation } from "../activations.js";
import type { KernelExports } from "../wasm-exports.js";
import { MemoryPlacer, align, reserve } from "../wasm-memory.js";

type GemmExports = Pick<KernelExports, "memory" | "gemm" | "epilogueRows">;

/** Bytes below this address are left to the module (address 0 means "none"). */
const DATA_START = 64;

export class WasmProduct {
  protected readonly exports: GemmExports;
  private readonly memory: WebAssembly.Memory;
  private readonly weightsPtr: number;
  private readonly biasPtr: number;
  private readonly aPtr: number;
  /** Where the `extra` arrays of the constructor are (0 for null). */
  protected readonly extraPtrs: number[];
  /** The epilogue (null when none or linear). */
  protected readonly epilogue: Activation | null;
  protected cPtr = 0;
  private capacity = -1;
  private aView = new Float32Array(0);
  protected cView = new Float32Array(0);

  constructor(
    module: WebAssembly.Module,
    weights: Float32Array,
    bias: Float32Array | null,
    epilogue: Activation | null,
    readonly inner: number,
    readonly cols: number,
    extra: readonly (Float32Array | null)[] = [],
  ) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as GemmExports;
    this.memory = this.exports.memory;
    this.epilogue = epilogue === null || epilogue.name === "linear" ? null : epilogue;
    const placer = new MemoryPlacer(this.memory, DATA_START);
    this.weightsPtr = placer.place(weights);
    this.biasPtr = placer.place(bias);
    this.extraPtrs = extra.map((values) => placer.place(values));
    this.aPtr = placer.end;
  }

  /** Room for `rows` rows (views are made again only when it grows). */
  private layout(rows: number): void {
    if (rows <= this.capacity && this.aView.buffer === this.memory.buffer) return;
    const capacity = Math.max(rows, this.capacity);
    this.cPtr = align(this.aPtr + capacity * this.inner * 4);
    reserve(this.memory, this.cPtr + capacity * this.cols * 4);
    this.aView = new Float32Array(this.memory.buffer, this.aPtr, capacity * this.inner);
    this.cView = new Float32Array(this.memory.buffer, this.cPtr, capacity * this.cols);
    this.capacity = capacity;
  }

  /** Copies of the weights [inner, cols] and the bias (if any), read back from this instance's memory. */
  held(): Float32Array[] {
    const read = (ptr: number, length: number) => new Float32Array(this.memory.buffer, ptr, length).slice();
    const weights = read(this.weightsPtr, this.inner * this.cols);
    return this.biasPtr === 0 ? [weights] : [weights, read(this.biasPtr, this.cols)];
  }

  /** c[cOffset + m*cols ..] = epilogue(bias + a[aOffset + m*inner ..] · weights) for m < rows (as TeamProduct's). */
  runRows(a: Float32Array, aOffset: number, rows: number, c: Float32Array, cOffset: number): void {
    const aView = this.input(rows);
    // Element loops, not subarray().set(): a call allocates nothing (streaming runs it every step).
    const aLength = rows * this.inner;
    for (let i = 0; i < aLength; i++) aView[i] = a[aOffset + i];
    this.runInput(rows, c, cOffset, this.cols);
  }

  /**
   * What runs on the product's rows in WebAssembly memory, then copies them out when it can; true
   * when it did (here: nothing, false).
   */
  protected finish(_rows: number, _c: Float32Array, _cOffset: number, _ldc: number): boolean {
    return false;
  }

  /** Where the next call's rows of a go (rows * inner values from index 0), for callers that gather them. */
  input(rows: number): Float32Array {
    this.layout(rows);
    return this.aView;
  }

  /** The product of the rows written into input(rows); row m goes to c[cOffset + m*ldc ..]. */
  runInput(rows: number, c: Float32Array, cOffset: number, ldc: number): void {
    const { inner, cols } = this;
    this.exports.gemm(this.aPtr, inner, this.weightsPtr, cols, this.cPtr, cols, rows, inner, cols, this.biasPtr, 0);
    if (this.finish(rows, c, cOffset, ldc)) return;
    const cView = this.cView;
    for (let m = 0; m < rows; m++) {
      const to = cOffset + m * ldc;
      const from = m * cols;
      for (let n = 0; n < cols; n++) c[to + n] = cView[from + n];
      if (this.epilogue !== null) this.epilogue.apply(c, to, c, to, 1, cols);
    }
  }
}
