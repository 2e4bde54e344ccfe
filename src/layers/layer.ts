/**
 * The contract every layer implements. A layer is created from its Keras config (by the
 * registry), built once against the shapes it receives (which declares its weights), given its
 * weights, and then called on tensors. Shapes include the batch axis; null is an unknown size.
 */
import { KeraslessError } from "../errors.js";
import type { KerasMajor } from "../kernels/activations.js";
import type { KernelPlan } from "../kernels/plan.js";
import { Tensor, formatShape, sizeOf } from "../tensor.js";
import type { OpCall } from "./ops/values.js";

export type Shape = readonly (number | null)[];

/**
 * A Keras mask: 1 where a position is kept, 0 where it is masked. Its shape is the masked
 * tensor's shape without the last (feature) axis, e.g. [batch, time] for a sequence.
 */
export interface Mask {
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** One mask (or null) per input or output tensor of a call. */
export type Masks = readonly (Mask | null)[];

/**
 * The keyword arguments of one call, as the model config records them (initial_state aside,
 * whose tensors simply follow the positional ones).
 */
export interface CallArguments {
  /** How many of the call's inputs come from positional arguments. */
  readonly positional: number;
  /**
   * Keyword arguments holding tensors, which became inputs of the call: the index in the call's
   * inputs of each tensor, in order (null where a list holds None).
   */
  readonly tensors: Readonly<Record<string, readonly (number | null)[]>>;
  /** Every other keyword argument, as written in the config. */
  readonly constants: Readonly<Record<string, unknown>>;
  /** Op layers only: the op's arguments (see layers/ops). */
  readonly op?: OpCall;
}

export const NO_ARGUMENTS: CallArguments = Object.freeze({
  positional: 0,
  tensors: Object.freeze({}),
  constants: Object.freeze({}),
});

export interface WeightSpec {
  /** Keras' name for the weight (kernel, recurrent_kernel, bias, embeddings, ...). */
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * How a layer runs under model.stream(), which feeds one time step at a time. Sequence tensors
 * then have a time axis of length 1.
 * - "pointwise": every time step is computed on its own, so call() on a length-1 sequence is the
 *   step (Dense, activations, normalization over features, ...).
 * - "stateful": the layer carries state from step to step; open() gives one stream's state.
 * - "refused": the layer needs the whole sequence (the reason names why).
 */
export type StreamBehaviour =
  | { readonly kind: "pointwise" }
  | { readonly kind: "stateful"; open(batch: number): LayerStream; readonly outputsHaveTime: readonly boolean[] }
  | { readonly kind: "refused"; readonly reason: string };

/** For layers that compute every time step on its own. */
export const POINTWISE: StreamBehaviour = Object.freeze({ kind: "pointwise" });

/** One stream's state of a stateful layer. */
export interface LayerStream {
  /** Runs one step; may return the same tensors on every call (their data is overwritten). */
  step(inputs: readonly Tensor[], masks: Masks): Tensor[];
  reset(): void;
  /** The carried state, as live buffers (the caller copies them to keep a snapshot). */
  readonly state: readonly Float32Array[];
}

/** One unsupported part of a model, gathered so that all of them are reported at once. */
export interface Problem {
  layer: string;
  className: string;
  problem: string;
}

export interface LayerContext {
  readonly kerasMajor: KerasMajor;
  report(problem: Problem): void;
  /**
   * Creates a layer serialized inside another layer's config (a wrapper's inner layer), as the
   * graph creates its own layers; null when the layer was reported as unsupported.
   */
  createLayer(serialized: { [key: string]: unknown }): Layer | null;
}

export abstract class Layer {
  readonly name: string;
  readonly className: string;
  readonly trainable: boolean;
  /** In Keras 3 files, the child object that owns this layer's variables ("cell" for RNNs). */
  readonly variableOwner: string = "";
  /**
   * Tensor-valued keyword arguments the layer takes (they arrive as extra inputs, see
   * CallArguments); the graph reports any other as unsupported.
   */
  readonly tensorArguments: readonly string[] = [];
  private declared: WeightSpec[] | null = null;
  private loaded: Float32Array[] | null = null;

  constructor(name: string, className: string, trainable = true) {
    this.name = name;
    this.className = className;
    this.trainable = trainable;
  }

  /** Which implementation runs this layer's kernels, and why (kernels/plan.ts); null: nothing to choose. */
  kernelPlan(): KernelPlan | null {
    if (this.fusedInto === null) return null;
    return { backend: "fused", why: [`into ${this.fusedInto}`] };
  }

  /**
   * The layer whose kernel computes this one's map, set at load by src/graph/fuse.ts (through the
   * FusionHooks of src/kernels/epilogue.ts); the graph then passes this layer's input on as its
   * output (src/graph/run.ts). Only layers of models that cannot stream are fused.
   */
  fusedInto: string | null = null;

  /**
   * Checks the input shapes and returns the output shapes. Called once per use of the layer in
   * the graph; the first call declares the weights.
   */
  abstract computeOutputShapes(inputShapes: Shape[], args?: CallArguments): Shape[];

