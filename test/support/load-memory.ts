/**
 * Child process of test/load-memory.test.ts (run with --expose-gc): loads a model and prints, as
 * JSON, how much the ArrayBuffers and the WebAssembly memories (`external`) grew, against the
 * model's weight bytes. Usage: load-memory.ts MODEL KERNEL_PATH
 */
import { readFileSync } from "node:fs";
import { loadModel, setKernelPath, type KernelPath } from "../../src/node.js";

const [file, path] = process.argv.slice(2);
setKernelPath(path as KernelPath);
const bytes = new Uint8Array(readFileSync(file));
const gc = (globalThis as { gc?: () => void }).gc!;
const settle = async (): Promise<NodeJS.MemoryUsage> => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return process.memoryUsage();
};
// A first load puts the code and its caches into the baseline.
await loadModel(bytes);
const before = await settle();
const model = await loadModel(bytes);
const after = await settle();
const weightBytes = model.getWeights().reduce((n, w) => n + w.data.byteLength, 0);
process.stdout.write(
  JSON.stringify({
    weightBytes,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    external: after.external - before.external,
  }),
);
