// @ts-check
/**
 * A kernel worker thread: keeps an instance of the team's kernels for every shared memory it is
 * given, and runs its block of each job posted in the control block (see kernel-threads.ts): the
 * job's arguments are a record in the shared memory, which only the WebAssembly reads.
 * Plain JavaScript, so that it starts as it is under any loader; the control block's layout
 * comes in workerData.
 */
import { parentPort, workerData } from "node:worker_threads";

/** How long a worker spins for the next job before it sleeps: sequences often come back to back. */
const SPIN_MS = 2;
/** Jobs in a row after which the worker lets its message queue in (new memories to attach). */
const JOBS_BETWEEN_MESSAGES = 64;

/** @type {{ module: WebAssembly.Module, control: Int32Array, index: number, layout: Record<string, number> }} */
const { module, control, index, layout } = workerData;
const port = /** @type {import("node:worker_threads").MessagePort} */ (parentPort);
/** @type {Map<number, Record<string, (...args: number[]) => number>>} */
const instances = new Map();
const now = () => performance.now();

port.on("message", (message) => {
  if (message.type === "attach") {
    const view = new Int32Array(message.memory.buffer);
    // The barriers' sleep: teamImports() of src/kernels/wasm-exports.ts (this file imports no project code).
    const sleep = (/** @type {number} */ address, /** @type {number} */ expected) =>
      Atomics.wait(view, address >> 2, expected, 1) === "timed-out" ? 1 : 0;
    const instance = new WebAssembly.Instance(module, { env: { memory: message.memory, sleep } });
    instances.set(message.id, /** @type {any} */ (instance.exports));
    port.postMessage({ type: "attached", id: message.id });
  } else if (message.type === "detach") {
    instances.delete(message.id);
  }
});

async function serve() {
  let seen = Atomics.load(control, layout.SEQUENCE);
  let jobs = 0;
  for (;;) {
    const spinUntil = now() + SPIN_MS;
    while (Atomics.load(control, layout.SEQUENCE) === seen && now() < spinUntil);
    if (Atomics.load(control, layout.SEQUENCE) === seen || ++jobs % JOBS_BETWEEN_MESSAGES === 0) {
      // Sleep without blocking the event loop, so that attach messages get in.
      const waiting = /** @type {any} */ (Atomics).waitAsync(control, layout.SEQUENCE, seen);
      if (waiting.async) await waiting.value;
      else await new Promise((resolve) => setImmediate(resolve));
      if (Atomics.load(control, layout.SEQUENCE) === seen) continue;
    }
    seen = Atomics.load(control, layout.SEQUENCE);
    if (Atomics.load(control, layout.STOP) === 1) return;
    const kernels = instances.get(control[layout.MEMORY]);
    // The calling thread dispatches only to memories every worker has attached.
    if (kernels === undefined) continue;
    // Block `index` of the job (wasm/recurrent.ts runJob).
    kernels.runJob(control[layout.JOB], index, index + 1, control[layout.THREADS], control[layout.COUNTER]);
  }
}

port.postMessage({ type: "started" });
void serve();
