/**
 * The model graph: layers and the calls between them, in an order in which each call's inputs are
 * ready. Built in two phases so that every unsupported part of a model is found before anything
 * else fails: construction creates the layers (reporting problems), build() wires the calls and
 * infers every shape.
 */
import { KeraslessError } from "../errors.js";
import { ConfigReader, describe, type JsonObject } from "../layers/config.js";
import { InputLayer } from "../layers/core.js";
import {
  Layer,
  NO_ARGUMENTS,
  type CallArguments,
  type LayerContext,
  type Mask,
  type Masks,
  type Shape,
  type StreamBehaviour,
} from "../layers/layer.js";
import { GraphStream, analyzeStream } from "./stream.js";
import { MODEL_CLASSES, findLayerDefinition } from "../layers/registry.js";
import { Tensor, formatShape } from "../tensor.js";
import {
  dtypeName,
  isMaskTrace,
  optionalShape,
  parseLayerEntry,
  parseModelConfig,
  type LayerEntry,
  type ModelSpec,
  type NodeSpec,
  type TensorRef,
} from "./config.js";

/** One call of a layer in the graph. */
export interface Call {
  readonly layer: Layer;
  /** Index of this call among the layer's calls in this graph. */
  readonly node: number;
  /** For each input: [index of the producing call, output index]. */
  readonly inputs: ReadonlyArray<readonly [number, number]>;
  /** The call's keyword arguments (tensor ones index into `inputs`). */
  readonly arguments: CallArguments;
  /** Keras 3 recorded the mask this call gets when the model was built (see runWithMasks). */
  readonly tracedMask: boolean;
  readonly inputShapes: Shape[];
  readonly outputShapes: Shape[];
}

export class Graph {
  readonly name: string;
  readonly className: "Sequential" | "Functional";
  /** The layers in Keras' `model.layers` order (a Sequential's omits its InputLayer). */
  readonly layers: Layer[] = [];
  readonly inputLayers: InputLayer[] = [];
  private readonly spec: ModelSpec;
  private readonly context: LayerContext;
  private readonly byName = new Map<string, Layer>();
  /** Per layer, per call: the input tensors (keyword tensors the layer takes included) and arguments. */
  private readonly callSpecs = new Map<string, CallSpec[]>();
  private built: {
    calls: Call[];
    outputs: (readonly [number, number])[];
    lastUse: number[];
    detaching: boolean;
  } | null = null;

  constructor(spec: ModelSpec, context: Omit<LayerContext, "createLayer">) {
    this.spec = spec;
    this.name = spec.name;
    this.className = spec.className;
    this.context = {
      kerasMajor: context.kerasMajor,
      report: (problem) => context.report(problem),
      createLayer: (serialized) => createInnerLayer(serialized, this.context),
    };
    spec.layers.forEach((entry) => {
      if (this.byName.has(entry.name)) throw new KeraslessError("E_CONFIG", `two layers are named "${entry.name}"`);
      const layer = createLayer(entry, this.context);
      if (layer === null) return;
      this.byName.set(entry.name, layer);
      this.callSpecs.set(
        entry.name,
        entry.inboundNodes.map((node) => callSpec(node, layer, entry, this.context)),
      );
      if (layer instanceof InputLayer) {
        if (spec.className === "Functional") this.layers.push(layer);
      } else {
        this.layers.push(layer);
      }
    });
    if (spec.className === "Sequential") this.addSequentialInput(spec);
  }

  /** A Sequential without an InputLayer takes its input shape from its first layer or build_input_shape. */
  private addSequentialInput(spec: ModelSpec): void {
    const first = spec.layers[0];
    if (first === undefined) throw new KeraslessError("E_CONFIG", `the Sequential model "${spec.name}" has no layers`);
    const existing = this.byName.get(first.name);
    if (existing instanceof InputLayer) {
      this.inputLayers.push(existing);
      return;
    }
    const shape =
      optionalShape(first.config.batch_shape, "batch_shape") ??
      optionalShape(first.config.batch_input_shape, "batch_input_shape") ??
      spec.buildInputShape;
    if (shape === undefined) {
      throw new KeraslessError(
        "E_CONFIG",
        `the Sequential model "${spec.name}" does not say its input shape (it was never built)`,
      );
    }
    this.inputLayers.push(
      new InputLayer(`${first.name}_input`, shape, inputDtype(first.config.dtype, first.name, this.context)),
    );
  }

