// @ts-check
/**
 * A kernel worker thread: keeps an instance of the team's kernels for every shared memory it is
 * given, and runs its part of each job posted in the control block (see kernel-threads.ts).
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
    const instance = new WebAssembly.Instance(module, { env: { memory: message.memory, now } });
    instances.set(message.id, /** @type {any} */ (instance.exports));
    port.postMessage({ type: "attached", id: message.id });
  } else if (message.type === "detach") {
    instances.delete(message.id);
  }
});

/** Argument i of the posted job. */
const a = (/** @type {number} */ i) => control[layout.ARGS + i];

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
    // Arguments read one by one (no array per job: a streamed step may be one job).
    const threads = control[layout.THREADS];
    const counter = control[layout.COUNTER];
    if (control[layout.FN] === 0) {
      kernels.lstmStepsParts(
        a(0),
        a(1),
        a(2),
        a(3),
        a(4),
        a(5),
        a(6),
        a(7),
        a(8),
        a(9),
        a(10),
        a(11),
        a(12),
        a(13),
        a(14),
        a(15),
        a(16),
        index,
        index + 1,
        threads,
        counter,
      );
    } else {
      kernels.gruStepsParts(
        a(0),
        a(1),
        a(2),
        a(3),
        a(4),
        a(5),
        a(6),
        a(7),
        a(8),
        a(9),
        a(10),
        a(11),
        a(12),
        a(13),
        a(14),
        a(15),
        a(16),
        a(17),
        index,
        index + 1,
        threads,
        counter,
      );
    }
  }
}

port.postMessage({ type: "started" });
void serve();
