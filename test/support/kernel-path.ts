/** KERASLESS_KERNELS=js|wasm runs a test process on one kernel path (default: auto, i.e. wasm in Node). */
import { setKernelPath } from "../../src/kernels/wasm.js";

const selected = process.env.KERASLESS_KERNELS;
if (selected === "js" || selected === "wasm") setKernelPath(selected);
else if (selected !== undefined && selected !== "" && selected !== "auto")
  throw new Error(`KERASLESS_KERNELS must be js, wasm or auto, not "${selected}"`);
