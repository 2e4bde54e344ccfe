/**
 * Load-time limits on what a config makes a predict() do, each worked out once per graph (a
 * nested model called many times, at many levels, is still visited once).
 */
import { KeraslessError } from "../errors.js";
import { ModelLayer } from "./model-layer.js";
import { checkOutputSize } from "./shapes.js";
import type { GraphView } from "./types.js";

export { MAX_VALUES_PER_SAMPLE } from "./shapes.js";

/**
 * Most layer calls one predict() may run, counting each call of a nested model as the calls of
 * its graph: a nested model called twice at each of 40 levels describes 2^40 calls in 14 KB.
 */
export const MAX_CALLS_PER_RUN = 2 ** 20;

/** Checks every output size (unknown sizes as 1) and the number of calls a run makes. */
export function checkGraphLimits(graph: GraphView): void {
  const runCalls = new Map<GraphView, number>();
  // Post-order over nested graphs with an explicit stack: each graph's count needs its children's.
  const stack: { graph: GraphView; expanded: boolean }[] = [{ graph, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (runCalls.has(top.graph)) continue;
    const nested = top.graph.calls.flatMap(({ layer }) => (layer instanceof ModelLayer ? [layer.graph] : []));
    if (!top.expanded) {
      stack.push({ graph: top.graph, expanded: true });
      for (const inner of nested) if (!runCalls.has(inner)) stack.push({ graph: inner, expanded: false });
      continue;
    }
    let count = 0;
    for (const call of top.graph.calls) {
      for (const shape of call.outputShapes) checkOutputSize(call.layer, shape, "");
      count += 1 + (call.layer instanceof ModelLayer ? runCalls.get(call.layer.graph)! : 0);
      if (count > MAX_CALLS_PER_RUN) {
        throw new KeraslessError(
          "E_LIMIT",
          `model "${top.graph.name}" runs more than ${MAX_CALLS_PER_RUN} layer calls per prediction ` +
            "(each call of a nested model counts its layers' calls), more than kerasless allows",
        );
      }
    }
    runCalls.set(top.graph, count);
  }
}
