/**
 * Recurrent layers: LSTM, GRU, SimpleRNN, and RecurrentLayer, which the ConvLSTMs extend too
 * (convolutional-recurrent.ts). The layer reads the config, declares the weights and wires inputs
 * and outputs, keeps stateful states and opens streams; the RNN driver and the cells live in
 * kernels/recurrent/ (which implementation runs: kernels/plan.ts).
 *
 * Inputs are [x, ...initialStates]: Keras 3 passes `initial_state` as a call argument, Keras 2
 * as extra inbound tensors; the graph builder gives both in this order.
 */
import type { Activation } from "../kernels/activations.js";
import type { KerasCellWeights } from "../kernels/recurrent/cell.js";
import { planRecurrent, type KernelPlan, type RecurrentSpec } from "../kernels/plan.js";
import {
  allocateSequenceBuffers,
  createRecurrentKernel,
  runSequence,
  type RecurrentKernel,
  type SequenceBuffers,
  type SequenceOptions,
} from "../kernels/recurrent/driver.js";
import { Tensor, formatShape } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { toFloat32 } from "./core.js";
import { Layer, knownDim, type LayerStream, type Mask, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

interface RecurrentOptions {
  units: number;
  activation: Activation;
  /** The gates' activation (LSTM and GRU; SimpleRNN has no gates). */
  recurrentActivation: Activation | null;
  useBias: boolean;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  /** Keep the final states as the next call's initial states (until resetStates). */
  stateful: boolean;
}

/** Workspaces up to this many floats (256 KB) are kept between predict() calls. */
const KEPT_WORKSPACE_FLOATS = 65536;

export abstract class RecurrentLayer extends Layer {
  override readonly variableOwner = "cell";
  override readonly supportsMasking = true;
  protected readonly options: RecurrentOptions;
  /** Masked steps output zeros instead of the previous output; Bidirectional sets it. */
  zeroOutputForMask: boolean;
  protected kernel: RecurrentKernel | null = null;
  protected inputDim = 0;
  /**
   * Keras 3 fills a layer's `mask` argument only when the call has a single tensor argument, so
   * an RNN given initial_state runs unmasked (its output still carries the mask on).
   */
  private readonly maskIgnoredWithInitialState: boolean;
  /** The batch size a stateful layer was built for (Keras needs it fixed), else null. */
  private statefulBatch: number | null = null;
  /** A stateful layer's states between predict calls ([batch, ...state shape] each). */
  private carriedStates: Float32Array[] | null = null;
  /**
   * The buffers of the last small call, kept for the next call of the same size: allocating them
   * costs more than a small model's arithmetic. Large workspaces are not kept (memory).
   */
  private workspace: { batch: number; time: number; buffers: SequenceBuffers } | null = null;
  /** How many state tensors the cell carries (LSTM: h and c). */
  protected abstract readonly stateCount: number;
  /** Gate blocks in the kernels (LSTM 4, GRU 3, SimpleRNN 1). */
  protected abstract readonly gateCount: number;

  /** `units`: the state's channels when the config names them otherwise (ConvLSTM's filters). */
  constructor(reader: ConfigReader, gated: boolean, units?: number) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.options = {
      units: units ?? reader.positiveInt("units"),
      activation: reader.activation("activation", "tanh"),
      recurrentActivation: gated ? reader.activation("recurrent_activation", "sigmoid") : null,
      useBias: reader.bool("use_bias", true),
      returnSequences: reader.bool("return_sequences", false),
      returnState: reader.bool("return_state", false),
      goBackwards: reader.bool("go_backwards", false),
      stateful: reader.bool("stateful", false),
    };
    this.zeroOutputForMask = reader.bool("zero_output_for_mask", false);
    this.maskIgnoredWithInitialState = reader.context.kerasMajor === 3;
    if (reader.bool("time_major", false)) reader.unsupported("time_major=True is not supported");
    for (const [key, activation] of [
      ["activation", this.options.activation],
      ["recurrent_activation", this.options.recurrentActivation],
    ] as const) {
      if (activation !== null && !activation.elementwise)
        reader.unsupported(`${key} ${activation.name} cannot be used inside a recurrent cell`);
    }
    // Options of training or of how TensorFlow runs the loop: they do not change inference results.
    reader.ignore("dropout", "recurrent_dropout", "unroll", "seed", "use_cudnn", "force_generator", "rng_type");
  }

  get units(): number {
    return this.options.units;
  }

  get returnSequences(): boolean {
    return this.options.returnSequences;
  }

  protected biasShape(): number[] {
    return [this.gateCount * this.options.units];
  }

  /**
   * Checks the sequence x ([batch, time, ...]) and declares the weights it implies; returns one
   * sample's state shape. LSTM, GRU and SimpleRNN: x is [batch, time, features], the state [units].
   */
  protected buildCell(x: Shape): number[] {
    const { units } = this.options;
    this.expectRank(x, 3);
    const inputDim = knownDim(this, x, 2);
    if (this.built && inputDim !== this.inputDim) {
      throw this.error("E_CONFIG", `was built for ${this.inputDim} input features, now called with ${inputDim}`);
    }
    this.inputDim = inputDim;
    const width = this.gateCount * units;
    this.declareWeights([
      { name: "kernel", shape: [inputDim, width] },
      { name: "recurrent_kernel", shape: [units, width] },
      ...(this.options.useBias ? [{ name: "bias", shape: this.biasShape() }] : []),
    ]);
    return [units];
  }

  /** What an initial state must match, for its error message. */
  protected describeState(state: readonly number[]): string {
    return state.length === 1 ? `units=${state[0]}` : `the state shape ${formatShape([null, ...state])}`;
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    const { returnSequences, returnState, stateful } = this.options;
    this.expectInputs(inputShapes, [1, 1 + this.stateCount]);
    const [x, ...states] = inputShapes;
    const state = this.buildCell(x);
    if (states.length !== 0 && states.length !== this.stateCount) {
      throw this.error("E_CONFIG", `initial_state needs ${this.stateCount} tensor(s), got ${states.length}`);
    }
    for (const s of states) {
      if (s.length !== state.length + 1 || state.some((d, i) => s[i + 1] !== null && s[i + 1] !== d)) {
        throw this.error(
          "E_CONFIG",
          `initial state of shape ${formatShape(s)} does not match ${this.describeState(state)}`,
        );
      }
    }
    if (stateful) {
      if (x[0] === null)
        throw this.error(
          "E_CONFIG",
          "is stateful, so its input needs a fixed batch size (batch_input_shape), and the file gives none",
        );
      this.statefulBatch = x[0];
    }
    const output: Shape = returnSequences ? [x[0], x[1], ...state] : [x[0], ...state];
    const stateShapes: Shape[] = returnState ? Array.from({ length: this.stateCount }, () => [x[0], ...state]) : [];
    return [output, ...stateShapes];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    const [kernel, recurrentKernel, bias] = weights;
    this.kernel = this.createKernel({ kernel, recurrentKernel, bias: this.options.useBias ? bias : null });
    // When only WebAssembly memory holds the weights (a fused step), getWeights reads them from
    // there; converted weights (CuDNN layers) are not the file's, so those layers keep the file's.
    if (this.kernel.cell === null && weights[0] === super.getWeights()[0]) this.releaseLoadedWeights();
  }

  override getWeights(): Float32Array[] {
    const loaded = super.getWeights();
    if (loaded.length > 0 || this.kernel === null || this.kernel.cell !== null) return loaded;
    const { kernel, recurrentKernel, bias } = this.kernel.weights();
    return this.options.useBias ? [kernel, recurrentKernel, bias!] : [kernel, recurrentKernel];
  }

  /** The cell's kernels for its weights. */
  protected abstract createKernel(weights: KerasCellWeights): RecurrentKernel;

  /** Which implementation runs this layer's cell, and why (null before the weights are loaded). */
  override kernelPlan(): KernelPlan | null {
    return this.kernel?.plan ?? null;
  }

  call([x, ...initialStates]: Tensor[], masks: Masks): Tensor[] {
    const [batch, time] = x.shape;
    this.checkBatch(batch, initialStates);
    const buffers = this.callBuffers(batch, time);
    const start =
      initialStates.length > 0
        ? initialStates.map(toFloat32)
        : this.options.stateful
          ? this.statefulStates(batch)
          : null;
    if (start !== null) start.forEach((s, k) => buffers.states[k].set(s));
    const mask = initialStates.length > 0 && this.maskIgnoredWithInitialState ? null : (masks[0] ?? null);
    this.run(x, mask, buffers);
    if (this.options.stateful) this.carriedStates = buffers.states.map((s) => s.slice());
    if (this.workspace?.buffers !== buffers) return this.wrapOutputs(buffers, batch, time);
    // The kept buffers stay here: the caller gets its own copies.
    return this.wrapOutputs(
      {
        ...buffers,
        output: buffers.output.slice(),
        states: this.options.returnState ? buffers.states.map((s) => s.slice()) : buffers.states,
      },
      batch,
      time,
    );
  }

  /** Buffers for one call, with zero states and no previous output. */
  private callBuffers(batch: number, time: number): SequenceBuffers {
    const kept = this.workspace;
    if (kept !== null && kept.batch === batch && kept.time === time) {
      for (const s of kept.buffers.states) s.fill(0);
      kept.buffers.lastOutput.fill(0);
      return kept.buffers;
    }
    const buffers = allocateSequenceBuffers(this.kernel!, batch, time, this.options.returnSequences);
    const floats = buffers.projection.length + buffers.output.length + buffers.scratch.length;
    this.workspace = floats <= KEPT_WORKSPACE_FLOATS ? { batch, time, buffers } : null;
    return buffers;
  }

  /** Initial states given as inputs cannot be fed step by step under stream(). */
  override streamsCall(inputCount: number): boolean {
    return inputCount === 1;
  }

  /** Keras: a stateful layer's states persist across calls until reset. */
  override resetStates(): void {
    this.carriedStates = null;
  }

  get stateful(): boolean {
    return this.options.stateful;
  }

  private statefulStates(batch: number): Float32Array[] {
    if (batch !== this.statefulBatch) {
      throw this.error("E_INPUT_SHAPE", `is stateful with batch size ${this.statefulBatch}, got a batch of ${batch}`);
    }
    return (
      this.carriedStates ??
      Array.from({ length: this.stateCount }, () => new Float32Array(batch * this.kernel!.sizes.stateSize))
    );
  }

  private checkBatch(batch: number, initialStates: Tensor[]): void {
    for (const s of initialStates) {
      if (s.shape[0] !== batch) {
        throw this.error(
          "E_INPUT_SHAPE",
          `initial state of shape ${formatShape(s.shape)} does not match the batch size ${batch}`,
        );
      }
    }
  }

  private run(x: Tensor, mask: Mask | null, buffers: SequenceBuffers): void {
    const [batch, time] = x.shape;
    runSequence(
      this.kernel!,
      toFloat32(x),
      batch,
      time,
      stepSize(x),
      mask === null ? null : mask.data,
      this.sequenceOptions(),
      buffers,
      mask === null ? null : this.maskPositions(mask),
    );
  }

  /**
   * Masks are [batch, time]; a convolutional cell also takes masks per spatial position
   * ([batch, time, ...spatial]) and gives each state value's position here (null: per step).
   */
  protected maskPositions(_mask: Mask): Int32Array | null {
    return null;
  }

  private sequenceOptions(): SequenceOptions {
    const { goBackwards, returnSequences } = this.options;
    return { goBackwards, returnSequences, zeroOutputForMask: this.zeroOutputForMask };
  }

  private wrapOutputs(buffers: SequenceBuffers, batch: number, time: number): Tensor[] {
    const { returnSequences, returnState } = this.options;
    // The cell's state shape per sample ([units] here; a convolutional cell's has more axes).
    const state = this.kernel!.sizes.stateShape;
    const output = new Tensor(returnSequences ? [batch, time, ...state] : [batch, ...state], buffers.output);
    return returnState ? [output, ...buffers.states.map((s) => new Tensor([batch, ...state], s))] : [output];
  }

  override computeMask(_inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): (Mask | null)[] {
    // Keras: the input mask passes on only with the sequence; states carry none.
    return outputs.map((_, i) => (i === 0 && this.options.returnSequences ? (masks[0] ?? null) : null));
  }

  override streamBehaviour(): StreamBehaviour {
    if (this.options.goBackwards) return { kind: "refused", reason: "reads the sequence from its end (go_backwards)" };
    const { returnSequences, returnState } = this.options;
    return {
      kind: "stateful",
      outputsHaveTime: [returnSequences, ...(returnState ? new Array<boolean>(this.stateCount).fill(false) : [])],
      open: (batch) => this.openStream(batch),
    };
  }

  /** One stream: the states live on between steps; every buffer is allocated here, once. */
  private openStream(batch: number): LayerStream {
    const buffers = allocateSequenceBuffers(this.kernel!, batch, 1, this.options.returnSequences);
    const outputs = this.wrapOutputs(buffers, batch, 1);
    const options = this.sequenceOptions();
    const kernel = this.kernel!;
    // A stream keeps each row's latest output itself (a masked step repeats it).
    const carriedOutput = new Float32Array(batch * kernel.sizes.stateSize);
    return {
      state: [...buffers.states, carriedOutput],
      step: (inputs, masks) => {
        const x = inputs[0];
        if (inputs.length > 1) {
          throw this.error(
            "E_UNSUPPORTED",
            "takes initial_state from other tensors, which a stream cannot feed step by step",
          );
        }
        const mask = masks[0] ?? null;
        buffers.lastOutput.set(carriedOutput);
        const data = mask === null ? null : mask.data;
        const positions = mask === null ? null : this.maskPositions(mask);
        runSequence(kernel, toFloat32(x), batch, 1, stepSize(x), data, options, buffers, positions);
        if (mask !== null) carriedOutput.set(buffers.lastOutput);
        else carriedOutput.set(buffers.states[0]);
        return outputs;
      },
      reset: () => {
        for (const s of buffers.states) s.fill(0);
        carriedOutput.fill(0);
      },
    };
  }
}

