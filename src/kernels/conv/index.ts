/**
 * The convolution layers use (any spatial rank, strides, dilation, groups, explicit pads,
 * channels_last), plain and transposed, with the weights fixed at load.
 *
 * planConvolution() / planTransposedConvolution() choose the way once, when a layer's weights
 * are loaded, in one function (chooseConvBackend) whose answer the layer keeps and summaries can
 * show. Every way is tested against ./reference.ts.
 */
import type { Activation } from "../activations.js";
import { kernelPath, kernelModule } from "../wasm.js";
import { positions, type ConvCall, type ConvShape } from "./geometry.js";
import { convIm2col, convShifted, convTransposeShifted, im2colWorkspace, transposeTaps } from "./typescript.js";
import { WasmConvolution } from "./wasm.js";

export { convOutputSize, kerasPads, span, type ConvCall, type ConvShape } from "./geometry.js";
export { channelsFirst } from "./layout.js";

export type ConvBackend = "wasm-im2col" | "typescript-im2col" | "typescript-shifted";

/** The ways this runtime can run now (the tests run every one against the reference). */
export function convBackends(): ConvBackend[] {
  const typescript: ConvBackend[] = ["typescript-im2col", "typescript-shifted"];
  return kernelPath() === "wasm" ? ["wasm-im2col", ...typescript] : typescript;
}

export interface ConvChoice {
  readonly backend: ConvBackend;
  /** Why this way, in a few words (for summaries and inspect). */
  readonly reason: string;
}

/** A convolution with fixed weights; run() writes y for one call and allocates nothing. */
export interface Convolution extends ConvChoice {
  readonly shape: ConvShape;
  run(x: Float32Array, call: ConvCall, y: Float32Array): void;
}

let forced: ConvBackend | null = null;

/**
 * @internal Convolutions planned from now on use `backend` whatever their shape (null: choose
 * again). For tests that run every fixture on every way.
 */
export function forceConvBackend(backend: ConvBackend | null): void {
  forced = backend;
}

/**
 * The one place a convolution's way is chosen (measured by bench/kernels.ts, recorded in
 * docs/decisions.md). With WebAssembly: im2col onto the SIMD product, unless each group has so
 * few filters that copying the rows out costs more than SIMD saves. In TypeScript: im2col when a
 * tap's product would be thin (few input channels per group), since one long product then beats
 * many short ones; shifted products otherwise (as fast within noise, and no gather).
 */
export function chooseConvBackend(shape: ConvShape): ConvChoice {
  if (forced !== null) return { backend: forced, reason: "forced" };
  const channels = shape.inChannels / shape.groups;
  const filters = shape.outChannels / shape.groups;
  if (kernelPath() === "wasm" && filters >= WASM_MIN_FILTERS)
    return { backend: "wasm-im2col", reason: `${filters} filters per group: one SIMD product per block` };
  if (channels < IM2COL_BELOW_CHANNELS)
    return { backend: "typescript-im2col", reason: `${channels} input channels per group: one product per block` };
  return { backend: "typescript-shifted", reason: `${channels} input channels per group: one product per tap` };
}

/** Filters per group from which the WebAssembly product measured faster (docs/decisions.md). */
export const WASM_MIN_FILTERS = 8;
/** Input channels per group below which im2col measured faster in TypeScript (docs/decisions.md). */
export const IM2COL_BELOW_CHANNELS = 8;

/** Kernel [...kernel, inChannels / groups, outChannels] (Keras' layout). */
export function planConvolution(
  shape: ConvShape,
  kernel: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  choice: ConvChoice = chooseConvBackend(shape),
): Convolution {
  const module = choice.backend === "wasm-im2col" ? kernelModule() : null;
  if (module !== null) {
    const conv = new WasmConvolution(module, shape, kernel, bias, epilogue);
    return { ...choice, shape, run: (x, call, y) => conv.run(x, call, y) };
  }
  if (choice.backend === "wasm-im2col" && module === null)
    choice = { backend: "typescript-im2col", reason: "WebAssembly not ready" };
  if (choice.backend === "typescript-shifted") {
    return { ...choice, shape, run: (x, call, y) => convShifted(x, kernel, bias, epilogue, shape, call, y) };
  }
  const workspace = new Float32Array(im2colWorkspace(shape));
  const Fg = shape.outChannels / shape.groups;
  const biasPerGroup = Array.from({ length: shape.groups }, (_, g) =>
    bias === null ? null : bias.subarray(g * Fg, (g + 1) * Fg),
  );
  return {
    ...choice,
    shape,
    run: (x, call, y) => convIm2col(x, kernel, biasPerGroup, epilogue, shape, call, y, workspace),
  };
}

/** Kernel [...kernel, outChannels, inChannels / groups] (Keras' transposed layout). */
export function planTransposedConvolution(
  shape: ConvShape,
  kernel: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
): Convolution {
  const tapsCF = transposeTaps(kernel, positions(shape.kernel), shape.outChannels, shape.inChannels / shape.groups);
  return {
    backend: "typescript-shifted",
    reason: "one product per tap, scattered stride apart",
    shape,
    run: (x, call, y) => convTransposeShifted(x, tapsCF, bias, epilogue, shape, call, y),
  };
}
