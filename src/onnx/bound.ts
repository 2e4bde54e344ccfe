/**
 * A plan bound to fixed input shapes: every node bound once (ops/types.ts BoundNode: its outputs
 * allocated, what depends only on shapes computed), so that a call copies its inputs in and runs
 * the nodes into the same buffers, binding and allocating nothing. stream() binds one for its
 * steps (recurrent nodes carrying their states); predict() keeps a few, by input shapes, for
 * small graphs (binding costs more than the arithmetic of a small call: tens of microseconds)
 * whose nodes take no integers computed from the inputs' values (see takesLiveIntegers).
 */
import { guarded, type OnnxGraph, type PlannedNode } from "./graph.js";
import type { BoundNode, CarriedStates } from "./ops/types.js";
import { allocate, elementCount, type Value } from "./values.js";

export interface BoundPlan {
  /** Per graph input: the value a call fills. */
  readonly inputs: readonly Value[];
  /** The nodes that run per call, in order. */
  readonly nodes: readonly BoundNode[];
  readonly carried: readonly CarriedStates[];
  /** Per graph output: the bound value (or a constant). */
  readonly outputs: readonly Value[];
  /** Floats (and integers) the bound values hold. */
  readonly size: number;
  /**
   * Some bound node takes integers computed from the inputs' values (not only their shapes):
   * indices or sizes, which ops may read when binding, so a call with other values binds again.
   */
  readonly takesLiveIntegers: boolean;
}

/**
 * How a Loop body binds a node that has no bound form or reads values that change from run to run
 * (`live`, per input) when bound: a node called each run; undefined to bind it as usual.
 */
export type CallEachRun = (step: PlannedNode, args: (Value | null)[], live: boolean[]) => BoundNode | undefined;

/**
 * Binds `graph` for inputs of these shapes and types; `recurrent`: plan indices of the nodes that
 * carry their states from run to run. A node without a bound form is returned instead, unless
 * `callEachRun` binds it. `outer`: the values of the graph's last inputs (a Loop body's values of
 * the enclosing graphs), taken as they are and the same in every run.
 */
export function bindPlan(
  graph: OnnxGraph,
  inputs: readonly (Pick<Value, "type" | "shape"> & { data?: Value["data"] })[],
  recurrent: ReadonlySet<number> = new Set(),
  outer: readonly Value[] = [],
  callEachRun?: CallEachRun,
): BoundPlan | { unbindable: PlannedNode } {
  const own = inputs.map(({ type, shape, data }): Value => {
    const buffer = allocate(type, elementCount(shape));
    // A call's values are in place before binding: ops read indices and sizes when bound.
    if (data !== undefined) buffer.set(data);
    return { type, shape, data: buffer };
  });
  const values = graph.constants.slice();
  const live = new Set(graph.inputSlots.slice(0, own.length));
  graph.inputSlots.forEach((slot, i) => (values[slot] = own[i] ?? outer[i - own.length]));
  const nodes: BoundNode[] = [];
  const carried: CarriedStates[] = [];
  let size = own.reduce((n, v) => n + v.data.length, 0);
  let takesLiveIntegers = false;
  for (let index = 0; index < graph.plan.length; index++) {
    const step = graph.plan[index];
    const args = step.inputs.map((s) => (s === -1 ? null : values[s]!));
    const shapeOf = step.node.opType === "Shape" || step.node.opType === "Size";
    let outputs: readonly Value[];
    if (shapeOf || !step.inputs.some((s) => live.has(s))) {
      // Depends on the shapes only: computed once.
      outputs = guarded(step.node, () => step.kernel(args));
    } else {
      const bind = step.kernel.bind;
      const reads = step.inputs.map((s) => live.has(s));
      const bound =
        guarded(step.node, () => callEachRun?.(step, args, reads)) ??
        (bind === undefined ? undefined : guarded(step.node, () => bind(args, recurrent.has(index))));
      if (bound === undefined) return { unbindable: step };
      if (step.inputs.some((s, k) => reads[k] && values[s]!.type === "int")) takesLiveIntegers = true;
      nodes.push(bound);
      if (bound.carried !== undefined) carried.push(bound.carried);
      outputs = bound.outputs;
      for (const s of step.outputs) live.add(s);
      for (const v of outputs) size += v.data.length;
    }
    step.outputs.forEach((s, k) => {
      if (s !== -1) values[s] = outputs[k];
    });
  }
  const outputs = graph.outputSlots.map((s) => values[s]!);
  return { inputs: own, nodes, carried, outputs, size, takesLiveIntegers };
}

/** Copies `given` into the plan's inputs and runs its nodes: its outputs then hold the results. */
export function runBound(plan: BoundPlan, given: readonly { data: ArrayLike<number> }[]): void {
  for (let i = 0; i < given.length; i++) {
    const from = given[i].data;
    const to = plan.inputs[i].data;
    if (to instanceof Float32Array && from instanceof Float32Array) to.set(from);
    else for (let j = 0; j < to.length; j++) to[j] = from[j];
  }
  for (let i = 0; i < plan.nodes.length; i++) plan.nodes[i].run();
}

/**
 * Bound plans kept for predict(), by input shapes: a few (a stream's batch, the usual batch sizes),
 * each holding at most KEPT_VALUES values (larger calls bind per call, their values freed as they go).
 */
const KEPT_PLANS = 4;
const KEPT_VALUES = 1 << 20;

export class BoundCalls {
  private readonly plans = new Map<string, BoundPlan | null>();

  constructor(private readonly graph: OnnxGraph) {}

  /** The bound plan for these inputs' shapes, or null when the call should bind as it runs. */
  planFor(inputs: readonly Value[]): BoundPlan | null {
    const signature = inputs.map((v) => `${v.type}:${v.shape.join(",")}`).join(";");
    const kept = this.plans.get(signature);
    if (kept !== undefined) return kept;
    if (this.plans.size >= KEPT_PLANS) return null;
    if (inputs.reduce((n, v) => n + elementCount(v.shape), 0) > KEPT_VALUES) return null;
    const bound = bindPlan(this.graph, inputs);
    if ("unbindable" in bound) {
      this.plans.set(signature, null);
      return null;
    }
    // Too large to keep, or bound to this call's values: this call runs it, the next ones bind as they run.
    this.plans.set(signature, bound.size > KEPT_VALUES || bound.takesLiveIntegers ? null : bound);
    return bound;
  }
}
