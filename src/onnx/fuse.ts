/**
 * Rewrites of the plan at load that spare copies and leave every number as it is.
 *
 * Exporters turn batch-first data into the time-major X of a layout-0 LSTM/GRU/RNN with a
 * Transpose [1, 0, 2]; the node's cells read batch-major sequences, so it copied X back. When that
 * node is the only reader of the Transpose's output, it reads the Transpose's input instead (its
 * batchMajorInput form) and the Transpose does not run: the sequence is not copied twice per call.
 */
import type { PlannedNode } from "./graph.js";
import type { OnnxNode } from "./proto.js";

export function absorbInputTransposes(plan: PlannedNode[], outputSlots: readonly number[]): void {
  const readers = new Map<number, number>();
  const read = (s: number): void => void readers.set(s, (readers.get(s) ?? 0) + 1);
  for (const step of plan) step.inputs.forEach(read);
  outputSlots.forEach(read);
  for (let i = 0; i < plan.length; i++) {
    const step = plan[i];
    const batchMajor = step.kernel.batchMajorInput;
    const x = step.inputs[0];
    if (batchMajor === undefined || x === -1 || readers.get(x) !== 1) continue;
    const at = plan.findIndex((p) => p.outputs.includes(x));
    if (at < 0 || !swapsFirstAxes(plan[at].node)) continue;
    const transpose = plan[at];
    plan[i] = {
      ...step,
      kernel: batchMajor,
      inputs: [transpose.inputs[0], ...step.inputs.slice(1)],
      absorbed: transpose.node,
    };
    plan.splice(at, 1);
    i--;
  }
}

/** A Transpose of a rank-3 tensor with perm [1, 0, 2]. */
function swapsFirstAxes(node: OnnxNode): boolean {
  if (node.opType !== "Transpose" || node.domain !== "") return false;
  const perm = node.attributes.find((a) => a.name === "perm")?.ints;
  return perm !== undefined && perm.length === 3 && perm[0] === 1 && perm[1] === 0 && perm[2] === 2;
}
