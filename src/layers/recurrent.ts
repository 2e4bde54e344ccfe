/**
 * Recurrent layers: LSTM, GRU, SimpleRNN. The layer reads the config, declares the weights and
 * wires inputs and outputs; the cell math lives in kernels/recurrent.ts.
 *
 * Inputs are [x, ...initialStates]: Keras 3 passes `initial_state` as a call argument, Keras 2
 * as extra inbound tensors; the graph builder gives both in this order.
 */
import type { Activation } from "../kernels/activations.js";
import { GruCell, LstmCell, SimpleRnnCell, runSequence, type RecurrentCell } from "../kernels/recurrent.js";
import { Tensor, formatShape } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { toFloat32 } from "./core.js";
import { Layer, knownDim, type Shape } from "./layer.js";
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
}

abstract class RecurrentLayer extends Layer {
  override readonly variableOwner = "cell";
  protected readonly options: RecurrentOptions;
  protected cell: RecurrentCell | null = null;
  protected inputDim = 0;
  /** How many state tensors the cell carries (LSTM: h and c). */
  protected abstract readonly stateCount: number;
  /** Gate blocks in the kernels (LSTM 4, GRU 3, SimpleRNN 1). */
  protected abstract readonly gateCount: number;

  constructor(reader: ConfigReader, gated: boolean) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.options = {
      units: reader.positiveInt("units"),
      activation: reader.activation("activation", "tanh"),
      recurrentActivation: gated ? reader.activation("recurrent_activation", "sigmoid") : null,
      useBias: reader.bool("use_bias", true),
      returnSequences: reader.bool("return_sequences", false),
      returnState: reader.bool("return_state", false),
      goBackwards: reader.bool("go_backwards", false),
    };
    if (reader.bool("stateful", false)) reader.unsupported("stateful=True is not supported yet");
    if (reader.bool("time_major", false)) reader.unsupported("time_major=True is not supported");
    for (const [key, activation] of [["activation", this.options.activation], ["recurrent_activation", this.options.recurrentActivation]] as const) {
      if (activation !== null && !activation.elementwise) reader.unsupported(`${key} ${activation.name} cannot be used inside a recurrent cell`);
    }
    // dropout, recurrent_dropout, unroll and implementation do not change inference results.
  }

  protected biasShape(): number[] {
    return [this.gateCount * this.options.units];
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    const { units, returnSequences, returnState } = this.options;
    this.expectInputs(inputShapes, [1, 1 + this.stateCount]);
    const [x, ...states] = inputShapes;
    this.expectRank(x, 3);
    if (states.length !== 0 && states.length !== this.stateCount) {
      throw this.error("E_CONFIG", `initial_state needs ${this.stateCount} tensor(s), got ${states.length}`);
    }
    for (const s of states) {
      if (s.length !== 2 || (s[1] !== null && s[1] !== units)) {
        throw this.error("E_CONFIG", `initial state of shape ${formatShape(s)} does not match units=${units}`);
      }
    }
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
    const output: Shape = returnSequences ? [x[0], x[1], units] : [x[0], units];
    const stateShapes: Shape[] = returnState ? Array.from({ length: this.stateCount }, () => [x[0], units]) : [];
    return [output, ...stateShapes];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    const [kernel, recurrentKernel, bias] = weights;
    this.cell = this.createCell(kernel, recurrentKernel, this.options.useBias ? bias : null);
  }

  protected abstract createCell(kernel: Float32Array, recurrentKernel: Float32Array, bias: Float32Array | null): RecurrentCell;

  call([x, ...initialStates]: Tensor[]): Tensor[] {
    const { units, returnSequences, returnState, goBackwards } = this.options;
    const [batch, time, features] = x.shape;
    for (const s of initialStates) {
      if (s.shape[0] !== batch) {
        throw this.error("E_INPUT_SHAPE", `initial state of shape ${formatShape(s.shape)} does not match the batch size ${batch}`);
      }
    }
    const run = runSequence(
      this.cell!,
      toFloat32(x),
      batch,
      time,
      features,
      goBackwards,
      returnSequences,
      initialStates.length > 0 ? initialStates.map(toFloat32) : null,
    );
    const output = new Tensor(returnSequences ? [batch, time, units] : [batch, units], run.output);
    return returnState ? [output, ...run.states.map((s) => new Tensor([batch, units], s))] : [output];
  }
}

export class LSTM extends RecurrentLayer {
  protected readonly stateCount = 2;
  protected readonly gateCount = 4;

  constructor(reader: ConfigReader) {
    super(reader, true);
  }

  protected createCell(kernel: Float32Array, recurrentKernel: Float32Array, bias: Float32Array | null): RecurrentCell {
    return new LstmCell(this.options.units, { kernel, recurrentKernel, bias }, this.options.activation, this.options.recurrentActivation!);
  }
}

export class GRU extends RecurrentLayer {
  protected readonly stateCount = 1;
  protected readonly gateCount = 3;
  readonly resetAfter: boolean;

  constructor(reader: ConfigReader) {
    super(reader, true);
    // reset_after became the default with Keras 2.3 / tf.keras 2; every file since writes it.
    this.resetAfter = reader.bool("reset_after", reader.context.kerasMajor === 3);
  }

  protected override biasShape(): number[] {
    return this.resetAfter ? [2, 3 * this.options.units] : [3 * this.options.units];
  }

  protected createCell(kernel: Float32Array, recurrentKernel: Float32Array, bias: Float32Array | null): RecurrentCell {
    return new GruCell(this.options.units, { kernel, recurrentKernel, bias }, this.resetAfter, this.options.activation, this.options.recurrentActivation!);
  }
}

export class SimpleRNN extends RecurrentLayer {
  protected readonly stateCount = 1;
  protected readonly gateCount = 1;

  constructor(reader: ConfigReader) {
    super(reader, false);
  }

  protected createCell(kernel: Float32Array, recurrentKernel: Float32Array, bias: Float32Array | null): RecurrentCell {
    return new SimpleRnnCell(this.options.units, { kernel, recurrentKernel, bias }, this.options.activation);
  }
}

const options = "`activation`, `recurrent_activation`, `use_bias`, `return_sequences`, `return_state`, `go_backwards`, `initial_state`";

export const recurrentLayers: LayerDefinition[] = [
  { className: "LSTM", family: "recurrent", summary: options, create: (r) => new LSTM(r) },
  { className: "GRU", family: "recurrent", summary: `${options}, \`reset_after\` true and false`, create: (r) => new GRU(r) },
  { className: "SimpleRNN", family: "recurrent", summary: options.replace("`recurrent_activation`, ", ""), create: (r) => new SimpleRNN(r) },
];
