/**
 * A recurrent layer's WebAssembly path (wasm/recurrent.ts; the module with threads for a team).
 *
 * Each layer gets its own instance: its memory holds a copy of the cell's weights followed by a
 * workspace (input, projection, states, scratch) sized for the last call, so nothing is shared
 * between models and the memory goes when the model does. prepare() copies the input, states and
 * mask in, writes the job record (wasm/recurrent.ts Job: the sequence's addresses and sizes) and
 * computes the input projection. A fused cell (plan.fusedGates) then runs the whole sequence
 * (run(): runJob) or, with a mask, one step at a time (step(): stepJob); other cells run their own
 * TypeScript steps on `projection`, `states` and `scratch` (views of the workspace). finish()
 * copies the states out.
 *
 * With a thread team (plan.parts > 1) the units are split into one block per thread
 * (wasm-layout.ts splitUnits): weights and workspace live in a memory the team shares, and run()
 * posts the job record to the team, every thread running its block of it.
 */
import { MIN_SPLIT_WORK, type RecurrentPlan } from "../plan.js";
import { JOB_ADDRESS, TEAM_DATA_START, TeamMemory } from "../team-memory.js";
import { jobCell, jobFields, type JobFields, type KernelExports } from "../wasm-exports.js";
import { MemoryPlacer, align, reserve } from "../wasm-memory.js";
import type { CellSizes } from "./cell.js";
import { joinUnits, packParts, splitUnits, unpackParts } from "./wasm-layout.js";

/** The weights handed over (copied into the instance), the bias split in its input and recurrent rows. */
export interface WasmCellWeights {
  readonly kernel: Float32Array;
  readonly inputBias: Float32Array | null;
  readonly recurrentKernel: Float32Array;
  /** GRU reset_after: the recurrent bias row, else null. */
  readonly recurrentBias: Float32Array | null;
}

/**
 * A fused sequence computes its input projection this many bytes of steps at a time (at least
 * four steps, for the product's four-row tiles): the workspace then grows with the batch, not
 * with the sequence's length.
 */
const PROJECTION_CHUNK_BYTES = 1 << 20;

export class WasmSequence {
  readonly fused: boolean;
  projection = new Float32Array(0);
  scratch = new Float32Array(0);
  readonly states: Float32Array[];
  private readonly kernels: KernelExports;
  private readonly memory: WebAssembly.Memory;
  private readonly sizes: { units: number; stateCount: number; projectionWidth: number };
  private readonly lstm: boolean;
  private readonly gate: number;
  /** Unit blocks (threads) the sequence is split into; 1: not split. */
  private readonly parts: number;
  /** The memory shared with the thread team, when split. */
  private readonly team: TeamMemory | null;
  /** The job record (wasm/recurrent.ts Job; a view made again when the memory grows) and its field indices. */
  private job = new Int32Array(0);
  private readonly fields: JobFields;
  /** The job's cell as the module numbers it. */
  private readonly cellId: number;
  private readonly kernelPtr: number;
  private readonly kernelLength: number;
  private readonly inputBiasPtr: number;
  private readonly recurrentPtr: number;
  private readonly recurrentBiasPtr: number;
  private readonly workspacePtr: number;
  private xView = new Float32Array(0);
  private maskView = new Uint8Array(0);
  private outputView = new Float32Array(0);
  private spareStateView = new Float32Array(0);
  private xPtr = 0;
  private projectionPtr = 0;
  private statePtrs: number[];
  private spareStatePtr = 0;
  private scratchPtr = 0;
  private maskPtr = 0;
  private outputPtr = 0;
  private buffer: ArrayBuffer | SharedArrayBuffer | null = null;
  private batch = -1;
  private time = -1;
  private features = -1;
  /** Steps of projection the workspace holds (the whole sequence, except on run()'s path). */
  private chunk = -1;

