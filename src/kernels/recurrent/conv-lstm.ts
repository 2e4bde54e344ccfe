/**
 * ConvLSTM, the fast path (the equations, readable: conv-lstm.reference.ts): Keras' ConvLSTMCell
 * is an LSTM whose input projection and recurrent product are convolutions (src/kernels/conv).
 * The input convolution (the layer's padding, strides and dilation, the bias) runs over every
 * step at once; each step then adds the recurrent convolution of h ("same" padding, stride 1,
 * no dilation) and runs the LSTM gates (lstm.ts) position by position. A state is one sample's
 * [...spatial, filters] (channels_first: [filters, ...spatial]) as a flat row.
 */
import type { Activation } from "../activations.js";
import {
  channelsFirst,
  convOutputSize,
  kerasPads,
  planConvolution,
  type ConvCall,
  type ConvShape,
  type Convolution,
} from "../conv/index.js";
import { kernelModule, kernelPath, type KernelPath } from "../wasm.js";
import type { KernelExports } from "../wasm-exports.js";
import type { RecurrentPlan } from "../plan.js";
import type { CellStep, KerasCellWeights, RecurrentCell } from "./cell.js";
import type { RecurrentKernel } from "./driver.js";
import { lstmGates } from "./lstm.js";

/** A ConvLSTM cell: its options and the spatial sizes of one step's input (fixed, as in Keras). */
export interface ConvLstmSpec {
  readonly filters: number;
  readonly inChannels: number;
  /** Spatial sizes of one step's input. */
  readonly input: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padding: "valid" | "same";
  readonly channelsFirst: boolean;
  readonly activation: Activation;
  readonly recurrentActivation: Activation;
}

/** The input convolution's and the recurrent convolution's geometry (spatial sizes, pads, kernels). */
export interface ConvLstmGeometry {
  /** Spatial sizes of the states (the input convolution's output). */
  readonly output: number[];
  readonly inputShape: ConvShape;
  readonly inputPads: number[];
  readonly recurrentShape: ConvShape;
  readonly recurrentPads: number[];
}

/** The convolutions of `spec`, or the first spatial axis whose output would be empty (Keras fails there). */
export function convLstmGeometry(spec: ConvLstmSpec): ConvLstmGeometry | { emptyAxis: number } {
  const output: number[] = [];
  const inputPads: number[] = [];
  for (let a = 0; a < spec.input.length; a++) {
    const [n, k, s, d] = [spec.input[a], spec.kernel[a], spec.strides[a], spec.dilations[a]];
    const pads = kerasPads(spec.padding, n, k, s, d);
    const size = convOutputSize(n, k, s, d, pads.begin, pads.end);
    if (size <= 0) return { emptyAxis: a };
    output.push(size);
    inputPads.push(pads.begin);
  }
  const F = spec.filters;
  const ones = spec.kernel.map(() => 1);
  return {
    output,
    inputShape: {
      kernel: spec.kernel,
      strides: spec.strides,
      dilations: spec.dilations,
      groups: 1,
      inChannels: spec.inChannels,
      outChannels: 4 * F,
    },
    inputPads,
    recurrentShape: {
      kernel: spec.kernel,
      strides: ones,
      dilations: ones,
      groups: 1,
      inChannels: F,
      outChannels: 4 * F,
    },
    recurrentPads: spec.kernel.map((k, a) => kerasPads("same", output[a], k, 1, 1).begin),
  };
}

/** A convolution call of `batch` rows, kept for the next call of the same batch (a step allocates nothing). */
class CallCache {
  private last: ConvCall;

  constructor(input: readonly number[], output: readonly number[], padsBegin: readonly number[]) {
    this.last = { batch: 0, input, output, padsBegin };
  }

  of(batch: number): ConvCall {
    if (this.last.batch !== batch) this.last = { ...this.last, batch };
    return this.last;
  }
}

export class ConvLstmCell implements RecurrentCell {
  readonly stateCount = 2;
  readonly stateShape: readonly number[];
  readonly stateSize: number;
  readonly projectionWidth: number;
  readonly inputConv: Convolution;
  readonly recurrentConv: Convolution;
  private readonly inputCalls: CallCache;
  private readonly recurrentCalls: CallCache;
  private readonly positions: number;
  /** The spatial position of each state value (for masks per position). */
  readonly positionOf: Int32Array;
  /** A row's states before its gates ran, while masks per position are applied; allocated on first use. */
  private kept: Float32Array | null = null;
  /** The WebAssembly gate pass (tanh and sigmoid gates on the wasm path), or null. */
  private readonly wasmGates: WasmGates | null;

