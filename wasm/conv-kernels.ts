// kerasless' convolution kernels (AssemblyScript, SIMD), a module of their own: only the layers that
// convolve load it (src/kernels/conv/kernels.ts), so the recurrent-only bundle carries none of it.
// The kernels every family uses (the matrix product, recurrent sequences) are in kernels.ts.
// scripts/build-wasm.ts builds it into src/kernels/wasm-conv-binary.ts and, with relaxed SIMD,
// src/kernels/wasm-conv-relaxed-binary.ts. Pointers are byte addresses in the instance's memory;
// address 0 is never data.
export { depthwise, DepthwiseGeometry } from "./depthwise";
