/**
 * model.stream() on an ONNX graph: each step runs the graph on a sequence of length 1 while the
 * recurrent nodes carry their final states into the next step, which gives what predict() gives
 * on the sequence so far. Only causal graphs stream (see causal.ts). When the batch size is known
 * every node is bound once (bound.ts): what depends only on shapes is computed then, the rest is
 * run into buffers allocated then, so a step allocates nothing.
 */
import { KeraslessError } from "../errors.js";
import type { TensorInfo } from "../inputs.js";
import type { StepGraph } from "../stream.js";
import { Tensor } from "../tensor.js";
import { causalPlan, type CausalPlan } from "./causal.js";
import { bindPlan, runBound, type BoundPlan } from "./bound.js";
import type { OnnxGraph } from "./graph.js";
import { nodeLabel, type OnnxNode } from "./proto.js";
import { makeValue, type Value } from "./values.js";

interface Opened {
  readonly batch: number;
  /** The plan bound to one step's shapes (each input with its time axis of length 1 in place). */
  readonly bound: BoundPlan;
  readonly stateBuffers: Float32Array[];
  /** Per graph output: the step's tensor (without a time axis) and, for integers, its source. */
  readonly results: Tensor[];
  readonly intSources: (Value | null)[];
}

export class OnnxStepGraph implements StepGraph {
  readonly inputs: readonly TensorInfo[];
  private readonly plan: CausalPlan;
  private opened: Opened | null = null;

  constructor(private readonly graph: OnnxGraph) {
    // A Loop (tf2onnx's loop over time steps) runs whole: named before the nodes computing its trip count.
    const loop = graph.plan.find((p) => p.node.opType === "Loop");
    if (loop) throw new KeraslessError("E_UNSUPPORTED", `cannot stream: ${nodeLabel(loop.node)} is a loop`);
    this.plan = causalPlan(graphView(graph));
    this.inputs = graph.inputs.map((info, i) => {
      // A fixed time length in the file does not bind a stream: nodes that would depend on it
      // (a Reshape, a Slice of the time axis) are refused by the causality check.
      const axis = this.plan.inputTimeAxes[i];
      const shape = info.shape.filter((_, k) => k !== axis);
      if (shape.slice(1).some((d) => d === null))
        throw new KeraslessError(
          "E_UNSUPPORTED",
          `cannot stream: input "${info.name}" has a size other than batch and time that the file leaves open`,
        );
      return Object.freeze({ ...info, shape: Object.freeze(shape) });
    });
  }

  get batch(): number | null {
    return this.opened?.batch ?? null;
  }

  get stateBuffers(): readonly Float32Array[] {
    return this.opened!.stateBuffers;
  }

  /** The step's outputs come without their time axis already. */
  outputsHaveTime(): boolean[] {
    return this.graph.outputs.map(() => false);
  }

  /** Binds every node for `batch` rows: the buffers of every step are allocated here. */
  open(batch: number): void {
    const graph = this.graph;
    const shapes = this.inputs.map((info, i): Pick<Value, "type" | "shape"> => {
      const shape = [batch, ...(info.shape.slice(1) as number[])];
      shape.splice(this.plan.inputTimeAxes[i], 0, 1);
      return { type: info.dtype === "float32" ? "float" : "int", shape };
    });
    const bound = bindPlan(graph, shapes, new Set(this.plan.recurrent));
    if ("unbindable" in bound)
      throw new KeraslessError("E_UNSUPPORTED", `cannot stream: ${nodeLabel(bound.unbindable.node)} has no step form`);
    const results = bound.outputs.map((v, k) => {
      const axis = this.plan.outputTimeAxes[k];
      const shape = axis < 0 ? v.shape : v.shape.filter((_, d) => d !== axis);
      return new Tensor(shape, v.data instanceof Float32Array ? v.data : new Int32Array(v.data.length));
    });
    this.opened = {
      batch,
      bound,
      stateBuffers: bound.carried.flatMap((c) => c.buffers),
      results,
      intSources: bound.outputs.map((v) => (v.data instanceof Float32Array ? null : v)),
    };
  }

  step(inputs: readonly Tensor[]): Tensor[] {
    const o = this.opened!;
    runBound(o.bound, inputs);
    for (let k = 0; k < o.results.length; k++) {
      const source = o.intSources[k];
      if (source === null) continue;
      const out = o.results[k].data;
      for (let j = 0; j < out.length; j++) out[j] = source.data[j];
    }
    return o.results;
  }

  /** Back to the start of a sequence: the recurrent nodes start again from their initial states. */
  reset(): void {
    for (const c of this.opened?.bound.carried ?? []) c.restart();
  }
}

/** What the causality check needs from the graph: its plan, constants and each value's rank. */
function graphView(graph: OnnxGraph): Parameters<typeof causalPlan>[0] {
  // Ranks come from one run on a probe input (unknown sizes as 2): ONNX files need not state them.
  const probe = graph.inputs.map((info) =>
    makeValue(
      info.dtype === "float32" ? "float" : "int",
      info.shape.map((d) => d ?? 2),
    ),
  );
  const values: (Value | undefined)[] = [];
  try {
    graph.execute(probe, values);
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