  /** `writtenOut`: the activation is tanh and the gates' sigmoid. */
  constructor(
    private readonly spec: ConvLstmSpec,
    geometry: ConvLstmGeometry,
    private readonly kernelWeights: KerasCellWeights,
    private readonly writtenOut: boolean,
    wasm: WebAssembly.Module | null = null,
  ) {
    const F = spec.filters;
    const { output } = geometry;
    this.positions = output.reduce((p, d) => p * d, 1);
    this.stateShape = spec.channelsFirst ? [F, ...output] : [...output, F];
    this.stateSize = this.positions * F;
    this.projectionWidth = 4 * this.stateSize;
    const layout = (conv: Convolution): Convolution => (spec.channelsFirst ? channelsFirst(conv) : conv);
    const { kernel, recurrentKernel, bias } = kernelWeights;
    this.inputConv = layout(planConvolution(geometry.inputShape, kernel, bias, null));
    this.recurrentConv = layout(planConvolution(geometry.recurrentShape, recurrentKernel, null, null));
    this.positionOf = statePositions(F, this.positions, spec.channelsFirst);
    this.wasmGates = wasm === null ? null : new WasmGates(wasm);
    this.inputCalls = new CallCache(spec.input, output, geometry.inputPads);
    this.recurrentCalls = new CallCache(output, output, geometry.recurrentPads);
  }

  weights(): KerasCellWeights {
    return this.kernelWeights;
  }

  /** The input convolution of `rows` step inputs (every step of every sample) into out. */
  inputProjection(x: Float32Array, rows: number, _features: number, out: Float32Array): void {
    this.inputConv.run(x, this.inputCalls.of(rows), out);
  }

  readonly step: CellStep = (
    p,
    offset,
    rowStride,
    states,
    batch,
    mask,
    maskOffset,
    maskStride,
    scratch,
    positions = 1,
  ) => {
    const [h, c] = states;
    const width = this.projectionWidth;
    const size = this.stateSize;
    // Masks per row skip whole rows; masks per position are applied after the gates.
    const rowMask = positions > 1 ? null : mask;
    // The recurrent convolution of every row's h into scratch, added to the step's projection.
    this.recurrentConv.run(h, this.recurrentCalls.of(batch), scratch);
    for (let b = 0; b < batch; b++) {
      if (rowMask !== null && rowMask[maskOffset + b * maskStride] === 0) continue;
      const o = offset + b * rowStride;
      for (let k = 0; k < width; k++) p[o + k] += scratch[b * width + k];
    }
    const F = this.spec.filters;
    const { activation, recurrentActivation } = this.spec;
    const written = this.writtenOut;
    for (let b = 0; b < batch; b++) {
      if (rowMask !== null && rowMask[maskOffset + b * maskStride] === 0) continue;
      const o = offset + b * rowStride;
      const s = b * size;
      if (this.wasmGates !== null && positions === 1) {
        this.wasmGates.run(p, o, h, c, s, size, this.spec.channelsFirst ? 1 : this.positions);
        continue;
      }
      const kept = positions > 1 ? (this.kept ??= new Float32Array(2 * size)) : null;
      if (kept !== null) {
        kept.set(h.subarray(s, s + size));
        kept.set(c.subarray(s, s + size), size);
      }
      // channels_last: each position holds [i | f | g | o] of F filters; channels_first: each gate
      // is one block of filters x positions, as an LSTM of that many units.
      if (this.spec.channelsFirst) lstmGates(p, o, c, h, s, size, written, activation, recurrentActivation, scratch);
      else
        for (let q = 0; q < this.positions; q++)
          lstmGates(p, o + 4 * F * q, c, h, s + F * q, F, written, activation, recurrentActivation, scratch);
      if (kept === null) continue;
      const at = maskOffset + b * maskStride;
      for (let j = 0; j < size; j++) {
        if (mask![at + this.positionOf[j]] !== 0) continue;
        h[s + j] = kept[j];
        c[s + j] = kept[size + j];
      }
    }
  };
}

/** The spatial position of each value of a state ([positions, filters], or channels_first [filters, positions]). */
export function statePositions(filters: number, positions: number, channelsFirst: boolean): Int32Array {
  return Int32Array.from({ length: filters * positions }, (_, j) =>
    channelsFirst ? j % positions : Math.floor(j / filters),
  );
}

