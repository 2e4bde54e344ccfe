/**
 * The matrix product on WebAssembly SIMD: `gemmFused` of wasm/gemm.ts (4×8 `f32x4` tiles, float32
 * sums; the recurrent kernels use the same tiles). Each planned product has its own instance: its
 * memory holds the weights, bias and per-column affine map (copied once, at load) followed by the
 * rows of a and c for the largest call so far. A call copies a in, runs the product with the
 * affine map and a clamping activation fused into its stores (../epilogue.ts), and copies c out;
 * any other activation is applied to the copied rows.
 */
import type { Activation } from "../activations.js";
import { clampBounds, type ChannelAffine } from "../epilogue.js";
import type { KernelExports } from "../wasm-exports.js";
import { MemoryPlacer, align, reserve } from "../wasm-memory.js";

type GemmExports = Pick<KernelExports, "memory" | "gemmFused">;

/** Bytes below this address are left to the module (address 0 means "none"). */
const DATA_START = 64;

export class WasmProduct {
  private readonly exports: GemmExports;
  private readonly memory: WebAssembly.Memory;
  private readonly weightsPtr: number;
  private readonly biasPtr: number;
  private readonly aPtr: number;
  private readonly scalePtr: number;
  private readonly shiftPtr: number;
  /** The clamp fused into the stores ([-Infinity, Infinity]: none). */
  private readonly bounds: readonly [number, number];
  /** The epilogue left to TypeScript (null when none, linear or fused). */
  private readonly epilogue: Activation | null;
  private cPtr = 0;
  private capacity = -1;
  private aView = new Float32Array(0);
  private cView = new Float32Array(0);
  /**
   * Views of the first rows·cols values of c, by that count, for set() (a memory copy, 2-5× an
   * element loop on a 112×112 layer's rows): a convolution's blocks ask for two counts (a whole
   * block, the last one), a stream's steps for one, so after the first calls none is made.
   */
  private readonly cBlocks = new Map<number, Float32Array>();

  constructor(
    module: WebAssembly.Module,
    weights: Float32Array,
    bias: Float32Array | null,
    epilogue: Activation | null,
    readonly inner: number,
    readonly cols: number,
    affine: ChannelAffine | null = null,
  ) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as GemmExports;
    this.memory = this.exports.memory;
    const bounds = clampBounds(epilogue);
    this.bounds = bounds ?? [-Infinity, Infinity];
    this.epilogue = bounds === null ? epilogue : null;
    const placer = new MemoryPlacer(this.memory, DATA_START);
    this.weightsPtr = placer.place(weights);
    this.biasPtr = placer.place(bias);
    this.scalePtr = placer.place(affine?.scale ?? null);
    this.shiftPtr = placer.place(affine?.shift ?? null);
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
    this.cBlocks.clear();
    this.capacity = capacity;
  }

  /** Copies of the weights [inner, cols] and the bias (if any), read back from this instance's memory. */
  held(): Float32Array[] {
    const read = (ptr: number, length: number) => new Float32Array(this.memory.buffer, ptr, length).slice();
    const weights = read(this.weightsPtr, this.inner * this.cols);
    return this.biasPtr === 0 ? [weights] : [weights, read(this.biasPtr, this.cols)];
  }

  run(a: Float32Array, aOffset: number, rows: number, c: Float32Array, cOffset: number): void {
    const aView = this.input(rows);
    // Element loops, not subarray().set(): a call allocates nothing (streaming runs it every step).
    const aLength = rows * this.inner;
    for (let i = 0; i < aLength; i++) aView[i] = a[aOffset + i];
    this.runInput(rows, c, cOffset, this.cols);
  }

  /** Where the next call's rows of a go (rows * inner values from index 0), for callers that gather them. */
  input(rows: number): Float32Array {
    this.layout(rows);
    return this.aView;
  }

  /** The product of the rows written into input(rows); row m goes to c[cOffset + m*ldc ..]. */
  runInput(rows: number, c: Float32Array, cOffset: number, ldc: number): void {
    const { inner, cols, bounds } = this;
    this.exports.gemmFused(
      this.aPtr,
      inner,
      this.weightsPtr,
      cols,
      this.cPtr,
      cols,
      rows,
      inner,
      cols,
      this.biasPtr,
      this.scalePtr,
      this.shiftPtr,
      bounds[0],
      bounds[1],
    );
    const cView = this.cView;
    if (ldc === cols && this.epilogue === null) {
      // Rows back to back: one copy of the whole block.
      const count = rows * cols;
      let block = this.cBlocks.get(count);
      if (block === undefined) this.cBlocks.set(count, (block = cView.subarray(0, count)));
      c.set(block, cOffset);
      return;
    }
    for (let m = 0; m < rows; m++) {
      const to = cOffset + m * ldc;
      const from = m * cols;
      for (let n = 0; n < cols; n++) c[to + n] = cView[from + n];
      if (this.epilogue !== null) this.epilogue.apply(c, to, c, to, 1, cols);
    }
  }
}