  /** Wires the calls and infers every shape (idempotent). */
  build(): void {
    if (this.built !== null) return;
    const calls: Call[] = [];
    const outputs: (readonly [number, number])[] = [];
    if (this.spec.className === "Sequential") {
      let previous: readonly [number, number] | null = null;
      for (const layer of [...this.inputLayers, ...this.layers]) {
        const inputs = previous === null ? [] : [previous];
        calls.push(this.makeCall(layer, 0, inputs, NO_CALL, calls));
        if (calls[calls.length - 1].outputShapes.length !== 1) {
          throw layer.error("E_CONFIG", "has several outputs, which a Sequential model cannot pass on");
        }
        previous = [calls.length - 1, 0];
      }
      outputs.push(previous!);
    } else {
      this.wireFunctional(calls, outputs);
    }
    // lastUse[i]: the last call that reads call i's outputs, so run() can drop them early.
    const lastUse = calls.map(() => -1);
    calls.forEach((call, i) => call.inputs.forEach(([producer]) => (lastUse[producer] = i)));
    outputs.forEach(([producer]) => (lastUse[producer] = calls.length));
    const detaching = calls.some((call) => call.layer.detachesInputMasks(call.arguments).length > 0);
    this.built = { calls, outputs, lastUse, detaching };
  }

  private wireFunctional(calls: Call[], outputs: (readonly [number, number])[]): void {
    const entries = new Map(this.spec.layers.map((e) => [e.name, e]));
    const key = (layer: string, node: number): string => `${node}:${layer}`;
    const callIndex = new Map<string, number>();
    const nodeCount = (entry: LayerEntry): number => (entry.className === "InputLayer" ? 1 : entry.inboundNodes.length);
    // Nested models count a node of their own before their calls in this graph, in Keras 2
    // inbound nodes and (for Functional, and Keras 2's Sequential) in input/output_layers;
    // Keras 3 call arguments count from the first call. Returns the ref with the index of the
    // call in this graph's inbound_nodes.
    const resolve = (raw: TensorRef, user: string): TensorRef & { entry: LayerEntry } => {
      const entry = entries.get(raw.layer);
      if (entry === undefined)
        throw new KeraslessError("E_CONFIG", `${user} refers to an unknown layer "${raw.layer}"`);
      const isModel = (MODEL_CLASSES as readonly string[]).includes(entry.className);
      const ownNode =
        isModel &&
        (raw.style === "list" ||
          (raw.style === "endpoint" && (entry.className !== "Sequential" || this.context.kerasMajor === 2)));
      const node = ownNode && raw.node > 0 ? raw.node - 1 : raw.node;
      if (node >= nodeCount(entry)) {
        throw new KeraslessError(
          "E_CONFIG",
          `${user} refers to call #${raw.node} of layer "${raw.layer}", which has ${nodeCount(entry)}`,
        );
      }
      return { ...raw, node, entry };
    };
    // Depth-first over every call (not only those reaching an output: all layers get built),
    // with an explicit stack so that deep graphs cannot overflow the call stack.
    const state = new Map<string, "open" | "done">();
    for (const root of this.spec.layers) {
      for (let rootNode = 0; rootNode < nodeCount(root); rootNode++) {
        type Frame = { entry: LayerEntry; node: number; refs: ReturnType<typeof resolve>[] | null; next: number };
        const stack: Frame[] = [{ entry: root, node: rootNode, refs: null, next: 0 }];
        while (stack.length > 0) {
          const top = stack[stack.length - 1];
          const k = key(top.entry.name, top.node);
          if (top.refs === null) {
            if (state.get(k) === "done") {
              stack.pop();
              continue;
            }
            state.set(k, "open");
            const raws =
              top.entry.className === "InputLayer" ? [] : this.callSpecs.get(top.entry.name)![top.node].inputs;
            top.refs = raws.map((raw) => resolve(raw, `layer "${top.entry.name}"`));
          }
          if (top.next < top.refs.length) {
            const ref = top.refs[top.next++];
            const pk = key(ref.layer, ref.node);
            if (state.get(pk) === "open")
              throw new KeraslessError("E_CONFIG", `the graph has a cycle through layer "${ref.layer}"`);
            if (state.get(pk) !== "done") stack.push({ entry: ref.entry, node: ref.node, refs: null, next: 0 });
            continue;
          }
          const layer = this.byName.get(top.entry.name)!;
          const inputs = top.refs.map((ref) => [callIndex.get(key(ref.layer, ref.node))!, ref.tensor] as const);
          const spec = top.entry.className === "InputLayer" ? NO_CALL : this.callSpecs.get(top.entry.name)![top.node];
          calls.push(this.makeCall(layer, top.node, inputs, spec, calls));
          callIndex.set(k, calls.length - 1);
          state.set(k, "done");
          stack.pop();
        }
      }
    }
    for (const raw of this.spec.inputs) {
      const { entry } = resolve(raw, "input_layers");
      const layer = this.byName.get(entry.name);
      if (!(layer instanceof InputLayer))
        throw new KeraslessError("E_CONFIG", `input_layers names "${entry.name}", which is not an InputLayer`);
      this.inputLayers.push(layer);
    }
    for (const raw of this.spec.outputs) {
      const ref = resolve(raw, "output_layers");
      const index = callIndex.get(key(ref.layer, ref.node))!;
      if (ref.tensor >= calls[index].outputShapes.length) {
        throw new KeraslessError(
          "E_CONFIG",
          `output_layers refers to output #${ref.tensor} of layer "${ref.layer}", which has ${calls[index].outputShapes.length}`,
        );
      }
      outputs.push([index, ref.tensor]);
    }
  }