/** The ConvLSTM's cell and plan: its two convolutions (src/kernels/conv chooses their way) and TypeScript gates. */
export function createConvLstmKernel(
  spec: ConvLstmSpec,
  geometry: ConvLstmGeometry,
  weights: KerasCellWeights,
  path: KernelPath = kernelPath(),
): RecurrentKernel {
  const writtenOutGates = spec.activation.name === "tanh" && spec.recurrentActivation.name === "sigmoid";
  const module = path === "wasm" && writtenOutGates ? kernelModule() : null;
  const cell = new ConvLstmCell(spec, geometry, weights, writtenOutGates, module);
  const plan: RecurrentPlan = {
    path,
    writtenOutGates,
    fusedGates: null,
    parts: 1,
    team: null,
    backend: convLstmBackend(cell),
    why: [
      `input convolution: ${cell.inputConv.backend} (${cell.inputConv.reason})`,
      `recurrent convolution: ${cell.recurrentConv.backend} (${cell.recurrentConv.reason})`,
      module !== null
        ? "gates: the WebAssembly SIMD LSTM gate pass (tanh, sigmoid; TypeScript for masks per position)"
        : writtenOutGates
          ? "TypeScript gates written out (tanh, sigmoid)"
          : "TypeScript gates through the activation functions",
      ...(cell.recurrentConv.backend === "wasm-im2col-threads"
        ? ["each step's sum of the recurrent convolution into the projection, and the gates: on the calling thread"]
        : []),
    ],
  };
  return { plan, sizes: cell, cell, wasm: null, weights: () => cell.weights() };
}

/** "<way> (<reason>)" when both convolutions run the same way for the same reason, else each one's way. */
function convLstmBackend(cell: ConvLstmCell): string {
  const [input, recurrent] = [cell.inputConv, cell.recurrentConv];
  if (input.backend === recurrent.backend && input.reason === recurrent.reason)
    return `${input.backend} (${input.reason})`;
  return `input ${input.backend}, recurrent ${recurrent.backend}`;
}

/**
 * wasm/recurrent.ts' LSTM gate pass (tanh, sigmoid) for one batch row: its pre-activations and
 * states are copied into the instance's memory, the pass runs over the row's positions (each an
 * LSTM row of `filters` units; channels_first: one row of every unit), and the states are copied
 * back. The copies cost a fraction of the transcendental functions the pass computes in SIMD.
 */
class WasmGates {
  private readonly kernels: KernelExports;
  private readonly gate: number;
  private size = -1;
  private p = new Float32Array(0);
  private h = new Float32Array(0);
  private c = new Float32Array(0);

  constructor(module: WebAssembly.Module) {
    this.kernels = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    this.gate = this.kernels.GATE_SIGMOID.value as number;
  }

  /** Views of p [4·size], h and c [size] from byte 16 (the pass may read 12 bytes past a row). */
  private layout(size: number): void {
    if (size === this.size) return;
    const memory = this.kernels.memory;
    const bytes = 16 + 4 * 6 * size + 16;
    if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
    this.p = new Float32Array(memory.buffer, 16, 4 * size);
    this.h = new Float32Array(memory.buffer, 16 + 16 * size, size);
    this.c = new Float32Array(memory.buffer, 16 + 20 * size, size);
    this.size = size;
  }

  /** Row p[o .. o + 4·size) of pre-activations; states h, c at s (size values each) updated. */
  run(p: Float32Array, o: number, h: Float32Array, c: Float32Array, s: number, size: number, rows: number): void {
    this.layout(size);
    // Element loops, not subarray().set(): a step allocates nothing (streaming runs it every step).
    const pIn = this.p;
    const hIn = this.h;
    const cIn = this.c;
    for (let k = 0; k < 4 * size; k++) pIn[k] = p[o + k];
    for (let k = 0; k < size; k++) {
      hIn[k] = h[s + k];
      cIn[k] = c[s + k];
    }
    const units = size / rows;
    this.kernels.lstmGates(
      pIn.byteOffset,
      4 * units,
      hIn.byteOffset,
      cIn.byteOffset,
      units,
      rows,
      units,
      this.gate,
      0,
      0,
    );
    h.set(hIn, s);
    c.set(cIn, s);
  }
}
