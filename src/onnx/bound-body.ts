/**
 * A Loop body bound to the shapes of one call: its nodes get their output buffers once
 * (ops/types.ts BoundNode), and an iteration only runs them, reading the body's inputs from
 * buffers the loop refills. What depends only on values that stay the same through the loop
 * (constants, outer values, shapes) is computed once, when binding.
 */
import { guarded, type OnnxGraph, type PlannedNode } from "./graph.js";
import { runtimeError, type BoundNode } from "./ops/types.js";
import { allocate, type Value } from "./values.js";

export interface BoundBody {
  /** The body's inputs: the iteration number and the condition, refilled before each iteration, then
   * the loop-carried values' buffers, refilled from the carried outputs after it. */
  readonly formal: readonly Value[];
  /** The body's outputs after its nodes ran: the condition, the N carried values, the K scan outputs. */
  readonly outputs: readonly Value[];
  /** The bound nodes, run in order for one iteration. */
  readonly nodes: readonly BoundNode[];
}

/** Ops whose bound form reads its inputs after the first (shapes, axes, starts, sizes) when bound. */
const READ_WHEN_BOUND = /^(?:ReverseSequence|Reshape|Squeeze|Unsqueeze|Slice|Split|Reduce)/;

const copyOf = (v: Value): Value => {
  const data = allocate(v.type, v.data.length);
  data.set(v.data);
  return { type: v.type, shape: v.shape, data };
};

/**
 * Binds `body` for iterations whose carried values keep the shapes of `initial`; `outer` are the
 * enclosing graphs' values it reads. A node that has no bound form, or would read a value that
 * changes from one iteration to the next only once, is called each iteration instead, its results
 * copied into buffers of its first results' shapes (values must keep their shapes in a loop).
 */
export function bindBody(
  body: OnnxGraph,
  initial: readonly Value[],
  outer: readonly Value[],
  label: string,
): BoundBody {
  const carried = initial.map(copyOf);
  const formal: Value[] = [
    { type: "int", shape: [], data: new Float64Array(1) },
    { type: "bool", shape: [], data: new Uint8Array(1) },
    ...carried,
  ];
  const values = body.constants.slice();
  /** Slots whose data changes from one iteration to the next. */
  const changing = new Set<number>();
  body.inputSlots.forEach((slot, i) => {
    values[slot] = formal[i] ?? outer[i - formal.length];
    if (i < formal.length) changing.add(slot);
  });
  const nodes = bindNodes(body, values, changing, (step, args, _, reads) => {
    const bind = step.kernel.bind;
    return bind === undefined || (READ_WHEN_BOUND.test(step.node.opType) && reads.includes(true, 1))
      ? called(step, args, label)
      : bind(args);
  });
  const outputs = body.outputSlots.map((s) => values[s]!);
  carried.forEach((v, k) => keepsShape(outputs[1 + k], v, label));
  return { formal, outputs, nodes };
}

/** Values keep their shapes from one iteration to the next (bound nodes read fixed buffers). */
function keepsShape(v: Value, before: Value, label: string): void {
  if (v.type !== before.type || v.shape.join() !== before.shape.join())
    throw runtimeError(label, `shape [${before.shape}] became [${v.shape}]`);
}

/** A node called each iteration (it allocates its results), copied into fixed buffers. */
function called(step: PlannedNode, args: (Value | null)[], label: string): BoundNode {
  const outputs = guarded(step.node, () => step.kernel(args)).map(copyOf);
  return {
    outputs,
    run() {
      guarded(step.node, () => step.kernel(args)).forEach((v, k) => {
        keepsShape(v, outputs[k], label);
        outputs[k].data.set(v.data);
      });
    },
  };
}
/**
 * Binds a graph's plan to `values` (constants and inputs, by slot; the outputs are filled in):
 * a node whose inputs stay the same from run to run (`changing` holds the slots that do not) is
 * computed now, as are Shape and Size (shapes stay fixed once bound); `bindNode` binds the others,
 * whose outputs then change too. Returns the bound nodes, in order. Streams use it too.
 */
export function bindNodes(
  graph: OnnxGraph,
  values: (Value | undefined)[],
  changing: Set<number>,
  bindNode: (step: PlannedNode, args: (Value | null)[], index: number, reads: boolean[]) => BoundNode,
): BoundNode[] {
  const nodes: BoundNode[] = [];
  graph.plan.forEach((step, index) => {
    const args = step.inputs.map((s) => (s === -1 ? null : values[s]!));
    const reads = step.inputs.map((s) => changing.has(s));
    const { opType } = step.node;
    let outputs: readonly Value[];
    if (opType === "Shape" || opType === "Size" || !reads.includes(true))
      outputs = guarded(step.node, () => step.kernel(args));
    else {
      const bound = guarded(step.node, () => bindNode(step, args, index, reads));
      nodes.push(bound);
      outputs = bound.outputs;
      for (const s of step.outputs) changing.add(s);
    }
    step.outputs.forEach((s, k) => {
      if (s !== -1) values[s] = outputs[k];
    });
  });
  return nodes;
}