  private makeCall(
    layer: Layer,
    node: number,
    inputs: (readonly [number, number])[],
    spec: CallSpec,
    calls: Call[],
  ): Call {
    if (inputs.length === 0 && !(layer instanceof InputLayer))
      throw layer.error("E_CONFIG", "a call of this layer has no tensor inputs");
    const inputShapes = inputs.map(([producer, tensor]) => {
      const shapes = calls[producer].outputShapes;
      if (tensor >= shapes.length) {
        throw layer.error(
          "E_CONFIG",
          `reads output #${tensor} of layer "${calls[producer].layer.name}", which has ${shapes.length}`,
        );
      }
      return shapes[tensor];
    });
    const outputShapes = layer.computeOutputShapes(inputShapes, spec.arguments);
    return { layer, node, inputs, arguments: spec.arguments, tracedMask: spec.tracedMask, inputShapes, outputShapes };
  }

  private get wiring(): NonNullable<Graph["built"]> {
    this.build();
    return this.built!;
  }

  get calls(): readonly Call[] {
    return this.wiring.calls;
  }

  get inputShapes(): Shape[] {
    return this.inputLayers.map((l) => l.batchShape);
  }

  get outputShapes(): Shape[] {
    const { calls, outputs } = this.wiring;
    return outputs.map(([call, tensor]) => calls[call].outputShapes[tensor]);
  }

  /** Keras 3 object paths of `layers` ("layers/lstm", "layers/lstm_1", ...: snake_case class, counted per class). */
  objectPaths(): string[] {
    const used = new Map<string, number>();
    return this.layers.map((layer) => {
      const base = toSnakeCase(layer instanceof ModelLayer ? layer.graph.className : layer.className);
      const count = used.get(base);
      used.set(base, count === undefined ? 0 : count + 1);
      return `layers/${count === undefined ? base : `${base}_${count + 1}`}`;
    });
  }

  /** The layer and output index behind each model output. */
  get outputSources(): { layer: Layer; call: number; tensor: number }[] {
    const { calls, outputs } = this.wiring;
    return outputs.map(([call, tensor]) => ({ layer: calls[call].layer, call, tensor }));
  }

