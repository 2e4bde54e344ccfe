/**
 * Depthwise convolution on WebAssembly SIMD: `depthwise` of wasm/depthwise.ts (sixteen channels
 * of one output position in registers across every tap). Each planned convolution has its own
 * instance, whose memory holds the geometry record, the kernel and bias (copied once, at load),
 * then the input and output of the largest call so far. A call copies x in, runs, and copies y
 * out through the epilogue. The kernel is held here only (the layer keeps no copy).
 */
import type { Activation } from "../activations.js";
import type { ConvCall, ConvShape } from "./geometry.js";
import { planar, type Planar } from "./depthwise.js";

interface DepthwiseExports {
  readonly memory: WebAssembly.Memory;
  depthwise(x: number, w: number, bias: number, y: number, geometry: number): void;
}

/** The geometry record's fields, in the order wasm/depthwise.ts' DepthwiseGeometry numbers them. */
const FIELDS = ["BATCH", "H", "W", "C", "M", "OH", "OW", "KH", "KW", "SH", "SW", "DH", "DW", "PH", "PW"] as const;

/** Bytes below this address are left to the module (address 0 means "none"). */
const DATA_START = 64;
const align = (bytes: number): number => (bytes + 15) & ~15;

export class WasmDepthwise {
  private readonly exports: DepthwiseExports;
  private readonly index: Record<(typeof FIELDS)[number], number>;
  private readonly geometryPtr: number;
  private readonly kernelPtr: number;
  private readonly biasPtr: number;
  private readonly xPtr: number;
  private readonly epilogue: Activation | null;
  private yPtr = 0;
  private capacity = { x: -1, y: -1 };
  private i32 = new Int32Array(0);
  private xView = new Float32Array(0);
  private yView = new Float32Array(0);
  private lastCall: ConvCall | null = null;
  private geometry: Planar | null = null;

  constructor(
    module: WebAssembly.Module,
    private readonly shape: ConvShape,
    kernel: Float32Array,
    bias: Float32Array | null,
    epilogue: Activation | null,
  ) {
    const exports = new WebAssembly.Instance(module, {}).exports as unknown as DepthwiseExports &
      Record<string, WebAssembly.Global | undefined>;
    this.exports = exports;
    this.index = Object.fromEntries(
      FIELDS.map((name) => {
        const global = exports[`DepthwiseGeometry.${name}`];
        if (global === undefined) throw new Error(`the WebAssembly kernels have no DepthwiseGeometry.${name}`);
        return [name, global.value as number];
      }),
    ) as Record<(typeof FIELDS)[number], number>;
    this.epilogue = epilogue === null || epilogue.name === "linear" ? null : epilogue;
    this.geometryPtr = DATA_START;
    let at = align(DATA_START + FIELDS.length * 4);
    const place = (values: Float32Array | null): number => {
      if (values === null) return 0;
      const ptr = at;
      at = align(at + values.length * 4);
      this.reserve(at);
      new Float32Array(this.exports.memory.buffer, ptr, values.length).set(values);
      return ptr;
    };
    this.kernelPtr = place(kernel);
    this.biasPtr = place(bias);
    this.xPtr = at;
  }

  private reserve(bytes: number): void {
    const memory = this.exports.memory;
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Room for `x` and `y` floats (views are made again only when the memory grows). */
  private layout(x: number, y: number): void {
    const buffer = this.exports.memory.buffer;
    if (x <= this.capacity.x && y <= this.capacity.y && this.xView.buffer === buffer) return;
    const capacity = { x: Math.max(x, this.capacity.x), y: Math.max(y, this.capacity.y) };
    this.yPtr = align(this.xPtr + capacity.x * 4);
    this.reserve(this.yPtr + capacity.y * 4);
    const memory = this.exports.memory.buffer;
    this.i32 = new Int32Array(memory, this.geometryPtr, FIELDS.length);
    this.xView = new Float32Array(memory, this.xPtr, capacity.x);
    this.yView = new Float32Array(memory, this.yPtr, capacity.y);
    this.capacity = capacity;
  }

  /** Copies of the kernel and the bias (if any), read back from this instance's memory. */
  held(): Float32Array[] {
    const { kernel, outChannels: F } = this.shape;
    const taps = kernel.reduce((p, k) => p * k, 1);
    const read = (ptr: number, length: number) => new Float32Array(this.exports.memory.buffer, ptr, length).slice();
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
    for (let i = 0; i < xLength; i++) xView[i] = x[i];
    this.exports.depthwise(this.xPtr, this.kernelPtr, this.biasPtr, this.yPtr, this.geometryPtr);
    for (let i = 0; i < yLength; i++) y[i] = yView[i];
    if (this.epilogue !== null && yLength > 0) this.epilogue.apply(y, 0, y, 0, yLength / F, F);
  }
}
