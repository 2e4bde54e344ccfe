/**
 * model.stream() on an ONNX graph: each step runs the graph on a sequence of length 1 while the
 * recurrent nodes carry their final states into the next step as initial states, which gives
 * what predict() gives on the sequence so far. Only causal graphs stream (see causal.ts).
 * Unlike the Keras streams, a step allocates its intermediate values (the ONNX kernels allocate).
 */
import { KeraslessError } from "../errors.js";
import type { TensorInfo, PredictInput } from "../inputs.js";
import type { StreamOptions, StreamState } from "../stream.js";
import { Tensor, formatShape } from "../tensor.js";
import { causalPlan, type CausalPlan } from "./causal.js";
import { toTensor, toValue, type OnnxGraph } from "./graph.js";
import { onnxInputs } from "./inputs.js";
import type { OpKernel } from "./ops/types.js";
import type { OnnxNode } from "./proto.js";
import { allocate, type Value } from "./values.js";

export class OnnxStream {
  readonly inputs: readonly TensorInfo[];
  private readonly plan: CausalPlan;
  private readonly kernels: (OpKernel | null)[];
  /** Per recurrent node, its final states after the last step (null before the first). */
  private carried: (Value[] | null)[];
  private batchSize: number | null = null;

  constructor(
    private readonly graph: OnnxGraph,
    options: StreamOptions = {},
  ) {
    this.plan = causalPlan(graphView(graph));
    this.inputs = graph.inputs.map((info, i) => {
      // A fixed time length in the file does not bind a stream: nodes that would depend on it
      // (a Reshape, a Slice of the time axis) are refused by the causality check.
      const axis = this.plan.inputTimeAxes[i];
      return Object.freeze({ ...info, shape: Object.freeze(info.shape.filter((_, k) => k !== axis)) });
    });
    this.carried = this.plan.recurrent.map(() => null);
    this.kernels = graph.plan.map(() => null);
    this.plan.recurrent.forEach((index, k) => {
      const kernel = graph.plan[index].kernel;
      this.kernels[index] = (inputs) => {
        const args = inputs.slice();
        const states = this.carried[k];
        if (states !== null) states.forEach((s, j) => (args[5 + j] = s));
        const outputs = kernel(args);
        this.carried[k] = outputs.slice(1);
        return outputs;
      };
    });
    if (options.batch !== undefined) {
      if (!Number.isInteger(options.batch) || options.batch < 1)
        throw new KeraslessError("E_INPUT", `stream batch must be a positive integer, got ${options.batch}`);
      this.batchSize = options.batch;
    }
  }

  get batch(): number | null {
    return this.batchSize;
  }

  /** One time step per input ([batch, ...features]); the outputs for this step, without a time axis. */
  step(x: PredictInput): Tensor[] {
    const tensors = onnxInputs(x, this.inputs);
    const batch = tensors[0].shape[0];
    if (this.batchSize === null) this.batchSize = batch;
    if (batch !== this.batchSize)
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `stream input "${this.inputs[0].name}" expects a batch of ${this.batchSize}, ` +
          `got ${formatShape(tensors[0].shape)}`,
      );
    const values = tensors.map((t, i) => {
      const v = toValue(t);
      const shape = v.shape.slice();
      shape.splice(this.plan.inputTimeAxes[i], 0, 1);
      return { ...v, shape };
    });
    const outputs = this.graph.execute(values, this.kernels);
    return outputs.map((v, k) => {
      const axis = this.plan.outputTimeAxes[k];
      return toTensor(axis < 0 ? v : { ...v, shape: v.shape.filter((_, d) => d !== axis) });
    });
  }

  /** Back to the start of a sequence: the recurrent nodes start again from their initial states. */
  reset(): void {
    this.carried = this.carried.map(() => null);
  }

  getState(): StreamState {
    const buffers = this.states("getState").map((v) => (v.data as Float32Array).slice());
    return Object.freeze({ batch: this.batchSize!, buffers: Object.freeze(buffers) });
  }

  setState(state: StreamState): void {
    const own = this.states("setState");
    const given = state?.buffers;
    const fits =
      state?.batch === this.batchSize &&
      Array.isArray(given) &&
      given.length === own.length &&
      given.every((b, i) => b instanceof Float32Array && b.length === own[i].data.length);
    if (!fits)
      throw new KeraslessError(
        "E_INPUT",
        "setState() needs a state from getState() of a stream of the same model and batch size",
      );
    let i = 0;
    this.carried = this.carried.map((states) =>
      states!.map((v) => ({ ...v, data: Float32Array.from(given[i++]) as Value["data"] })),
    );
  }

  private states(what: string): Value[] {
    if (this.carried.some((c) => c === null))
      throw new KeraslessError("E_INPUT", `${what}() before the first step of an ONNX stream: call step() first`);
    return this.carried.flatMap((c) => c!);
  }
}

/** What the causality check needs from the graph: its plan, constants and each value's rank. */
function graphView(graph: OnnxGraph): Parameters<typeof causalPlan>[0] {
  // Ranks come from one run on a probe input (unknown sizes as 2): ONNX files need not state them.
  const probe = graph.inputs.map((info) => {
    const shape = info.shape.map((d) => d ?? 2);
    const size = shape.reduce((n, d) => n * d, 1);
    return {
      type: info.dtype === "float32" ? "float" : "int",
      shape,
      data: allocate(info.dtype === "float32" ? "float" : "int", size),
    } as Value;
  });
  const values: (Value | undefined)[] = [];
  try {
    graph.execute(probe, undefined, values);
  } catch (e) {
    throw new KeraslessError(
      "E_UNSUPPORTED",
      `cannot stream: the graph does not run on a probe sequence (${(e as Error).message})`,
    );
  }
  const attribute = (node: OnnxNode, name: string) => node.attributes.find((a) => a.name === name);
  return {
    plan: graph.plan,
    inputSlots: graph.inputSlots,
    outputSlots: graph.outputSlots,
    inputRanks: graph.inputs.map((i) => i.shape.length),
    inputNames: graph.inputs.map((i) => i.name),
    constant: (slot) => graph.constants[slot],
    attributeInts: (node, name) => attribute(node, name)?.ints ?? null,
    attributeInt: (node, name, fallback) => attribute(node, name)?.i ?? fallback,
    attributeString: (node, name, fallback) => {
      const s = attribute(node, name)?.s;
      return s == null ? fallback : new TextDecoder().decode(s);
    },
    rankOf: (slot) => values[slot]?.shape.length ?? null,
  };
}
