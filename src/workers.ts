/**
 * The Cloudflare Workers entry (`kerasless/workers`; Wrangler resolves plain `kerasless` to it
 * through the "workerd" export condition): the core entry, with the WebAssembly kernels imported
 * as a `.wasm` module that the runtime compiles when it loads the Worker, since workerd refuses to
 * compile WebAssembly from bytes at run time. SIMD128 rather than relaxed SIMD: its results do not
 * depend on the machine, so a Durable Object that moves resumes a stream with the same numbers.
 * @module kerasless in Cloudflare Workers
 */
import kernels from "./wasm/kernels-simd128.wasm";
import convKernels from "./wasm/conv-kernels-simd128.wasm";
import { useKernelModule } from "./kernels/wasm.js";

// Both kernel families: the core (matrix product, recurrent sequences) and the convolutions'.
useKernelModule(kernels, "simd128");
useKernelModule(convKernels, "simd128");

export * from "./index.js";
