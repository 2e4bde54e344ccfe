/**
 * A kernel's memory shared with the thread team (KernelTeam in wasm.ts), and how a job record in
 * it runs: the calling thread posts the record's address, every thread runs its part of it
 * (wasm/recurrent.ts runJob: part i on thread i), and the threads meet at a barrier counter in
 * the memory; or, when the team is not ready or the call too small, the calling thread runs every
 * part alone. Recurrent sequences (recurrent/wasm-sequence.ts) and products split by rows
 * (conv/team.ts) run their jobs through it.
 *
 * Addresses below TEAM_DATA_START: the two barrier counters, then the job record.
 */
import { KeraslessError } from "../errors.js";
import { teamImports, type KernelExports } from "./wasm-exports.js";
import type { KernelTeam } from "./wasm.js";

const COUNTERS = [16, 32];
/** Where the job record is. */
export const JOB_ADDRESS = 64;
/** Where a kernel's weights and workspace may start. */
export const TEAM_DATA_START = 256;

export class TeamMemory {
  readonly memory: WebAssembly.Memory;
  /** The team's module (built with threads) instantiated on the shared memory. */
  readonly kernels: KernelExports;
  private readonly control: Int32Array;
  private id = -1;
  private jobs = 0;

  constructor(private readonly team: KernelTeam) {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: 16384, shared: true });
    this.kernels = new WebAssembly.Instance(team.module, teamImports(this.memory)).exports as unknown as KernelExports;
    // A view made once: a shared memory's old buffers stay valid when it grows.
    this.control = new Int32Array(this.memory.buffer, 0, TEAM_DATA_START / 4);
  }

  /** Hands the memory to the team (once the weights are in); it is released when this object is collected. */
  attach(): void {
    this.id = this.team.attach(this.memory);
    release.register(this, { team: this.team, id: this.id });
  }

  /**
   * Runs the job at JOB_ADDRESS, whose parts are one per thread of the team: split when `split`
   * and every helper has this memory, else every part on the calling thread. Returns the threads
   * that ran it. Allocates nothing.
   */
  run(split: boolean): number {
    const team = this.team;
    const threads = split && team.ready(this.id) === team.size - 1 ? team.size : 1;
    const counter = COUNTERS[this.jobs++ % 2];
    // Reset before the helpers start: the last job that used this counter ended two jobs ago.
    this.control[counter >> 2] = 0;
    if (threads > 1) team.dispatch(this.id, JOB_ADDRESS, threads, counter);
    // This thread takes part 0, or every part when it runs alone.
    const ok = this.kernels.runJob(JOB_ADDRESS, 0, threads > 1 ? 1 : team.size, threads, counter);
    if (ok === 0) throw new KeraslessError("E_THREADS", "a kernel thread stopped answering (10 s at a barrier)");
    return threads;
  }
}

/** A shared memory is released by the team once its TeamMemory is collected. */
const release = new FinalizationRegistry<{ team: KernelTeam; id: number }>(({ team, id }) => team.detach(id));
