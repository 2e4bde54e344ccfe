/**
 * model.stream(): feed a model one time step at a time, keeping every recurrent state, as a live
 * forecaster does. Feeding a whole sequence step by step gives, at each step, what predict()
 * gives for the sequence up to that step (and for return_sequences outputs, that step's slice).
 */
import { KeraslessError } from "./errors.js";
import type { Graph } from "./graph/graph.js";
import { GraphStream } from "./graph/stream.js";
import { checkInputShape, normalizeInputs, type PredictInput, type TensorInfo } from "./inputs.js";
import { Tensor, formatShape, sizeOf } from "./tensor.js";

export interface StreamOptions {
  /** Rows fed per step. Without it, the first step's batch size is used. */
  batch?: number;
}

/** Every state a stream carries (recurrent states, convolution windows), from getState(). */
export interface StreamState {
  readonly batch: number;
  readonly buffers: readonly Float32Array[];
}

/**
 * @internal What a ModelStream steps: a Keras graph's GraphStream, or another front end's graph
 * (ONNX) with the same contract: open() allocates, step() allocates nothing and reuses its outputs.
 */
export interface StepGraph {
  readonly batch: number | null;
  readonly stateBuffers: readonly Float32Array[];
  /** Per model output: whether step() gives it with a (length-1) time axis at position 1. */
  outputsHaveTime(): boolean[];
  open(batch: number): void;
  /** Per model input, [batch, 1, ...features]. */
  step(inputs: readonly Tensor[]): Tensor[];
  reset(): void;
}

/** @internal A StepGraph with its inputs for one step ([null, ...features], all known). */
export interface StepSource extends StepGraph {
  readonly inputs: readonly TensorInfo[];
}

export class ModelStream {
  /** The model inputs for one step: the model's input shapes without the time axis. */
  readonly inputs: readonly TensorInfo[];
  private readonly graph: StepGraph;
  private readonly outputsHaveTime: readonly boolean[];
  /** Per model input: the [batch, 1, ...] tensor a step fills. */
  private stepInputs: Tensor[] = [];
  /** Per model output: the step's value without its time axis (rebuilt only if the tensor changes). */
  private readonly views: (Tensor | null)[];
  private readonly results: Tensor[];

  /** @internal Use model.stream(). */
  constructor(graph: Graph | StepSource, options: StreamOptions = {}) {
    this.graph = "inputLayers" in graph ? new GraphStream(graph) : graph;
    this.outputsHaveTime = this.graph.outputsHaveTime();
    this.inputs = "inputLayers" in graph ? kerasStepInputs(graph) : graph.inputs;
    this.views = this.outputsHaveTime.map(() => null);
    this.results = new Array(this.outputsHaveTime.length);
    if (options.batch !== undefined) {
      if (!Number.isInteger(options.batch) || options.batch < 1)
        throw new KeraslessError("E_INPUT", `stream batch must be a positive integer, got ${options.batch}`);
      this.open(options.batch);
    }
  }

  /** Rows per step, once known. */
  get batch(): number | null {
    return this.graph.batch;
  }

