/**
 * The convolution kernel family (wasm/conv-kernels.ts): embedded here, where only the convolution
 * layers reach it, so that bundles without convolutions (kerasless/recurrent) leave its bytes out.
 */
import { kernelModule, type KernelFamily } from "../wasm.js";
import { WASM_CONV_KERNELS_BASE64 } from "../wasm-conv-binary.js";

export const CONV_KERNELS: KernelFamily = { name: "conv", simd128: WASM_CONV_KERNELS_BASE64 };

/** The compiled convolution kernels, or null where the runtime cannot run them (yet). */
export const convKernelModule = (): WebAssembly.Module | null => kernelModule(CONV_KERNELS);