  /**
   * Keras' `supports_masking`. Without it an incoming mask stops at this layer (Keras drops it);
   * with it, computeMask decides what the outputs carry.
   */
  readonly supportsMasking: boolean = false;

  /**
   * Runs the layer. Inputs have been shape-checked by computeOutputShapes at load time.
   * `masks` holds one mask (or null) per input; layers that do not use masks ignore it. `args`
   * is the same object computeOutputShapes received for this call.
   */
  abstract call(inputs: Tensor[], masks: Masks, args?: CallArguments): Tensor[];

  /**
   * Inputs whose masks this call detaches from their tensors when it runs (Keras 3's
   * MultiHeadAttention does so to query, value and key): layers running later that read masks
   * from those tensors see none.
   */
  detachesInputMasks(_args: CallArguments): readonly number[] {
    return [];
  }

  /**
   * True for layers that compute the same way whatever the rank of their input once built (Dense
   * on the last axis, elementwise activations, identities at inference): Keras lets one such
   * layer be shared by calls on inputs of different ranks. Others resolve axes or keep state for
   * the rank of their first call, and the graph refuses to share them across ranks.
   */
  readonly anyRank: boolean = false;

  /** True for layers that create a mask from unmasked input (Masking, Embedding with mask_zero). */
  readonly createsMask: boolean = false;

  /**
   * True when every call() returns new arrays that nothing else holds (not an input, a weight or
   * a cached value), so the graph may let the next layer overwrite them (see `inPlace`).
   */
  readonly freshOutputs: boolean = false;

  /**
   * True when callInto() is right with its outputs being its inputs (each value computed from the
   * same position's input alone): the graph then runs it in place on an input that no other call
   * reads and that a `freshOutputs` layer made, saving an allocation and a pass over new memory.
   */
  readonly inPlace: boolean = false;

  /** Keras' default for layers that are not streamable. */
  streamBehaviour(): StreamBehaviour {
    return { kind: "refused", reason: "needs the whole sequence" };
  }

  /**
   * Whether a call with `inputCount` input tensors can run under stream(): a stateful layer whose
   * extra inputs are initial states (from an encoder) cannot be fed them step by step.
   */
  streamsCall(_inputCount: number): boolean {
    return true;
  }

  /**
   * Allocation-free call() for streaming: writes into `outputs`, the tensors call() returned for
   * inputs of the same shapes. Returns false when the layer has no such form.
   */
  callInto(_inputs: readonly Tensor[], _masks: Masks, _outputs: readonly Tensor[]): boolean {
    return false;
  }

  /** call() for layers with one output shaped like the first input: allocate it, then callInto(). */
  protected callIntoNew(inputs: Tensor[], masks: Masks): Tensor[] {
    const out = new Tensor(inputs[0].shape, new Float32Array(inputs[0].size));
    this.callInto(inputs, masks, [out]);
    return [out];
  }

  /**
   * The masks of the outputs of a call (only asked when supportsMasking). Keras' default passes
   * the first input's mask to the first output.
   */
  computeMask(
    _inputs: readonly Tensor[],
    masks: Masks,
    outputs: readonly Tensor[],
    _args?: CallArguments,
  ): (Mask | null)[] {
    return outputs.map((_, i) => (i === 0 ? (masks[0] ?? null) : null));
  }

  /**
   * The child objects that own this layer's variables in Keras 3 files, in weight order ("" for
   * the layer itself); their `vars` are concatenated.
   */
  get variableOwners(): readonly string[] {
    return [this.variableOwner];
  }

  /**
   * The layers this one runs inside it (a wrapper's inner layers, a nested model's layers), so
   * that model-wide operations reach them without knowing the classes.
   */
  get sublayers(): readonly Layer[] {
    return [];
  }

  /** Keras' reset_states(): clears what stateful layers keep between predict() calls. */
  resetStates(): void {
    for (const layer of this.sublayers) layer.resetStates();
  }

  /**
   * Output shapes for the concrete input shapes of one predict() (run-time size checks).
   * Computed as at load time: a built layer's weights fix the rest, so this changes nothing.
   */
  outputShapesFor(inputShapes: Shape[], args?: CallArguments): Shape[] {
    return this.computeOutputShapes(inputShapes, args);
  }

  /** The weights as tensors, in Keras' get_weights() order. */
  weightTensors(): Tensor[] {
    const values = this.getWeights();
    return this.weightSpecs.map((spec, i) => new Tensor(spec.shape, values[i]));
  }

  /** Weight specs in Keras' order (empty for weightless layers). Known after the first build. */
  get weightSpecs(): readonly WeightSpec[] {
    return this.declared ?? [];
  }

  /**
   * Keras 3 files: where each weight lives relative to the layer's own object path, in
   * weightSpecs order ("vars/0", "cell/vars/1", ...). `countVars` gives how many variables the
   * file holds in a vars group (relative path, e.g. "cell/vars"): each owner's are taken in turn.
   */
  weightPaths(countVars: (varsGroup: string) => number): string[] {
    return this.variableOwners.flatMap((owner) => {
      const group = owner ? `${owner}/vars` : "vars";
      return Array.from({ length: countVars(group) }, (_, i) => `${group}/${i}`);
    });
  }

