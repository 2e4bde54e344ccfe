/**
 * The convolution layers use (any spatial rank, strides, dilation, groups, explicit pads,
 * channels_last), plain and transposed, with the weights fixed at load.
 *
 * planConvolution() / planTransposedConvolution() choose the way once, when a layer's weights
 * are loaded, in one function (chooseConvBackend) whose answer the layer keeps and summaries can
 * show. Every way is tested against ./reference.ts.
 */
import type { Activation } from "../activations.js";
import { applyAffine, type ChannelAffine } from "../epilogue.js";
import { threaded } from "../plan.js";
import { kernelPath, kernelModule, kernelTeam, type KernelTeam } from "../wasm.js";
import { positions, type ConvCall, type ConvShape } from "./geometry.js";
import { depthwiseConv, isDepthwise } from "./depthwise.js";
import { convKernelModule } from "./kernels.js";
import { convIm2col, convShifted, convTransposeShifted, im2colWorkspace, transposeTaps } from "./typescript.js";
import { WasmConvolution } from "./wasm.js";
import { WasmDepthwise } from "./wasm-depthwise.js";
import { wasmConvSetup } from "./wasm-setup.js";

export { convOutputSize, kerasPads, span, type ConvCall, type ConvShape } from "./geometry.js";
export { channelsFirst } from "./layout.js";

export type ConvBackend =
  "wasm-im2col" | "wasm-im2col-threads" | "typescript-im2col" | "typescript-shifted" | DepthwiseBackend;
/** The ways that run depthwise shapes only (one input channel per group: isDepthwise()). */
export type DepthwiseBackend = "wasm-depthwise" | "typescript-depthwise";

/** The ways this runtime can run now for any shape (the tests run every one against the reference). */
export function convBackends(): ConvBackend[] {
  const typescript: ConvBackend[] = ["typescript-im2col", "typescript-shifted"];
  if (kernelPath() !== "wasm") return typescript;
  return kernelTeam() !== null ? ["wasm-im2col-threads", "wasm-im2col", ...typescript] : ["wasm-im2col", ...typescript];
}

/** The ways this runtime can run now for depthwise shapes only. */
export function depthwiseBackends(): DepthwiseBackend[] {
  return kernelPath() === "wasm" ? ["wasm-depthwise", "typescript-depthwise"] : ["typescript-depthwise"];
}

const DEPTHWISE_WAYS: readonly ConvBackend[] = ["wasm-depthwise", "typescript-depthwise"];

export interface ConvChoice {
  readonly backend: ConvBackend;
  /** Why this way, in a few words (for summaries and inspect). */
  readonly reason: string;
}

/** A convolution with fixed weights; run() writes y for one call and allocates nothing. */
export interface Convolution extends ConvChoice {
  readonly shape: ConvShape;
  run(x: Float32Array, call: ConvCall, y: Float32Array): void;
  /**
   * Present when the convolution keeps its own copy of the weights (WebAssembly memory): the
   * kernel in the layout it was given and the bias (if any), read back. The layer then drops its
   * arrays, so the weights are held once.
   */
  held?(): Float32Array[];
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
  // One input channel and one group is an ordinary convolution (ConvLSTM2D on grey frames): the
  // depthwise kernel would compute its filters one value at a time (M > 1), im2col in SIMD.
  const depthwise = isDepthwise(shape) && shape.groups > 1;
  if (forced !== null && (depthwise || !DEPTHWISE_WAYS.includes(forced))) return { backend: forced, reason: "forced" };
  const team = kernelTeam();
  if (depthwise)
    return kernelPath() === "wasm"
      ? {
          backend: "wasm-depthwise",
          reason: "one input channel per group: SIMD over the channels" + oneThread(team, "depthwise"),
        }
      : { backend: "typescript-depthwise", reason: "one input channel per group: taps added channel-wise" };
  const channels = shape.inChannels / shape.groups;
  const filters = shape.outChannels / shape.groups;
  if (kernelPath() === "wasm" && filters >= WASM_MIN_FILTERS) {
    const blocks = `${filters} filters per group: one SIMD product per block`;
    // A pointwise convolution reads its input where it lies on one thread; the team would copy it
    // in and out, which measured slower at every size (bench/conv-threads.ts --sweep, decisions.md).
    const pointwise = shape.kernel.every((k) => k === 1) && shape.strides.every((s) => s === 1);
    if (team !== null && shape.groups === 1 && !pointwise)
      return { backend: "wasm-im2col-threads", reason: threaded(blocks, team.size) };
    const why = pointwise ? "pointwise: read in place" : `${shape.groups} groups`;
    return { backend: "wasm-im2col", reason: blocks + oneThread(team, why) };
  }
  if (channels < IM2COL_BELOW_CHANNELS)
    return { backend: "typescript-im2col", reason: `${channels} input channels per group: one product per block` };
  return { backend: "typescript-shifted", reason: `${channels} input channels per group: one product per tap` };
}