/** Values of one step of one sample of a sequence [batch, time, ...]. */
function stepSize(x: Tensor): number {
  let size = 1;
  for (let a = 2; a < x.shape.length; a++) size *= x.shape[a];
  return size;
}

/** Per cell: its states, its gates (the projection's width in units), whether it has a recurrent activation. */
const MATRIX_CELLS = {
  lstm: { states: 2, gates: 4, gated: true },
  gru: { states: 1, gates: 3, gated: true },
  simple_rnn: { states: 1, gates: 1, gated: false },
} as const;

/** LSTM, GRU and SimpleRNN: cells of matrices, whose way of running kernels/plan.ts chooses. */
abstract class MatrixRecurrentLayer extends RecurrentLayer {
  protected readonly stateCount: number;
  protected readonly gateCount: number;

  /** `cell`: which cell, as the plan and the kernels name it. */
  constructor(
    reader: ConfigReader,
    private readonly cell: RecurrentSpec["cell"],
  ) {
    const { states, gates, gated } = MATRIX_CELLS[cell];
    super(reader, gated);
    this.stateCount = states;
    this.gateCount = gates;
  }

  /** GRU's reset_after (the other cells have no such choice). */
  protected resetsAfter(): boolean {
    return false;
  }

  /** The cell as the plan and the kernels need it (SimpleRNN's recurrentActivation is null). */
  private cellSpec(): RecurrentSpec {
    const { units, activation, recurrentActivation } = this.options;
    return { cell: this.cell, units, activation, recurrentActivation, resetAfter: this.resetsAfter() };
  }