  constructor(
    module: WebAssembly.Module,
    cell: "lstm" | "gru" | "simple_rnn",
    sizes: CellSizes,
    weights: WasmCellWeights,
    plan: RecurrentPlan,
  ) {
    const units = sizes.stateSize;
    const width = sizes.projectionWidth;
    this.sizes = { units, stateCount: sizes.stateCount, projectionWidth: width };
    this.fused = plan.fusedGates !== null;
    this.lstm = cell === "lstm";
    this.parts = plan.parts;
    this.team = plan.parts > 1 && plan.team !== null ? new TeamMemory(plan.team) : null;
    if (this.team !== null) {
      this.memory = this.team.memory;
      this.kernels = this.team.kernels;
    } else {
      this.kernels = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
      this.memory = this.kernels.memory;
    }
    this.fields = jobFields(this.kernels);
    this.cellId = jobCell(this.kernels, this.lstm ? "lstm" : "gru");
    // Below TEAM_DATA_START: the job record (and a team's barrier counters).
    const placer = new MemoryPlacer(this.memory, TEAM_DATA_START);
    const parts = this.parts;
    const gates = width / units;
    const panel = this.kernels.PANEL.value as number;
    const split = (matrix: Float32Array, rows: number): Float32Array =>
      parts === 1 ? matrix : splitUnits(matrix, rows, gates, units, parts);
    this.kernelLength = weights.kernel.length;
    this.kernelPtr = placer.place(split(weights.kernel, weights.kernel.length / width));
    this.inputBiasPtr = placer.place(weights.inputBias === null ? null : split(weights.inputBias, 1));
    // Every step streams the whole recurrent kernel: it is stored in panels (see gemmPacked).
    this.recurrentPtr = placer.place(packParts(split(weights.recurrentKernel, units), units, width, parts, panel));
    this.recurrentBiasPtr = placer.place(weights.recurrentBias === null ? null : split(weights.recurrentBias, 1));
    this.workspacePtr = placer.end;
    this.team?.attach();
    const gateIds = {
      sigmoid: this.kernels.GATE_SIGMOID,
      hard_sigmoid_keras2: this.kernels.GATE_HARD_SIGMOID_KERAS2,
      hard_sigmoid_keras3: this.kernels.GATE_HARD_SIGMOID_KERAS3,
    };
    this.gate = plan.fusedGates === null ? 0 : (gateIds[plan.fusedGates].value as number);
    this.states = new Array<Float32Array>(sizes.stateCount).fill(this.projection);
    this.statePtrs = new Array<number>(sizes.stateCount).fill(0);
  }

  /** Lays the workspace out for this size (views are made again only when it changes). */
  private layout(batch: number, time: number, features: number, chunk: number): void {
    if (
      batch === this.batch &&
      time === this.time &&
      features === this.features &&
      chunk === this.chunk &&
      this.buffer === this.memory.buffer
    )
      return;
    const { units, projectionWidth, stateCount } = this.sizes;
    let at = this.workspacePtr;
    this.xPtr = at;
    at = align(at + batch * time * features * 4);
    this.projectionPtr = at;
    at = align(at + batch * chunk * projectionWidth * 4);
    for (let k = 0; k < stateCount; k++) {
      this.statePtrs[k] = at;
      at = align(at + batch * units * 4);
    }
    // A split sequence writes every other step's h here (double buffering).
    this.spareStatePtr = at;
    at = align(at + (this.parts > 1 ? batch * units * 4 : 0));
    this.scratchPtr = at;
    at = align(at + batch * projectionWidth * 4);
    // A fused sequence writes its per-step outputs here (return_sequences).
    this.outputPtr = at;
    at = align(at + (this.fused ? batch * time * units * 4 : 0));
    this.maskPtr = at;
    at = align(at + batch * time);
    // The gate passes' partial last vectors may read up to 12 bytes past the workspace.
    reserve(this.memory, at + 16);
    const buffer = this.memory.buffer;
    this.xView = new Float32Array(buffer, this.xPtr, batch * time * features);
    this.projection = new Float32Array(buffer, this.projectionPtr, batch * chunk * projectionWidth);
    for (let k = 0; k < stateCount; k++) this.states[k] = new Float32Array(buffer, this.statePtrs[k], batch * units);
    this.spareStateView = new Float32Array(buffer, this.spareStatePtr, this.parts > 1 ? batch * units : 0);
    this.scratch = new Float32Array(buffer, this.scratchPtr, batch * projectionWidth);
    this.outputView = new Float32Array(buffer, this.outputPtr, this.fused ? batch * time * units : 0);
    this.maskView = new Uint8Array(buffer, this.maskPtr, batch * time);
    this.buffer = buffer;
    this.batch = batch;
    this.time = time;
    this.features = features;
    this.chunk = chunk;
    this.job = new Int32Array(buffer, JOB_ADDRESS, this.fields.FIELDS);
    this.writeJob();
  }