/** "; one thread (<why>)" when a team runs, else nothing. */
function oneThread(team: KernelTeam | null, why: string): string {
  return team === null ? "" : `; one thread (${why})`;
}

/** Filters per group from which the WebAssembly product measured faster (docs/decisions.md). */
export const WASM_MIN_FILTERS = 8;
/** Input channels per group below which im2col measured faster in TypeScript (docs/decisions.md). */
export const IM2COL_BELOW_CHANNELS = 8;

/**
 * Kernel [...kernel, inChannels / groups, outChannels] (Keras' layout). y = epilogue(affine(conv
 * + bias)): `affine` is a per-channel map after the sums (../epilogue.ts; null: none).
 */
export function planConvolution(
  shape: ConvShape,
  kernel: Float32Array,
  bias: Float32Array | null,
  epilogue: Activation | null,
  choice: ConvChoice = chooseConvBackend(shape),
  affine: ChannelAffine | null = null,
): Convolution {
  const team = choice.backend === "wasm-im2col-threads" && shape.groups === 1 ? kernelTeam() : null;
  if (team !== null) {
    // As on one thread: the WebAssembly epilogue maps whole vectors of four channels, other widths run it here.
    if (shape.outChannels % 4 !== 0 && affine !== null)
      return afterwards(holding(choice, shape, team.product(shape, kernel, bias, null)), affine, epilogue);
    return holding(choice, shape, team.product(shape, kernel, bias, epilogue, affine));
  }
  if (choice.backend === "wasm-im2col-threads")
    choice = { backend: "wasm-im2col", reason: "no thread team now, or groups > 1" };
  // im2col runs on the core kernels' product, depthwise on the convolution family's module.
  const module =
    choice.backend === "wasm-im2col" ? kernelModule() : choice.backend === "wasm-depthwise" ? convKernelModule() : null;
  const width = choice.backend === "wasm-depthwise" ? shape.outChannels : shape.outChannels / shape.groups;
  // The WebAssembly epilogue maps whole vectors of four channels: other widths have it run here.
  if (module !== null && width % 4 !== 0 && (affine !== null || epilogue !== null))
    return afterwards(planConvolution(shape, kernel, bias, null, choice), affine, epilogue);
  if (module !== null) {
    const setup = wasmConvSetup(module, shape, kernel, bias, epilogue, affine);
    const conv = choice.backend === "wasm-depthwise" ? new WasmDepthwise(setup) : new WasmConvolution(setup);
    return holding(choice, shape, conv);
  }
  if (choice.backend === "wasm-im2col" && module === null)
    choice = { backend: "typescript-im2col", reason: "WebAssembly not ready" };
  if (choice.backend === "wasm-depthwise" && module === null)
    choice = { backend: "typescript-depthwise", reason: "WebAssembly not ready" };
  if (affine !== null) return afterwards(planConvolution(shape, kernel, bias, null, choice), affine, epilogue);
  if (choice.backend === "typescript-depthwise") {
    return { ...choice, shape, run: (x, call, y) => depthwiseConv(x, kernel, bias, epilogue, shape, call, y) };
  }
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

/** `conv`, then a pass of the affine map (if any) and the epilogue (if any) over its output. */
function afterwards(conv: Convolution, affine: ChannelAffine | null, epilogue: Activation | null): Convolution {
  const F = conv.shape.outChannels;
  return {
    ...conv,
    run: (x, call, y) => {
      conv.run(x, call, y);
      const rows = call.batch * positions(call.output);
      if (affine !== null) applyAffine(y, 0, rows, affine);
      if (epilogue !== null) epilogue.apply(y, 0, y, 0, rows, F);
    },
  };
}

/**
 * A convolution that keeps its own copy of the weights. (Made outside planConvolution: closures
 * made there would keep its scope, and with it the arrays the layer drops, alive.)
 */
function holding(
  choice: ConvChoice,
  shape: ConvShape,
  conv: { run(x: Float32Array, call: ConvCall, y: Float32Array): void; held(): Float32Array[] },
): Convolution {
  return { ...choice, shape, run: (x, call, y) => conv.run(x, call, y), held: () => conv.held() };
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
