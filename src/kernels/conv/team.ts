/**
 * A convolution with one group, or a matrix product (the 1x1 convolution of its rows), run by the
 * kernel thread team: wasm/products.ts' job, the output rows split into one part per thread, each
 * part computed by the single-thread kernels (im2col blocks gathered in WebAssembly, then gemm).
 * Any split gives the bits of one thread (see wasm/products.ts), so the calling thread alone runs
 * the same job when a call is too small to be worth a barrier (fewer than plan.ts MIN_TEAM_WORK
 * multiply-adds) or when the team is not ready (a helper lost, or not yet holding this memory).
 *
 * The weights are held once, in the memory the team shares, with one im2col workspace per part.
 * A call copies the input in a chunk of batch items at a time (CHUNK_BYTES of input and output at
 * most, at least one item), runs the job, and copies the output out through the epilogue.
 *
 * Only the Node entry imports this file (its team's product(), src/node/kernel-threads.ts): the
 * browser bundles, which have no team, leave it out.
 */
import type { Activation } from "../activations.js";
import { clampBounds, type ChannelAffine } from "../epilogue.js";
import { minTeamWork } from "../plan.js";
import { JOB_ADDRESS, TEAM_DATA_START, TeamMemory } from "../team-memory.js";
import { recordFields, type KernelExports } from "../wasm-exports.js";
import type { KernelTeam, TeamProduct } from "../wasm.js";
import { MemoryPlacer, align, reserve } from "../wasm-memory.js";
import { positions, type ConvCall, type ConvShape } from "./geometry.js";

/** The product job record's fields (wasm/products.ts, enum ProductJob). */
const FIELDS = [
  "KIND",
  "X",
  "KERNEL",
  "BIAS",
  "Y",
  "WORK",
  "WORK_BYTES",
  "ROWS",
  "PARTS",
  "C",
  "F",
  "IN_D",
  "IN_H",
  "IN_W",
  "OUT_D",
  "OUT_H",
  "OUT_W",
  "K_D",
  "K_H",
  "K_W",
  "S_D",
  "S_H",
  "S_W",
  "D_D",
  "D_H",
  "D_W",
  "P_D",
  "P_H",
  "P_W",
  "POINTWISE",
  "FIELDS",
] as const;
type ProductJobFields = { readonly [K in (typeof FIELDS)[number]]: number };

/** Bytes of input and output a job covers at most: the shared memory stays this size whatever the batch. */
const CHUNK_BYTES = 16 << 20;
/** The job record's spatial axes (lower ranks are padded with leading axes of size 1). */
const AXES = 3;
const NO_AXES: readonly number[] = [];

interface AxisFields {
  readonly input: number;
  readonly output: number;
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly pad: number;
}

export class TeamConvolution implements TeamProduct {
  private readonly team: TeamMemory;
  private readonly fields: ProductJobFields;
  private readonly kernelPtr: number;
  private readonly biasPtr: number;
  private readonly xPtr: number;
  private yPtr = 0;
  private readonly epilogue: Activation | null;
  /** A fused per-channel affine map (0: none) and the clamp applied with it in WebAssembly, as on one thread. */
  private readonly scalePtr: number;
  private readonly shiftPtr: number;
  private readonly bounds: readonly [number, number];
  /** Multiply-adds per output row. */
  private readonly rowWork: number;
  private job: Int32Array;
  private capacity = { x: -1, y: -1 };
  /** Each spatial axis' fields in the job record (D, H, W). */
  private readonly axisFields: AxisFields[];
  private xView = new Float32Array(0);
  private yView = new Float32Array(0);

  constructor(
    team: KernelTeam,
    readonly shape: ConvShape,
    kernel: Float32Array,
    bias: Float32Array | null,
    epilogue: Activation | null,
    affine: ChannelAffine | null = null,
  ) {
    this.team = new TeamMemory(team);
    const kernels = this.team.kernels;
    const f = (this.fields = recordFields(kernels, "ProductJob", FIELDS) as ProductJobFields);
    this.axisFields = [
      { input: f.IN_D, output: f.OUT_D, kernel: f.K_D, stride: f.S_D, dilation: f.D_D, pad: f.P_D },
      { input: f.IN_H, output: f.OUT_H, kernel: f.K_H, stride: f.S_H, dilation: f.D_H, pad: f.P_H },
      { input: f.IN_W, output: f.OUT_W, kernel: f.K_W, stride: f.S_W, dilation: f.D_W, pad: f.P_W },
    ];
    const width = positions(shape.kernel) * shape.inChannels;
    this.rowWork = width * shape.outChannels;
    // With an affine map (outChannels a multiple of 4), epilogueRows applies it and a clamping
    // activation in WebAssembly, as the one-thread convolution does: the same bits.
    const bounds = affine === null ? null : clampBounds(epilogue);
    this.bounds = bounds ?? [-Infinity, Infinity];
    const rest = affine !== null && bounds !== null ? null : epilogue;
    this.epilogue = rest === null || rest.name === "linear" ? null : rest;
    const placer = new MemoryPlacer(this.team.memory, TEAM_DATA_START);
    this.kernelPtr = placer.place(kernel);
    this.biasPtr = placer.place(bias);
    this.scalePtr = placer.place(affine?.scale ?? null);
    this.shiftPtr = placer.place(affine?.shift ?? null);
    // The team's module (wasm/kernels-threads.ts) also exports the product jobs' kind and how many
    // rows a part gathers at a time (its workspace's rows).
    const productJobs = kernels as KernelExports & Record<"JOB_PRODUCT" | "PRODUCT_BLOCK_ROWS", WebAssembly.Global>;
    const workBytes = align((productJobs.PRODUCT_BLOCK_ROWS.value as number) * width * 4);
    this.xPtr = align(placer.end + team.size * workBytes);
    reserve(this.team.memory, this.xPtr);
    this.job = new Int32Array(this.team.memory.buffer, JOB_ADDRESS, f.FIELDS);
    const job = this.job;
    job[f.KIND] = productJobs.JOB_PRODUCT.value as number;
    job[f.KERNEL] = this.kernelPtr;
    job[f.BIAS] = this.biasPtr;
    job[f.WORK] = placer.end;
    job[f.WORK_BYTES] = workBytes;
    job[f.PARTS] = team.size;
    job[f.C] = shape.inChannels;
    job[f.F] = shape.outChannels;
    // A matrix product (no spatial axes) keeps this geometry: every axis 1, pointwise.
    this.writeGeometry(NO_AXES, NO_AXES, NO_AXES);
    this.team.attach();
  }