  /** Runs the graph on inputs ordered like inputLayers (already validated by the caller). */
  run(inputs: Tensor[], inputMasks?: Masks): Tensor[] {
    return this.runWithMasks(inputs, inputMasks).outputs;
  }

  /** run(), also returning the masks Keras would attach to the outputs. */
  runWithMasks(inputs: Tensor[], inputMasks?: Masks): { outputs: Tensor[]; masks: (Mask | null)[] } {
    const { calls, outputs, lastUse, detaching } = this.wiring;
    // Plain loops: for small models this bookkeeping costs as much as the arithmetic.
    const count = calls.length;
    const values: (Tensor[] | null)[] = new Array(count).fill(null);
    // Masks travel beside the values, as Keras attaches them to tensors.
    const masks: ((Mask | null)[] | null)[] = new Array(count).fill(null);
    // When a layer detaches its inputs' masks as it runs (Keras 3 MultiHeadAttention), the masks
    // still attached at run time (`attached`) part from those Keras traced when it built the
    // model (`masks`). A call sees the attached ones unless Keras recorded its traced mask.
    const attached: ((Mask | null)[] | null)[] | null = detaching ? new Array(count).fill(null) : null;
    for (let i = 0; i < count; i++) {
      const call = calls[i];
      const layer = call.layer;
      const refs = call.inputs;
      if (layer instanceof InputLayer) {
        const index = this.inputLayers.indexOf(layer);
        values[i] = [inputs[index]];
        masks[i] = [inputMasks?.[index] ?? null];
        if (attached !== null) attached[i] = masks[i];
      } else {
        const args: Tensor[] = new Array(refs.length);
        const argMasks: (Mask | null)[] = new Array(refs.length);
        for (let k = 0; k < refs.length; k++) {
          const [producer, tensor] = refs[k];
          args[k] = values[producer]![tensor];
          argMasks[k] = masks[producer]![tensor];
        }
        const seen =
          attached === null || call.tracedMask
            ? argMasks
            : refs.map(([producer, tensor]) => attached[producer]![tensor]);
        const out = layer.call(args, seen, call.arguments);
        values[i] = out;
        masks[i] = outputMasks(layer, args, argMasks, out, call.arguments);
        if (attached !== null) {
          attached[i] = seen === argMasks ? masks[i] : outputMasks(layer, args, seen, out, call.arguments);
          for (const k of layer.detachesInputMasks(call.arguments)) {
            const [producer, tensor] = refs[k];
            attached[producer] = attached[producer]!.map((m, j) => (j === tensor ? null : m));
          }
        }
      }
      for (let k = 0; k < refs.length; k++) {
        const producer = refs[k][0];
        if (lastUse[producer] === i) {
          values[producer] = null;
          masks[producer] = null;
          if (attached !== null) attached[producer] = null;
        }
      }
    }
    const outputValues: Tensor[] = new Array(outputs.length);
    const outputMaskList: (Mask | null)[] = new Array(outputs.length);
    for (let k = 0; k < outputs.length; k++) {
      const [call, tensor] = outputs[k];
      outputValues[k] = values[call]![tensor];
      outputMaskList[k] = masks[call]![tensor];
    }
    return { outputs: outputValues, masks: outputMaskList };
  }
}

/** The masks a call's outputs carry: Keras asks compute_mask only of layers that support masking. */
export function outputMasks(
  layer: Layer,
  inputs: Tensor[],
  inputMasks: Masks,
  outputs: Tensor[],
  args?: CallArguments,
): (Mask | null)[] {
  if (layer.supportsMasking) {
    let masked = layer.createsMask;
    for (let k = 0; k < inputMasks.length && !masked; k++) masked = inputMasks[k] !== null;
    if (masked) return layer.computeMask(inputs, inputMasks, outputs, args);
  }
  return new Array<Mask | null>(outputs.length).fill(null);
}

/** Keras' naming.to_snake_case for class names. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, "")
    .replace(/(.)([A-Z][a-z]+)/g, "$1_$2")
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** A model used as a layer of another model. */
export class ModelLayer extends Layer {
  readonly graph: Graph;