  protected createKernel(weights: KerasCellWeights): RecurrentKernel {
    const spec = this.cellSpec();
    return createRecurrentKernel(spec, weights, planRecurrent(spec));
  }
}

export class LSTM extends MatrixRecurrentLayer {
  constructor(reader: ConfigReader) {
    super(reader, "lstm");
  }
}

export class GRU extends MatrixRecurrentLayer {
  readonly resetAfter: boolean;

  constructor(reader: ConfigReader) {
    super(reader, "gru");
    // reset_after became the default with Keras 2.3 / tf.keras 2; every file since writes it.
    this.resetAfter = reader.bool("reset_after", reader.context.kerasMajor === 3);
  }

  protected override biasShape(): number[] {
    return this.resetAfter ? [2, 3 * this.options.units] : [3 * this.options.units];
  }

  protected override resetsAfter(): boolean {
    return this.resetAfter;
  }
}

export class SimpleRNN extends MatrixRecurrentLayer {
  constructor(reader: ConfigReader) {
    super(reader, "simple_rnn");
  }
}

const options =
  "`activation`, `recurrent_activation`, `use_bias`, `return_sequences`, `return_state`, " +
  "`go_backwards`, `initial_state`";

export const recurrentLayers: LayerDefinition[] = [
  { className: "LSTM", family: "recurrent", summary: options, create: (r) => new LSTM(r) },
  {
    className: "GRU",
    family: "recurrent",
    summary: `${options}, \`reset_after\` true and false`,
    create: (r) => new GRU(r),
  },
  {
    className: "SimpleRNN",
    family: "recurrent",
    summary: options.replace("`recurrent_activation`, ", ""),
    create: (r) => new SimpleRNN(r),
  },
];
