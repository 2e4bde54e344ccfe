/** The recurrent kernels' import path for the matrix product, which lives in ./gemm/. */
export { gemm } from "./gemm/typescript.js";
