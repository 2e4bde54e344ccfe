// kerasless' core WebAssembly SIMD kernels (AssemblyScript), the module's exports: the matrix
// product (gemm.ts) and the recurrent sequences and steps (recurrent.ts), which Dense, the recurrent
// layers, ConvLSTM and im2col convolutions run on. Kernels that only convolutions use go into
// conv-kernels.ts, a module of their own, so that bundles without convolutions leave them out
// (test/kernels/wasm-families.test.ts holds this module to its exports). scripts/build-wasm.ts builds
// it into src/kernels/wasm-binary.ts (own memory) and, with threads and an imported shared memory,
// into src/kernels/wasm-threads-binary.ts for a team of threads (see recurrent.ts, runJob); each
// also with relaxed SIMD. Pointers are byte addresses in the instance's memory, strides and sizes
// count float32 values. Address 0 is never data, so a zero pointer means "none".
export { gemm, PANEL } from "./gemm";
export {
  GATE_HARD_SIGMOID_KERAS2, GATE_HARD_SIGMOID_KERAS3, GATE_SIGMOID, JOB_GRU, JOB_LSTM, Job, lstmGates, runJob, stepJob,
} from "./recurrent";
