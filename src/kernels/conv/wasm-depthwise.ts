/**
 * Depthwise convolution on WebAssembly SIMD: `depthwise` of wasm/depthwise.ts (sixteen channels
 * of one output position in registers across every tap). Each planned convolution has its own
 * instance, whose memory holds the geometry record, the kernel, bias and affine map (copied once,
 * at load), then the input and output of the largest call so far. A call copies x in and y out
 * with set(); the affine map and a clamping activation run in WebAssembly (../epilogue.ts), any
 * other activation on y. The kernel is held here only (the layer keeps no copy).
 */
import type { Activation } from "../activations.js";
import { recordFields } from "../wasm-exports.js";
import { MemoryPlacer, align, reserve } from "../wasm-memory.js";
import type { ConvCall, ConvShape } from "./geometry.js";
import { planar, type Planar } from "./depthwise.js";
import type { WasmConvSetup } from "./wasm-setup.js";

interface DepthwiseExports {
  readonly memory: WebAssembly.Memory;
  depthwise(
    x: number,
    w: number,
    bias: number,
    y: number,
    geometry: number,
    scale: number,
    shift: number,
    lo: number,
    hi: number,
  ): void;
}

/** The geometry record's fields, in the order wasm/depthwise.ts' DepthwiseGeometry numbers them. */
const FIELDS = ["BATCH", "H", "W", "C", "M", "OH", "OW", "KH", "KW", "SH", "SW", "DH", "DW", "PH", "PW"] as const;
/** Each field's index in the record as the module numbers them, and (FIELDS) the record's length. */
type DepthwiseGeometry = Record<(typeof FIELDS)[number] | "FIELDS", number>;

/** Bytes below this address are left to the module (address 0 means "none"). */
const DATA_START = 64;

export class WasmDepthwise {
  private readonly shape: ConvShape;
  private readonly exports: DepthwiseExports;
  private readonly memory: WebAssembly.Memory;
  private readonly index: DepthwiseGeometry;
  private readonly geometryPtr: number;
  private readonly kernelPtr: number;
  private readonly biasPtr: number;
  private readonly scalePtr: number;
  private readonly shiftPtr: number;
  private readonly xPtr: number;
  /** The clamp fused into the stores ([-Infinity, Infinity]: none). */
  private readonly bounds: readonly [number, number];
  /** The epilogue left to TypeScript (null when none, linear or fused). */
  private readonly epilogue: Activation | null;
  private yPtr = 0;
  private capacity = { x: -1, y: -1 };
  private i32 = new Int32Array(0);
  private xView = new Float32Array(0);
  private yView = new Float32Array(0);
  private lastCall: ConvCall | null = null;
  private geometry: Planar | null = null;
  /** The output of the last call's size (copied out in one set()). */
  private yOut = new Float32Array(0);

  constructor({ module, shape, kernel, bias, affine, bounds, rest }: WasmConvSetup) {
    this.shape = shape;
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as DepthwiseExports;
    this.memory = this.exports.memory;
    this.index = recordFields(this.exports, "DepthwiseGeometry", [...FIELDS, "FIELDS"]) as DepthwiseGeometry;
    this.bounds = bounds;
    this.epilogue = rest;
    this.geometryPtr = DATA_START;
    const placer = new MemoryPlacer(this.memory, align(DATA_START + this.index.FIELDS * 4));
    this.kernelPtr = placer.place(kernel);
    this.biasPtr = placer.place(bias);
    this.scalePtr = placer.place(affine?.scale ?? null);
    this.shiftPtr = placer.place(affine?.shift ?? null);
    this.xPtr = placer.end;
  }

  /** Room for `x` and `y` floats (views are made again only when the memory grows). */
  private layout(x: number, y: number): void {
    const buffer = this.memory.buffer;
    if (x <= this.capacity.x && y <= this.capacity.y && this.xView.buffer === buffer) return;
    const capacity = { x: Math.max(x, this.capacity.x), y: Math.max(y, this.capacity.y) };
    this.yPtr = align(this.xPtr + capacity.x * 4);
    reserve(this.memory, this.yPtr + capacity.y * 4);
    const memory = this.memory.buffer;
    this.i32 = new Int32Array(memory, this.geometryPtr, this.index.FIELDS);
    this.xView = new Float32Array(memory, this.xPtr, capacity.x);
    this.yView = new Float32Array(memory, this.yPtr, capacity.y);
    this.capacity = capacity;
  }

  /** Copies of the kernel and the bias (if any), read back from this instance's memory. */
  held(): Float32Array[] {
    const { kernel, outChannels: F } = this.shape;
    const taps = kernel.reduce((p, k) => p * k, 1);
    const read = (ptr: number, length: number) => new Float32Array(this.memory.buffer, ptr, length).slice();
    const weights = read(this.kernelPtr, taps * F);
    return this.biasPtr === 0 ? [weights] : [weights, read(this.biasPtr, F)];
  }

  run(x: Float32Array, call: ConvCall, y: Float32Array): void {
    const { inChannels: C, outChannels: F } = this.shape;
    // The geometry of the last call object again (a ConvLSTM's steps reuse theirs): nothing allocated.
    if (call !== this.lastCall) this.geometry = planar(this.shape, call);
    this.lastCall = call;
    const g = this.geometry!;
    const xLength = call.batch * g.H * g.W * C;
    const yLength = call.batch * g.OH * g.OW * F;
    this.layout(xLength, yLength);
    const { i32, index, xView, yView } = this;
    i32[index.BATCH] = call.batch;
    i32[index.H] = g.H;
    i32[index.W] = g.W;
    i32[index.C] = C;
    i32[index.M] = F / C;
    i32[index.OH] = g.OH;
    i32[index.OW] = g.OW;
    i32[index.KH] = g.KH;
    i32[index.KW] = g.KW;
    i32[index.SH] = g.SH;
    i32[index.SW] = g.SW;
    i32[index.DH] = g.DH;
    i32[index.DW] = g.DW;
    i32[index.PH] = g.PH;
    i32[index.PW] = g.PW;
    // Whole tensors in and out with set() (a memory copy); x may be a larger workspace (channels_first).
    if (x.length === xLength) xView.set(x);
    else for (let i = 0; i < xLength; i++) xView[i] = x[i];
    const [lo, hi] = this.bounds;
    const { xPtr, kernelPtr, biasPtr, yPtr, geometryPtr, scalePtr, shiftPtr } = this;
    this.exports.depthwise(xPtr, kernelPtr, biasPtr, yPtr, geometryPtr, scalePtr, shiftPtr, lo, hi);
    if (this.yOut.length !== yLength || this.yOut.buffer !== yView.buffer)
      this.yOut = new Float32Array(yView.buffer, this.yPtr, yLength);
    y.set(this.yOut);
    if (this.epilogue !== null && yLength > 0) this.epilogue.apply(y, 0, y, 0, yLength / F, F);
  }
}