  /** Copies of the kernel [taps · C, F] and the bias (if any), read back from the shared memory. */
  held(): Float32Array[] {
    const read = (ptr: number, length: number) => new Float32Array(this.team.memory.buffer, ptr, length).slice();
    const kernel = read(this.kernelPtr, this.rowWork);
    return this.biasPtr === 0 ? [kernel] : [kernel, read(this.biasPtr, this.shape.outChannels)];
  }

  /** The convolution of one call (channels_last), into y. Allocates nothing once it has run on as large a call. */
  run(x: Float32Array, call: ConvCall, y: Float32Array): void {
    this.writeGeometry(call.input, call.output, call.padsBegin);
    this.runItems(x, 0, call.batch, positions(call.input), positions(call.output), y, 0);
  }

  /** c[cOffset + m·F ..] = epilogue(bias + a[aOffset + m·C ..] · kernel) for m < rows (a matrix product). */
  runRows(a: Float32Array, aOffset: number, rows: number, c: Float32Array, cOffset: number): void {
    this.runItems(a, aOffset, rows, 1, 1, c, cOffset);
  }

  /** The job's spatial axes, padded to AXES; pointwise when no row needs a gather. */
  private writeGeometry(input: readonly number[], output: readonly number[], padsBegin: readonly number[]): void {
    const { shape, fields: f, job } = this;
    const lead = AXES - input.length;
    let pointwise = 1;
    for (let axis = 0; axis < AXES; axis++) {
      // Plain reads, no destructuring: a call allocates nothing.
      const a = axis - lead;
      const n = a < 0 ? 1 : input[a];
      const o = a < 0 ? 1 : output[a];
      const k = a < 0 ? 1 : shape.kernel[a];
      const s = a < 0 ? 1 : shape.strides[a];
      const d = a < 0 ? 1 : shape.dilations[a];
      const p = a < 0 ? 0 : padsBegin[a];
      const at = this.axisFields[axis];
      job[at.input] = n;
      job[at.output] = o;
      job[at.kernel] = k;
      job[at.stride] = s;
      job[at.dilation] = d;
      job[at.pad] = p;
      if (k !== 1 || s !== 1 || p !== 0 || n !== o) pointwise = 0;
    }
    job[f.POINTWISE] = pointwise;
  }

  /** Room for x and y floats (views are made again only when the memory grows). */
  private layout(x: number, y: number): void {
    const buffer = this.team.memory.buffer;
    if (x <= this.capacity.x && y <= this.capacity.y && this.xView.buffer === buffer) return;
    const capacity = { x: Math.max(x, this.capacity.x), y: Math.max(y, this.capacity.y) };
    this.yPtr = align(this.xPtr + capacity.x * 4);
    reserve(this.team.memory, this.yPtr + capacity.y * 4);
    const grown = this.team.memory.buffer;
    this.xView = new Float32Array(grown, this.xPtr, capacity.x);
    this.yView = new Float32Array(grown, this.yPtr, capacity.y);
    this.job = new Int32Array(grown, JOB_ADDRESS, this.fields.FIELDS);
    this.job[this.fields.X] = this.xPtr;
    this.job[this.fields.Y] = this.yPtr;
    this.capacity = capacity;
  }

  /** `batch` items of `inPositions` · C input values each, giving `outPositions` · F output values each. */
  private runItems(
    x: Float32Array,
    xOffset: number,
    batch: number,
    inPositions: number,
    outPositions: number,
    y: Float32Array,
    yOffset: number,
  ): void {
    const { inChannels: C, outChannels: F } = this.shape;
    const inItem = inPositions * C;
    const outItem = outPositions * F;
    const chunk = Math.max(1, Math.min(batch, Math.floor(CHUNK_BYTES / (4 * (inItem + outItem)))));
    this.layout(chunk * inItem, chunk * outItem);
    const { xView, yView, job, fields: f } = this;
    for (let first = 0; first < batch; first += chunk) {
      const items = Math.min(chunk, batch - first);
      const rows = items * outPositions;
      // Element loops, not subarray().set(): a call allocates nothing (streaming runs it every step).
      const from = xOffset + first * inItem;
      const inLength = items * inItem;
      for (let i = 0; i < inLength; i++) xView[i] = x[from + i];
      job[f.ROWS] = rows;
      this.team.run(rows * this.rowWork >= minTeamWork());
      if (this.scalePtr !== 0 && rows > 0) {
        const [lo, hi] = this.bounds;
        this.team.kernels.epilogueRows(this.yPtr, F * 4, rows, F, this.scalePtr, this.shiftPtr, lo, hi);
      }
      const to = yOffset + first * outItem;
      const outLength = items * outItem;
      for (let i = 0; i < outLength; i++) y[to + i] = yView[i];
      if (this.epilogue !== null && rows > 0) this.epilogue.apply(y, to, y, to, rows, F);
    }
  }
}
