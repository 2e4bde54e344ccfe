/** From a parsed model config to a Graph: creates every layer, reporting what is unsupported. */
import { KeraslessError, unsupportedError } from "../errors.js";
import { ConfigReader, describe, isObject, type JsonObject } from "../layers/config.js";
import { InputLayer } from "../layers/core.js";
import type { Layer, LayerContext, Problem } from "../layers/layer.js";
import { MODEL_CLASSES, type LayerRegistry } from "../layers/registry-types.js";
import { callSpec, type CallSpec } from "./call.js";
import {
  dtypeName,
  optionalShape,
  parseLayerEntry,
  parseModelConfig,
  type LayerEntry,
  type ModelSpec,
} from "./config.js";
import { Graph } from "./graph.js";
import { checkGraphLimits } from "./limits.js";
import { ModelLayer } from "./model-layer.js";
import { nodeDefFunction } from "./node-def.js";
import { isOpEntry, isTfOpLayer } from "./op-config.js";

const MODEL_CLASS_NAMES: ReadonlySet<string> = new Set(MODEL_CLASSES);

/**
 * A model config (`{"class_name", "config"}`) as a wired graph whose limits are checked; every
 * unsupported part is reported in one E_UNSUPPORTED error. Weights are not loaded yet.
 */
export function graphFromConfig(modelConfig: unknown, kerasMajor: 2 | 3, registry: LayerRegistry): Graph {
  const problems: Problem[] = [];
  const graph = createGraph(parseModelConfig(modelConfig), {
    kerasMajor,
    registry,
    report: (p) => problems.push(p),
  });
  if (problems.length > 0)
    throw unsupportedError(
      problems.map((p) => ({ name: p.layer, kind: p.className, problem: p.problem })),
      "layer",
    );
  graph.build();
  checkGraphLimits(graph);
  return graph;
}

/**
 * Most levels of layers inside layers (nested models, wrappers): building, shape inference and
 * running recurse once per level, so a file must not choose the depth of the call stack.
 */
export const MAX_NESTING = 200;

/** What creating a graph's layers needs: the Keras version, where problems go, the classes it runs. */
type GraphContext = Omit<LayerContext, "createLayer"> & { readonly registry: LayerRegistry };

/** The context of the layers one graph creates: they create the layers they wrap the same way. */
type CreateContext = LayerContext & { readonly registry: LayerRegistry };

/** Creates the layers of a model config (problems go to `context.report`); build() wires them. */
export function createGraph(spec: ModelSpec, context: GraphContext, depth = 0): Graph {
  const layerContext = nestedContext(context, depth);
  const byName = new Map<string, Layer>();
  const callSpecs = new Map<string, CallSpec[]>();
  const layers: Layer[] = [];
  const inputs = new Set<Layer>();
  for (const entry of spec.layers) {
    if (byName.has(entry.name)) throw new KeraslessError("E_CONFIG", `two layers are named "${entry.name}"`);
    const layer = createLayer(entry, layerContext, depth);
    if (layer === null) continue;
    byName.set(entry.name, layer);
    callSpecs.set(
      entry.name,
      entry.inboundNodes.map((node) => callSpec(node, layer, entry, layerContext)),
    );
    if (layer instanceof InputLayer) {
      inputs.add(layer);
      if (spec.className === "Functional") layers.push(layer);
    } else {
      layers.push(layer);
    }
  }
  let sequentialInput: InputLayer | null = null;
  if (spec.className === "Sequential") {
    sequentialInput = sequentialInputLayer(spec, byName, layerContext);
    inputs.add(sequentialInput);
  }
  return new Graph({ spec, kerasMajor: context.kerasMajor, layers, byName, callSpecs, sequentialInput, inputs });
}

/** A Sequential without an InputLayer takes its input shape from its first layer or build_input_shape. */
function sequentialInputLayer(spec: ModelSpec, byName: Map<string, Layer>, context: CreateContext): InputLayer {
  const first = spec.layers[0];
  if (first === undefined) throw new KeraslessError("E_CONFIG", `the Sequential model "${spec.name}" has no layers`);
  const existing = byName.get(first.name);
  if (existing instanceof InputLayer) return existing;
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
  return new InputLayer(`${first.name}_input`, shape, inputDtype(first.config.dtype, first.name, context));
}

/** The context of layers `depth` levels down: the layers it creates are one level deeper. */
function nestedContext(context: GraphContext, depth: number): CreateContext {
  const nested: CreateContext = {
    kerasMajor: context.kerasMajor,
    registry: context.registry,
    report: (problem) => context.report(problem),
    createLayer: (serialized) => createInnerLayer(serialized, nested, depth + 1),
  };
  return nested;
}

