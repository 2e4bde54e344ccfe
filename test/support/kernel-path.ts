/**
 * KERASLESS_KERNELS=js|wasm|wasm-simd128 runs a test process on one kernel path (default: auto,
 * i.e. wasm in Node, with relaxed SIMD where the runtime has it; wasm-simd128: never relaxed).
 */
import { setKernelPath, setWasmFeatures } from "../../src/kernels/wasm.js";

const selected = process.env.KERASLESS_KERNELS;
if (selected === "wasm-simd128") setWasmFeatures("simd128");
if (selected === "js" || selected === "wasm" || selected === "wasm-simd128")
  setKernelPath(selected === "js" ? "js" : "wasm");
else if (selected !== undefined && selected !== "" && selected !== "auto")
  throw new Error(`KERASLESS_KERNELS must be js, wasm, wasm-simd128 or auto, not "${selected}"`);