  private open(batch: number): void {
    this.graph.open(batch);
    this.stepInputs = this.inputs.map((info) => {
      const shape = [batch, 1, ...(info.shape.slice(1) as number[])];
      return new Tensor(
        shape,
        info.dtype === "int32" ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape)),
      );
    });
  }

  /**
   * Feeds one time step: per model input, [batch, ...features] (nested arrays, a {shape, data}
   * tensor, a list in input order or a record by name, as predict() takes). Returns the model's
   * outputs for this step, without the time axis. The returned tensors are reused: the next
   * step overwrites them (copy what you keep). Float32Array/Int32Array tensors are copied in
   * without any allocation.
   */
  step(x: PredictInput): Tensor[] {
    if (!this.copyFast(x)) {
      const tensors = normalizeInputs(x, this.inputs);
      if (this.graph.batch === null) this.open(tensors[0].shape[0]);
      tensors.forEach((t, i) => this.copyIn(t.shape, t.data, i));
    }
    const outputs = this.graph.step(this.stepInputs);
    for (let k = 0; k < outputs.length; k++) {
      const value = outputs[k];
      if (!this.outputsHaveTime[k]) {
        this.results[k] = value;
        continue;
      }
      let view = this.views[k];
      if (view === null || view.data !== value.data) {
        view = new Tensor([value.shape[0], ...value.shape.slice(2)], value.data);
        this.views[k] = view;
      }
      this.results[k] = view;
    }
    return this.results;
  }

  /** The allocation-free path: one input given as a tensor with typed data of the right shape. */
  private copyFast(x: PredictInput): boolean {
    if (
      this.inputs.length !== 1 ||
      typeof x !== "object" ||
      x === null ||
      Array.isArray(x) ||
      !("shape" in x) ||
      !("data" in x)
    )
      return false;
    const data = (x as { data: unknown }).data;
    const wanted = this.inputs[0].dtype === "int32" ? Int32Array : Float32Array;
    if (!(data instanceof wanted)) return false;
    const shape = (x as { shape: unknown }).shape;
    if (!Array.isArray(shape)) return false;
    if (this.graph.batch === null) {
      // Checked once, before the batch size is taken from it; later steps must match it exactly (copyIn).
      checkInputShape(shape, `stream input "${this.inputs[0].name}"`, data.length);
      this.open(shape[0]);
    }
    this.copyIn(shape, data, 0);
    return true;
  }

  private copyIn(shape: readonly number[], data: ArrayLike<number>, index: number): void {
    const target = this.stepInputs[index];
    const info = this.inputs[index];
    let ok = shape.length === target.shape.length - 1 && shape[0] === target.shape[0];
    for (let d = 1; ok && d < shape.length; d++) ok = shape[d] === target.shape[d + 1];
    if (!ok || data.length !== target.data.length) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `stream input "${info.name}" expects one step of shape ` +
          `${formatShape([this.graph.batch, ...info.shape.slice(1)])}, got ${formatShape(shape)}`,
      );
    }
    (target.data as Float32Array).set(data as Float32Array);
  }

  /** Back to the start of a sequence: every state to zero. */
  reset(): void {
    this.graph.reset();
  }

  /** A copy of every state the stream carries, to checkpoint or fork it. */
  getState(): StreamState {
    const buffers = this.openedBuffers("getState");
    return Object.freeze({ batch: this.graph.batch!, buffers: Object.freeze(buffers.map((b) => b.slice())) });
  }

  /** Restores a state from getState() of a stream of the same model and batch size. */
  setState(state: StreamState): void {
    const own = this.openedBuffers("setState");
    const given = state?.buffers;
    const fits =
      state?.batch === this.graph.batch &&
      Array.isArray(given) &&
      given.length === own.length &&
      given.every((b, i) => b instanceof Float32Array && b.length === own[i].length);
    if (!fits)
      throw new KeraslessError(
        "E_INPUT",
        "setState() needs a state from getState() of a stream of the same model and batch size",
      );
    given.forEach((b, i) => own[i].set(b));
  }

  private openedBuffers(what: string): readonly Float32Array[] {
    if (this.graph.batch === null)
      throw new KeraslessError(
        "E_INPUT",
        `${what}() before the first step: give stream({ batch }) or call step() first`,
      );
    return this.graph.stateBuffers;
  }
}

/** A Keras graph's inputs for one step: the batch, then every size after the time axis. */
function kerasStepInputs(graph: Graph): TensorInfo[] {
  return graph.inputLayers.map((layer) => {
    const [, , ...features] = layer.batchShape;
    if (features.some((d) => d === null)) {
      const shape = formatShape(layer.batchShape);
      const problem = `input "${layer.name}" has shape ${shape}; a stream needs every size after the time axis known`;
      throw new KeraslessError("E_UNSUPPORTED", `cannot stream: ${problem}`);
    }
    return Object.freeze({ name: layer.name, shape: Object.freeze([null, ...features]), dtype: layer.dtype });
  });
}