  constructor(graph: Graph, trainable: boolean) {
    super(graph.name, graph.className, trainable);
    this.graph = graph;
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.graph.build();
    const expected = this.graph.inputShapes;
    this.expectInputs(inputShapes, expected.length);
    inputShapes.forEach((shape, i) => {
      const want = expected[i];
      if (shape.length !== want.length || shape.some((d, k) => d !== null && want[k] !== null && d !== want[k])) {
        throw this.error(
          "E_CONFIG",
          `input #${i} has shape ${formatShape(shape)}, the nested model expects ${formatShape(want)}`,
        );
      }
    });
    this.declareWeights(
      this.legacyOrder().map(({ layer, index }) => ({
        ...layer.weightSpecs[index],
        name: `${layer.name}/${layer.weightSpecs[index].name}`,
      })),
    );
    return this.graph.outputShapes;
  }

  /** Inner weights in the order legacy files store a nested model's: trainable first, then the rest. */
  private legacyOrder(): { layer: Layer; index: number }[] {
    const all = this.graph.layers.flatMap((layer) => layer.weightSpecs.map((_, index) => ({ layer, index })));
    const trainable = (layer: Layer): boolean => this.trainable && layer.trainable;
    return [...all.filter((w) => trainable(w.layer)), ...all.filter((w) => !trainable(w.layer))];
  }

  /** Object paths of the inner weights, in this layer's (legacy) weight order (for wrappers). */
  override weightPaths(countVars: (varsGroup: string) => number): string[] {
    const objectPaths = this.graph.objectPaths();
    const inner = new Map(
      this.graph.layers.map((layer, i) => [
        layer,
        layer.weightSpecs.length === 0
          ? []
          : layer.weightPaths((group) => countVars(`${objectPaths[i]}/${group}`)).map((p) => `${objectPaths[i]}/${p}`),
      ]),
    );
    // A weight the file lacks leaves the list short, which the loader reports.
    return this.legacyOrder().flatMap(({ layer, index }) => inner.get(layer)!.slice(index, index + 1));
  }

  override paramCounts(): { trainable: number; nonTrainable: number } {
    let trainable = 0;
    let nonTrainable = 0;
    for (const layer of this.graph.layers) {
      const counts = layer.paramCounts();
      if (this.trainable) trainable += counts.trainable;
      else nonTrainable += counts.trainable;
      nonTrainable += counts.nonTrainable;
    }
    return { trainable, nonTrainable };
  }

  override setWeights(values: { shape: readonly number[]; data: Float32Array }[]): void {
    const order = this.legacyOrder();
    if (values.length !== order.length) {
      throw this.error(
        "E_WEIGHTS_MISSING",
        `the file has ${values.length} weight(s) for this nested model, its layers need ${order.length}`,
      );
    }
    const perLayer = new Map<Layer, { shape: readonly number[]; data: Float32Array }[]>();
    order.forEach(({ layer, index }, i) => {
      const list = perLayer.get(layer) ?? new Array(layer.weightSpecs.length);
      list[index] = values[i];
      perLayer.set(layer, list);
    });
    for (const [layer, list] of perLayer) layer.setWeights(list);
  }

  // A nested model hands on the masks its own outputs carry.
  override readonly supportsMasking = true;
  // Its layers may create masks (Embedding with mask_zero), so always ask.
  override readonly createsMask = true;
  private lastOutputMasks: (Mask | null)[] = [];

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    const { outputs, masks: outputMasks } = this.graph.runWithMasks(inputs, masks);
    this.lastOutputMasks = outputMasks;
    return outputs;
  }

  override computeMask(): (Mask | null)[] {
    return this.lastOutputMasks;
  }

  override streamBehaviour(): StreamBehaviour {
    const analysis = analyzeStream(this.graph);
    if (analysis.refusals.length > 0)
      return { kind: "refused", reason: `holds layers that cannot stream: ${analysis.refusals.join("; ")}` };
    const probe = new GraphStream(this.graph, analysis);
    return {
      kind: "stateful",
      outputsHaveTime: probe.outputsHaveTime(),
      open: (batch) => {
        const inner = new GraphStream(this.graph, analysis);
        inner.open(batch);
        return {
          state: inner.stateBuffers,
          step: (inputs, masks) => {
            const outputs = inner.step(inputs, masks);
            this.lastOutputMasks = inner.outputMasks as (Mask | null)[];
            return outputs;
          },
          reset: () => inner.reset(),
        };
      },
    };
  }
}

