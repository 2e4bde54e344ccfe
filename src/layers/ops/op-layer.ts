/** An op layer: one tf.keras TFOpLambda / SlicingOpLambda or Keras 3 op node, bound at load. */
import type { Tensor } from "../../tensor.js";
import { KeraslessError } from "../../errors.js";
import { Layer, type CallArguments, type Masks, type Shape, type StreamBehaviour } from "../layer.js";
import { bindOp, type OpDefinition } from "./registry.js";
import type { BoundOp } from "./params.js";

export class OpLayer extends Layer {
  /** Per call (the graph passes each call its own arguments object). */
  private readonly bound = new Map<CallArguments, BoundOp>();

  constructor(
    name: string,
    className: string,
    /** "TFOpLambda tf.math.reduce_mean" or "Keras op Mean", for messages. */
    private readonly label: string,
    private readonly definition: OpDefinition,
  ) {
    super(name, className, false);
  }

  override computeOutputShapes(inputShapes: Shape[], args?: CallArguments): Shape[] {
    if (args?.op === undefined)
      throw new KeraslessError("E_CONFIG", `layer "${this.name}" (${this.label}) has no call arguments`);
    const bound = bindOp(this.definition, `${this.label} in layer "${this.name}"`, args.op, inputShapes);
    this.bound.set(args, bound);
    return bound.shapes.slice();
  }

  override call(inputs: Tensor[], _masks: Masks, args?: CallArguments): Tensor[] {
    const bound = args === undefined ? undefined : this.bound.get(args);
    if (bound === undefined) throw new KeraslessError("E_CONFIG", `op layer "${this.name}" was not built`);
    return bound.run(inputs);
  }

  override streamBehaviour(): StreamBehaviour {
    return { kind: "refused", reason: "op layers run on whole tensors" };
  }
}