function createLayer(entry: LayerEntry, context: CreateContext, depth: number): Layer | null {
  const { className, name, config } = entry;
  if (depth > MAX_NESTING) {
    throw new KeraslessError(
      "E_LIMIT",
      `layer "${name}" (${className}) is nested ${depth} levels deep in models and wrappers, ` +
        `more than kerasless allows (${MAX_NESTING})`,
      { layer: name },
    );
  }
  if (MODEL_CLASS_NAMES.has(className)) {
    return new ModelLayer(createGraph(parseModelConfig(entry.raw), context, depth + 1), config.trainable !== false);
  }
  if (className === "InputLayer") {
    const shape =
      optionalShape(config.batch_shape, "batch_shape") ?? optionalShape(config.batch_input_shape, "batch_input_shape");
    if (shape === undefined) throw new KeraslessError("E_CONFIG", `InputLayer "${name}" has no batch_shape`);
    return new InputLayer(name, shape, inputDtype(config.dtype, name, context));
  }
  if (isOpEntry(className, entry.module)) return createOpLayer(entry, context);
  const constant = constantArgument(entry.raw.inbound_nodes);
  if (constant !== undefined) {
    // Keras 3 writes an operation on a tensor (x + 3.0) to a legacy .h5 without its module, so it
    // reads as the layer of the same name (Add) with a constant among its inputs, which Keras
    // cannot load either. Running the layer on the tensors alone would give other numbers.
    context.report({
      layer: name,
      className,
      problem:
        `is called with the constant ${describe(constant)} among its inputs: a Keras 3 operation saved to ` +
        ".h5 without its module, which Keras 3 cannot reload either (the .keras file of the model has it)",
    });
    return null;
  }
  const definition = context.registry.find(className);
  const custom = entry.module !== undefined && !entry.module.startsWith("keras");
  if (definition === undefined || definition.create === null || custom) {
    const why =
      className === "Lambda"
        ? "Lambda layers hold Python code, which kerasless never runs"
        : custom || definition === undefined
          ? custom
            ? `custom layer class ${describe(entry.registeredName ?? className)} is not supported ` +
              "(custom objects are never executed)"
            : notSupported(`layer class ${describe(className)}`, context.registry)
          : "cannot be used here";
    context.report({ layer: name, className, problem: why });
    return null;
  }
  const reader = new ConfigReader(name, className, config, context);
  const layer = definition.create(reader);
  const unknown = reader.unknownKeys();
  if (unknown.length > 0)
    context.report({ layer: name, className, problem: unknownKeysProblem(unknown, entry, context) });
  return layer;
}

/**
 * Keras refuses a keyword argument a layer does not take; a config that has one was written by
 * another class of the same name (an author's own `ReLU` with an `alpha`), which kerasless must
 * not run as the built-in.
 */
function unknownKeysProblem(keys: readonly string[], entry: LayerEntry, context: LayerContext): string {
  const quoted = keys.map((k) => describe(k)).join(", ");
  const what = keys.length === 1 ? "config key" : "config keys";
  return (
    `${what} ${quoted} ${keys.length === 1 ? "is not an option" : "are not options"} of Keras ` +
    `${context.kerasMajor}'s ${entry.className} (a custom layer with the built-in's name?)`
  );
}

/** The first number among the positional arguments of a Keras 3 inbound node, if any. */
function constantArgument(nodes: unknown): number | undefined {
  if (!Array.isArray(nodes)) return undefined;
  for (const node of nodes) {
    const args = isObject(node) && Array.isArray(node.args) ? node.args : [];
    const found = args.flat(2).find((v): v is number => typeof v === "number");
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A layer serialized inside another layer's config (wrappers); never an InputLayer. */
function createInnerLayer(serialized: JsonObject, context: CreateContext, depth: number): Layer | null {
  const entry = parseLayerEntry(serialized, 0, false);
  if (entry.className === "InputLayer")
    throw new KeraslessError("E_CONFIG", `InputLayer "${entry.name}" cannot be wrapped in another layer`);
  return createLayer(entry, context, depth);
}

function inputDtype(value: unknown, layer: string, context: LayerContext): "float32" | "int32" {
  const name = dtypeName(value) ?? "float32";
  if (/^(?:float(?:16|32|64)|bfloat16)$/.test(name)) return "float32";
  // Booleans (e.g. attention masks) arrive as 0/1 integers.
  if (/^(?:u?int(?:8|16|32|64)|bool)$/.test(name)) return "int32";
  context.report({ layer, className: "InputLayer", problem: `input dtype ${describe(name)} is not supported` });
  return "float32";
}

/** "<what> is not supported by kerasless yet", or by the subset entry point that was imported. */
function notSupported(what: string, registry: LayerRegistry): string {
  if (registry.entry === "kerasless") return `${what} is not supported by kerasless yet`;
  return `${what} is not supported by ${registry.entry} (the main entry point "kerasless" runs every supported layer)`;
}

/** A tf.keras TFOpLambda / SlicingOpLambda or a Keras 3 op node; an op kerasless lacks is reported by name. */
function createOpLayer(entry: LayerEntry, context: CreateContext): Layer | null {
  const tf = isTfOpLayer(entry.className);
  const fn = entry.config.function;
  const nodeDef = entry.className === "TensorFlowOpLayer" ? nodeDefFunction(entry.config) : undefined;
  const opName = nodeDef !== undefined ? nodeDef.op : tf ? (typeof fn === "string" ? fn : "") : entry.className;
  const label =
    nodeDef !== undefined
      ? `TensorFlowOpLayer ${opName}`
      : tf
        ? `${entry.className} tf.${opName}`
        : `Keras op ${opName}`;
  const format = nodeDef !== undefined || tf ? "tf" : "keras";
  const op = nodeDef !== undefined ? nodeDef.fn : opName;
  const layer =
    op === undefined ? undefined : context.registry.opLayer?.(format, op, entry.name, entry.className, label);
  if (layer === undefined) {
    context.report({
      layer: entry.name,
      className: entry.className,
      problem: notSupported(label, context.registry),
    });
    return null;
  }
  return layer;
}