  /**
   * How many of weightSpecs, from the first, Keras counts as trainable (the rest, e.g.
   * BatchNormalization's moving statistics, are not): legacy files store a nested model's
   * trainable weights first.
   */
  trainableWeightCount(): number {
    return this.weightSpecs.length;
  }

  /** Parameter counts split as Keras' summary splits them. */
  paramCounts(): { trainable: number; nonTrainable: number } {
    const total = this.weightSpecs.reduce((n, w) => n + sizeOf(w.shape), 0);
    return this.trainable ? { trainable: total, nonTrainable: 0 } : { trainable: 0, nonTrainable: total };
  }

  /** Accepts weights in weightSpecs order, checking each shape against the config. */
  setWeights(values: { shape: readonly number[]; data: Float32Array }[]): void {
    const specs = this.weightSpecs;
    if (values.length !== specs.length) {
      throw this.error(
        "E_WEIGHTS_MISSING",
        `the file has ${values.length} weight(s) for this layer, the config implies ${specs.length} ` +
          `(${specs.map((s) => s.name).join(", ") || "none"})`,
      );
    }
    values.forEach((v, i) => {
      const want = specs[i].shape;
      if (v.shape.length !== want.length || v.shape.some((d, k) => d !== want[k])) {
        throw this.error(
          "E_WEIGHTS_SHAPE",
          `weight "${specs[i].name}" has shape ${formatShape(v.shape)} in the file, ` +
            `but the config implies ${formatShape(want)}`,
        );
      }
    });
    this.loaded = values.map((v) => v.data);
    this.weightsLoaded(this.loaded);
  }

  /** Called with weights in weightSpecs order once they are loaded and checked. */
  protected weightsLoaded(_weights: Float32Array[]): void {}

  /** Weights in weightSpecs order (after loading). */
  getWeights(): Float32Array[] {
    return this.loaded ?? [];
  }

  /**
   * Forgets the loaded arrays once the layer keeps its weights elsewhere (inner layers, or
   * WebAssembly memory), so that a model holds its weights once; getWeights() must then be
   * overridden to give them back.
   */
  protected releaseLoadedWeights(): void {
    this.loaded = null;
  }

  /**
   * Declares the weights the input shapes imply. The first call builds the layer; every later
   * call (a shared layer, or a run-time shape check) must imply the same weights, as Keras builds
   * a layer once and checks each call's input against it: a shared layer called on inputs of
   * other widths is refused here, for every layer, rather than computing with the last call's.
   */
  protected declareWeights(specs: WeightSpec[]): void {
    const declared = this.declared;
    if (declared === null) {
      this.declared = specs;
      return;
    }
    const differing =
      specs.length !== declared.length
        ? 0
        : specs.findIndex(
            (s, i) => s.shape.length !== declared[i].shape.length || s.shape.some((d, k) => d !== declared[i].shape[k]),
          );
    if (differing === -1) return;
    const describe = (list: readonly WeightSpec[]): string =>
      list.map((w) => `${w.name} ${formatShape(w.shape)}`).join(", ") || "none";
    throw this.error(
      "E_CONFIG",
      `is called on an input that implies the weights ${describe(specs)}, ` +
        `but an earlier call built it with ${describe(declared)} (Keras builds a layer once: every call must fit it)`,
    );
  }

  protected get built(): boolean {
    return this.declared !== null;
  }

  error(
    code: "E_CONFIG" | "E_UNSUPPORTED" | "E_WEIGHTS_SHAPE" | "E_WEIGHTS_MISSING" | "E_INPUT_SHAPE" | "E_INPUT_VALUE",
    problem: string,
  ): KeraslessError {
    return new KeraslessError(code, `layer "${this.name}" (${this.className}): ${problem}`, { layer: this.name });
  }

  /** Load-time check of the number of inputs a call receives. */
  protected expectInputs(shapes: Shape[], count: number | [number, number]): void {
    const [min, max] = typeof count === "number" ? [count, count] : count;
    if (shapes.length < min || shapes.length > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      throw this.error("E_CONFIG", `expects ${want} input(s), got ${shapes.length}`);
    }
  }

  /** Load-time check of an input's rank. */
  protected expectRank(shape: Shape, rank: number | [number, number], what = "input"): void {
    const [min, max] = typeof rank === "number" ? [rank, rank] : rank;
    if (shape.length < min || shape.length > max) {
      const want = min === max ? `rank ${min}` : `rank ${min} to ${max}`;
      throw this.error("E_CONFIG", `expects ${what} of ${want}, got shape ${formatShape(shape)}`);
    }
  }
}

/** Dimension d of a shape when it must be known (feature axes). */
export function knownDim(layer: Layer, shape: Shape, axis: number): number {
  const d = shape[axis < 0 ? shape.length + axis : axis];
  if (d === null || d === undefined) {
    throw layer.error("E_CONFIG", `needs a known size on axis ${axis} of its input, got ${formatShape(shape)}`);
  }
  return d;
}
