/** What the calling thread and the kernel worker threads (kernel-threads-worker.js) share. */

/** Int32 slots of the control block (a SharedArrayBuffer). */
export const CONTROL = {
  /** Bumped for every job (and once more to stop). */
  SEQUENCE: 0,
  /** The team's id of the memory the job runs on. */
  MEMORY: 1,
  /** The address of the job record in that memory (its fields: wasm/recurrent.ts Job). */
  JOB: 2,
  STOP: 3,
  /** Threads taking part, and the address of the barrier counter. */
  THREADS: 4,
  COUNTER: 5,
  SIZE: 16,
} as const;

export interface WorkerData {
  module: WebAssembly.Module;
  control: Int32Array;
  /** This thread's index in the team (the calling thread is 0): the part it computes. */
  index: number;
  /** CONTROL itself: the worker is plain JavaScript and reads the layout from here. */
  layout: typeof CONTROL;
}

export type WorkerMessage = { type: "started" } | { type: "attached"; id: number };
