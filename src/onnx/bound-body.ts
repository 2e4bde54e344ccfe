/**
 * A Loop body bound to the shapes of one call through the graphs' binder (bound.ts bindPlan): its
 * nodes get their output buffers once (ops/types.ts BoundNode), and an iteration only runs them,
 * reading the body's inputs from buffers the loop refills. What depends only on values that stay
 * the same through the loop (constants, outer values, shapes) is computed once, when binding.
 */
import { bindPlan, type BoundPlan } from "./bound.js";
import { guarded, type OnnxGraph, type PlannedNode } from "./graph.js";
import { runtimeError, type BoundNode } from "./ops/types.js";
import type { Value } from "./values.js";

/** Ops whose bound form reads its inputs after the first (shapes, axes, starts, sizes) when bound. */
const READ_WHEN_BOUND = /^(?:ReverseSequence|Reshape|Squeeze|Unsqueeze|Slice|Split|Reduce)/;

/**
 * Binds `body` for iterations whose carried values keep the shapes of `initial`; `outer` are the
 * enclosing graphs' values it reads. The plan's inputs are the iteration number, the condition
 * and the carried values, refilled by the loop; its outputs the condition, the N carried values
 * and the K scan outputs. A node that has no bound form, or would read a value that changes from
 * one iteration to the next only once, is called each iteration instead, its results copied into
 * buffers of its first results' shapes (values must keep their shapes in a loop).
 */
export function bindBody(
  body: OnnxGraph,
  initial: readonly Value[],
  outer: readonly Value[],
  label: string,
): BoundPlan {
  const formal = [{ type: "int", shape: [] } as const, { type: "bool", shape: [] } as const, ...initial];
  // Every node binds: those that could not are called each iteration.
  const bound = bindPlan(body, formal, undefined, outer, (step, args, live) =>
    step.kernel.bind === undefined || (READ_WHEN_BOUND.test(step.node.opType) && live.includes(true, 1))
      ? called(step, args, label)
      : undefined,
  ) as BoundPlan;
  initial.forEach((v, k) => keepsShape(bound.outputs[1 + k], v, label));
  return bound;
}

/** Values keep their shapes from one iteration to the next (bound nodes read fixed buffers). */
function keepsShape(v: Value, before: Value, label: string): void {
  if (v.type !== before.type || v.shape.join() !== before.shape.join())
    throw runtimeError(label, `shape [${before.shape}] became [${v.shape}]`);
}

/** A node called each iteration (it allocates its results), copied into fixed buffers. */
function called(step: PlannedNode, args: (Value | null)[], label: string): BoundNode {
  const outputs = guarded(step.node, () => step.kernel(args)).map((v) => ({ ...v, data: v.data.slice() }));
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
