/**
 * Convolution by im2col onto the WebAssembly SIMD product: each block of output positions gathers
 * its receptive fields straight into the product's input rows in WebAssembly memory, and one
 * call per group gives them. One product (own memory) per group, its weights [taps·Cg, Fg].
 */
import type { Activation } from "../activations.js";
import type { ChannelAffine } from "../epilogue.js";
import { WasmProduct } from "../gemm/wasm.js";
import { positions, type ConvCall, type ConvShape } from "./geometry.js";
import type { WasmConvSetup } from "./wasm-setup.js";
import { IM2COL_BLOCK_ROWS, gatherBlock } from "./typescript.js";
import { planar } from "./depthwise.js";

export class WasmConvolution {
  private readonly shape: ConvShape;
  private readonly products: WasmProduct[];
  /** The epilogue left for after the groups (null when fused into the single group's product). */
  private readonly after: Activation | null;
  /** A 1x1 convolution with stride 1 and one group: its im2col rows are the input's rows as they are. */
  private readonly pointwise: boolean;

  constructor({ module, shape, kernel, bias, affine, bounds, rest }: WasmConvSetup) {
    this.shape = shape;
    const { groups, outChannels: F } = shape;
    const Fg = F / groups;
    const width = kernel.length / F;
    // Each group's product stores its columns: an activation that needs whole rows runs after them
    // (such an activation is no clamp: there are no bounds then).
    const perGroup = groups === 1 || rest === null || rest.elementwise;
    this.after = perGroup ? null : rest;
    this.pointwise = groups === 1 && shape.kernel.every((k, a) => k === 1 && shape.strides[a] === 1);
    this.products = Array.from({ length: groups }, (_, g) => {
      const weights = new Float32Array(width * Fg);
      for (let r = 0; r < width; r++) weights.set(kernel.subarray(r * F + g * Fg, r * F + (g + 1) * Fg), r * Fg);
      const part = (values: Float32Array) => values.subarray(g * Fg, (g + 1) * Fg);
      const groupBias = bias === null ? null : part(bias);
      const groupAffine = affine === null ? null : { scale: part(affine.scale), shift: part(affine.shift) };
      const groupRest = perGroup ? rest : null;
      return new EpilogueProduct(module, weights, groupBias, width, Fg, groupAffine, bounds, groupRest);
    });
  }

  /** The kernel [taps · Cg, F] and bias (if any) as given, put back together from the groups' products. */
  held(): Float32Array[] {
    const { groups, outChannels: F } = this.shape;
    const Fg = F / groups;
    const parts = this.products.map((p) => p.held());
    const width = parts[0][0].length / Fg;
    const kernel = new Float32Array(width * F);
    parts.forEach(([weights], g) => {
      for (let r = 0; r < width; r++) kernel.set(weights.subarray(r * Fg, (r + 1) * Fg), r * F + g * Fg);
    });
    if (parts[0].length === 1) return [kernel];
    const bias = new Float32Array(F);
    parts.forEach(([, groupBias], g) => bias.set(groupBias, g * Fg));
    return [kernel, bias];
  }

  run(x: Float32Array, call: ConvCall, y: Float32Array): void {
    const { groups, outChannels: F } = this.shape;
    const Fg = F / groups;
    const outSize = positions(call.output);
    // A 1x1 convolution without padding reads each output position's input row as it is.
    const rowsAsThey = this.pointwise && call.padsBegin.every((p, a) => p === 0 && call.input[a] === call.output[a]);
    const plane = this.shape.kernel.length <= 2 ? planar(this.shape, call) : null;
    for (let b = 0; b < call.batch; b++) {
      const yBatch = b * outSize * F;
      for (let start = 0; start < outSize; start += IM2COL_BLOCK_ROWS) {
        const rows = Math.min(IM2COL_BLOCK_ROWS, outSize - start);
        if (rowsAsThey) {
          const product = this.products[0];
          const input = product.input(rows);
          const from = (b * outSize + start) * this.shape.inChannels;
          // One memory copy: a view of x per block (measured 2-5× faster than an element loop).
          input.set(x.subarray(from, from + rows * this.shape.inChannels));
          product.runInput(rows, y, yBatch + start * F, F);
          continue;
        }
        for (let g = 0; g < groups; g++) {
          const product = this.products[g];
          gatherBlock(x, b, g, this.shape, call, start, rows, product.input(rows), plane);
          product.runInput(rows, y, yBatch + start * F + g * Fg, F);
        }
      }
      if (this.after !== null) this.after.apply(y, yBatch, y, yBatch, outSize, F);
    }
  }
}

/**
 * The product of a convolution's group with its epilogue (../epilogue.ts) run in WebAssembly
 * memory by `epilogueRows` (wasm/gemm.ts) before the rows are copied out: the per-channel affine
 * map, then a clamping activation; any other activation runs in TypeScript on the copied rows.
 */
class EpilogueProduct extends WasmProduct {
  /**
   * Views of the first rows·cols values of c, by that count, for set() (a memory copy, 2-5× an
   * element loop on a 112×112 layer's rows): a convolution asks for two counts (a whole block, the
   * last one), so after the first calls none is made.
   */
  private readonly blocks = new Map<number, Float32Array>();

  constructor(
    module: WebAssembly.Module,
    weights: Float32Array,
    bias: Float32Array | null,
    inner: number,
    cols: number,
    affine: ChannelAffine | null,
    private readonly bounds: readonly [number, number],
    rest: Activation | null,
  ) {
    super(module, weights, bias, rest, inner, cols, [affine?.scale ?? null, affine?.shift ?? null]);
  }

  protected override finish(rows: number, c: Float32Array, cOffset: number, ldc: number): boolean {
    const [scale, shift] = this.extraPtrs;
    const [lo, hi] = this.bounds;
    const cols = this.cols;
    if (scale !== 0 || lo > -Infinity || hi < Infinity)
      this.exports.epilogueRows(this.cPtr, cols * 4, rows, cols, scale, shift, lo, hi);
    if (ldc !== cols || this.epilogue !== null) return false;
    // Rows back to back: one copy of the whole block.
    const count = rows * cols;
    let block = this.blocks.get(count);
    if (block === undefined || block.buffer !== this.cView.buffer || block.byteOffset !== this.cPtr)
      this.blocks.set(count, (block = this.cView.subarray(0, count)));
    c.set(block, cOffset);
    return true;
  }
}