  /** The job record for this layout; run() adds the direction and where the outputs go. */
  private writeJob(): void {
    const job = this.job;
    const f = this.fields;
    job[f.CELL] = this.cellId;
    job[f.X] = this.xPtr;
    job[f.FEATURES] = this.features;
    job[f.KERNEL] = this.kernelPtr;
    job[f.BIAS] = this.inputBiasPtr;
    job[f.P] = this.projectionPtr;
    job[f.CHUNK] = this.chunk;
    job[f.TIME] = this.time;
    job[f.PACKED] = this.recurrentPtr;
    job[f.RECURRENT_BIAS] = this.recurrentBiasPtr;
    job[f.REC] = this.scratchPtr;
    job[f.H0] = this.statePtrs[0];
    // Split, h is double-buffered (the blocks' products read the whole h); else updated in place.
    job[f.H1] = this.parts > 1 ? this.spareStatePtr : this.statePtrs[0];
    job[f.C] = this.lstm ? this.statePtrs[1] : 0;
    job[f.BATCH] = this.batch;
    job[f.UNITS] = this.sizes.units;
    job[f.GATE] = this.gate;
    job[f.PARTS] = this.parts;
  }

  /**
   * Copies x, the states and the mask ([batch, time], or null) in. With a mask, or for a cell
   * that is not fused, also computes x·kernel + bias for every step (`projection`); a fused
   * unmasked sequence computes it in run(), a chunk of steps at a time.
   */
  prepare(
    x: Float32Array,
    batch: number,
    time: number,
    features: number,
    states: Float32Array[],
    mask: Uint8Array | null,
  ): void {
    const chunked = this.fused && mask === null;
    const stepBytes = batch * this.sizes.projectionWidth * 4;
    const chunk = chunked
      ? Math.min(time, Math.max(4, Math.floor(PROJECTION_CHUNK_BYTES / Math.max(1, stepBytes))))
      : time;
    this.layout(batch, time, features, Math.max(1, chunk));
    this.xView.set(x);
    for (let k = 0; k < states.length; k++) this.states[k].set(states[k]);
    if (mask !== null) this.maskView.set(mask);
    if (chunked) return;
    const width = this.sizes.projectionWidth;
    this.kernels.gemm(
      this.xPtr,
      features,
      this.kernelPtr,
      width,
      this.projectionPtr,
      width,
      batch * time,
      features,
      width,
      this.inputBiasPtr,
      0,
    );
  }

  /**
   * A fused cell's whole unmasked sequence. With `sequence`, step s's output of every row goes to
   * sequence[b, s, :] (processing order, as Keras returns it).
   */
  run(batch: number, time: number, backwards: boolean, sequence: Float32Array | null): void {
    this.job[this.fields.BACKWARDS] = backwards ? 1 : 0;
    this.job[this.fields.OUT] = sequence === null ? 0 : this.outputPtr;
    if (this.parts === 1) this.kernels.runJob(JOB_ADDRESS, 0, 1, 1, 0);
    else this.runSplit(batch, time);
    if (sequence !== null) sequence.set(this.outputView);
  }

  /** run() on a split sequence: every thread of the team takes its block, or this thread all of them. */
  private runSplit(batch: number, time: number): void {
    const { units, projectionWidth } = this.sizes;
    this.team!.run(time > 0 && batch * units * projectionWidth >= MIN_SPLIT_WORK);
    // The final h is in the spare buffer after an odd number of steps.
    if (time % 2 === 1) this.states[0].set(this.spareStateView);
  }

  /** One step of a fused cell, at time index t; rows masked at t (prepare's mask) keep their states. */
  step(t: number): void {
    this.kernels.stepJob(JOB_ADDRESS, t, this.maskPtr + t);
  }

  /** The cell's weights as handed over (copies, in their original layout), read back from the memory. */
  readWeights(): {
    kernel: Float32Array;
    inputBias: Float32Array | null;
    recurrentKernel: Float32Array;
    recurrentBias: Float32Array | null;
  } {
    const { units, projectionWidth: width } = this.sizes;
    const parts = this.parts;
    const gates = width / units;
    const read = (ptr: number, length: number): Float32Array =>
      new Float32Array(this.memory.buffer, ptr, length).slice();
    const join = (split: Float32Array, rows: number): Float32Array =>
      parts === 1 ? split : joinUnits(split, rows, gates, units, parts);
    const inputDim = this.kernelLength / width;
    return {
      kernel: join(read(this.kernelPtr, this.kernelLength), inputDim),
      inputBias: this.inputBiasPtr === 0 ? null : join(read(this.inputBiasPtr, width), 1),
      recurrentKernel: join(
        unpackParts(read(this.recurrentPtr, units * width), units, width, parts, this.kernels.PANEL.value as number),
        units,
      ),
      recurrentBias: this.recurrentBiasPtr === 0 ? null : join(read(this.recurrentBiasPtr, width), 1),
    };
  }

  finish(states: Float32Array[]): void {
    for (let k = 0; k < states.length; k++) states[k].set(this.states[k]);
  }
}
