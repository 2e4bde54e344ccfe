/** From a parsed model config to a Graph: creates every layer, reporting what is unsupported. */
import { KeraslessError, unsupportedFeatures } from "../errors.js";
import { ConfigReader, describe, type JsonObject } from "../layers/config.js";
import { InputLayer } from "../layers/core.js";
import type { Layer, LayerContext, Problem } from "../layers/layer.js";
import { MODEL_CLASSES, findLayerDefinition } from "../layers/registry.js";
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
import { findOp } from "../layers/ops/registry.js";
import { OpLayer } from "../layers/ops/op-layer.js";

const MODEL_CLASS_NAMES: ReadonlySet<string> = new Set(MODEL_CLASSES);

/**
 * A model config (`{"class_name", "config"}`) as a wired graph whose limits are checked; every
 * unsupported part is reported in one E_UNSUPPORTED error. Weights are not loaded yet.
 */
export function graphFromConfig(modelConfig: unknown, kerasMajor: 2 | 3): Graph {
  const problems: Problem[] = [];
  const graph = createGraph(parseModelConfig(modelConfig), { kerasMajor, report: (p) => problems.push(p) });
  if (problems.length > 0) throw unsupportedError(problems);
  graph.build();
  checkGraphLimits(graph);
  return graph;
}

/** One error listing every unsupported part of the model. */
function unsupportedError(problems: Problem[]): KeraslessError {
  const lines = problems.map((p) => `layer "${p.layer}" (${p.className}): ${p.problem}`);
  return unsupportedFeatures(lines, problems[0].layer);
}

/**
 * Most levels of layers inside layers (nested models, wrappers): building, shape inference and
 * running recurse once per level, so a file must not choose the depth of the call stack.
 */
export const MAX_NESTING = 200;

/** Creates the layers of a model config (problems go to `context.report`); build() wires them. */
export function createGraph(spec: ModelSpec, context: Omit<LayerContext, "createLayer">, depth = 0): Graph {
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
function sequentialInputLayer(spec: ModelSpec, byName: Map<string, Layer>, context: LayerContext): InputLayer {
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
function nestedContext(context: Omit<LayerContext, "createLayer">, depth: number): LayerContext {
  const nested: LayerContext = {
    kerasMajor: context.kerasMajor,
    report: (problem) => context.report(problem),
    createLayer: (serialized) => createInnerLayer(serialized, nested, depth + 1),
  };
  return nested;
}

function createLayer(entry: LayerEntry, context: LayerContext, depth: number): Layer | null {
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
  const definition = findLayerDefinition(className);
  const custom = entry.module !== undefined && !entry.module.startsWith("keras");
  if (definition === undefined || definition.create === null || custom) {
    const why =
      className === "Lambda"
        ? "Lambda layers hold Python code, which kerasless never runs"
        : custom || definition === undefined
          ? custom
            ? `custom layer class ${describe(entry.registeredName ?? className)} is not supported ` +
              "(custom objects are never executed)"
            : `layer class ${describe(className)} is not supported by kerasless yet`
          : "cannot be used here";
    context.report({ layer: name, className, problem: why });
    return null;
  }
  return definition.create(new ConfigReader(name, className, config, context));
}

/** A layer serialized inside another layer's config (wrappers); never an InputLayer. */
function createInnerLayer(serialized: JsonObject, context: LayerContext, depth: number): Layer | null {
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

/** A tf.keras TFOpLambda / SlicingOpLambda or a Keras 3 op node; an op kerasless lacks is reported by name. */
function createOpLayer(entry: LayerEntry, context: LayerContext): Layer | null {
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
  const definition =
    nodeDef !== undefined
      ? nodeDef.fn === undefined
        ? undefined
        : findOp("tf", nodeDef.fn)
      : findOp(tf ? "tf" : "keras", opName);
  if (definition === undefined) {
    context.report({
      layer: entry.name,
      className: entry.className,
      problem: `${label} is not supported by kerasless yet`,
    });
    return null;
  }
  return new OpLayer(entry.name, entry.className, label, definition);
}