interface CallSpec {
  readonly inputs: TensorRef[];
  readonly arguments: CallArguments;
  readonly tracedMask: boolean;
}

const NO_CALL: CallSpec = { inputs: [], arguments: NO_ARGUMENTS, tracedMask: false };

/**
 * A call's inputs and arguments: keyword tensors the layer takes follow the node's inputs; Keras
 * 3's traced `mask=` arguments are dropped (the graph propagates masks); other tensor
 * arguments are reported.
 */
function callSpec(node: NodeSpec, layer: Layer, entry: LayerEntry, context: LayerContext): CallSpec {
  const inputs = [...node.inputs];
  const tensors: Record<string, (number | null)[]> = {};
  let tracedMask = Object.prototype.hasOwnProperty.call(node.keywords.constants, "mask");
  for (const [name, refs] of Object.entries(node.keywords.tensors)) {
    if (layer.tensorArguments.includes(name)) {
      tensors[name] = refs.map((ref) => (ref === null ? null : inputs.push(ref) - 1));
    } else if (name === "mask" && isMaskTrace(refs)) {
      tracedMask = true;
    } else {
      context.report({
        layer: entry.name,
        className: entry.className,
        problem: `the tensor argument "${name}" is not supported yet`,
      });
    }
  }
  return {
    inputs,
    arguments: { positional: node.keywords.positional, tensors, constants: node.keywords.constants },
    tracedMask,
  };
}

function createLayer(entry: LayerEntry, context: LayerContext): Layer | null {
  const { className, name, config } = entry;
  if ((MODEL_CLASSES as readonly string[]).includes(className)) {
    return new ModelLayer(new Graph(parseModelConfig(entry.raw), context), config.trainable !== false);
  }
  if (className === "InputLayer") {
    const shape =
      optionalShape(config.batch_shape, "batch_shape") ?? optionalShape(config.batch_input_shape, "batch_input_shape");
    if (shape === undefined) throw new KeraslessError("E_CONFIG", `InputLayer "${name}" has no batch_shape`);
    return new InputLayer(name, shape, inputDtype(config.dtype, name, context));
  }
  const definition = findLayerDefinition(className);
  const custom = entry.module !== undefined && !entry.module.startsWith("keras");
  if (definition === undefined || definition.create === null || custom) {
    const why =
      className === "Lambda"
        ? "Lambda layers hold Python code, which kerasless never runs"
        : custom || definition === undefined
          ? custom
            ? `custom layer class ${describe(entry.registeredName ?? className)} is not supported (custom objects are never executed)`
            : `layer class ${describe(className)} is not supported by kerasless yet`
          : "cannot be used here";
    context.report({ layer: name, className, problem: why });
    return null;
  }
  return definition.create(new ConfigReader(name, className, config, context));
}

/** A layer serialized inside another layer's config (wrappers); never an InputLayer. */
function createInnerLayer(serialized: JsonObject, context: LayerContext): Layer | null {
  const entry = parseLayerEntry(serialized, 0, false);
  if (entry.className === "InputLayer")
    throw new KeraslessError("E_CONFIG", `InputLayer "${entry.name}" cannot be wrapped in another layer`);
  return createLayer(entry, context);
}

function inputDtype(value: unknown, layer: string, context: LayerContext): "float32" | "int32" {
  const name = dtypeName(value) ?? "float32";
  if (/^(float(16|32|64)|bfloat16)$/.test(name)) return "float32";
  // Booleans (e.g. attention masks) arrive as 0/1 integers.
  if (/^(u?int(8|16|32|64)|bool)$/.test(name)) return "int32";
  context.report({ layer, className: "InputLayer", problem: `input dtype ${describe(name)} is not supported` });
  return "float32";
}
