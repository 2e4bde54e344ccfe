// The thread team's module (scripts/build-wasm.ts builds it with threads, on an imported shared
// memory): every kernel of kernels.ts, and the jobs that split convolutions and matrix products
// by output rows (products.ts), which only a team runs (the browser's module leaves them out).
export * from "./kernels";
export { JOB_PRODUCT, PRODUCT_BLOCK_ROWS, ProductJob } from "./products";
