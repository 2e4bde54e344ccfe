/**
 * The run-time half of the output size limit. Load time counts an unknown (`None`) size as 1;
 * each predict() then computes the output shapes from its actual input shapes and refuses
 * (E_LIMIT) before anything is allocated. Models whose every size is known skip this, and a
 * predict() on the same input sizes as the last one reuses its answer.
 */
import type { Shape } from "../layers/layer.js";
import type { Tensor } from "../tensor.js";
import { outputShapesFor } from "./shapes.js";
import type { GraphView } from "./types.js";

export class RunSizeCheck {
  private readonly graph: GraphView;
  /** Some output size depends on a size only the inputs give. */
  private readonly dynamic: boolean;
  /** The input shapes (batch axis aside) last found within the limits. */
  private accepted: (readonly number[])[] | null = null;

  constructor(graph: GraphView) {
    this.graph = graph;
    this.dynamic = graph.calls.some((call) => call.outputShapes.some(hasUnknownSize));
  }

  /** Throws E_LIMIT (or E_INPUT_SHAPE) when these inputs would make an output too large. */
  check(inputs: readonly Tensor[]): void {
    if (!this.dynamic || (this.accepted !== null && sameSizes(this.accepted, inputs))) return;
    outputShapesFor(
      this.graph,
      inputs.map((t): Shape => t.shape),
    );
    this.accepted = inputs.map((t) => t.shape.slice());
  }
}

function hasUnknownSize(shape: Shape): boolean {
  for (let i = 1; i < shape.length; i++) if (shape[i] === null) return true;
  return false;
}

function sameSizes(accepted: readonly (readonly number[])[], inputs: readonly Tensor[]): boolean {
  if (accepted.length !== inputs.length) return false;
  for (let k = 0; k < inputs.length; k++) {
    const a = accepted[k];
    const b = inputs[k].shape;
    if (a.length !== b.length) return false;
    for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false;
  }
  return true;
}
