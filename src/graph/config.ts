/**
 * Normalizes the model configs Keras writes into one form. Handles Keras 3 configs
 * (`{"args", "kwargs"}` inbound nodes with `__keras_tensor__` objects) and Keras 2 configs
 * (nested `[layer, node, tensor, kwargs]` lists), `batch_shape` and `batch_input_shape`, and
 * dtype policies.
 */
import { KeraslessError } from "../errors.js";
import { describe, isObject, type JsonObject } from "../layers/config.js";
import type { Shape } from "../layers/layer.js";
import type { OpCall } from "../layers/ops/values.js";
import { nodeDefCall } from "./node-def.js";
import { isOpEntry, isTfOpLayer, parseKerasOpNode, parseTfOpNode } from "./op-config.js";

/** Output `tensor` of call `node` of `layer`. */
export interface TensorRef {
  readonly layer: string;
  readonly node: number;
  readonly tensor: number;
  /**
   * Where the reference was written, which decides how a nested model's node index counts
   * (see Graph): "list" Keras 2 inbound node, "call" Keras 3 call argument, "endpoint"
   * input_layers / output_layers.
   */
  readonly style: "list" | "call" | "endpoint";
  /** The tensor's dtype where the file says (Keras 3 call arguments). */
  readonly dtype?: string;
}

/**
 * One call of a layer: `inputs` are the positional arguments' tensors (x; Attention's [query,
 * value, key]; MultiHeadAttention's query, value) and then initial_state's.
 */
export interface NodeSpec {
  readonly inputs: TensorRef[];
  /** The other keyword arguments (the graph makes the tensor ones a layer takes extra inputs). */
  readonly keywords: Keywords;
  /** Op layers only: the call's arguments, tensors indexing into `inputs`. */
  readonly op?: OpCall;
}

export interface Keywords {
  /** How many of NodeSpec.inputs come from positional arguments. */
  readonly positional: number;
  /** Keyword arguments holding tensors, in order (null where a list holds None). */
  readonly tensors: Readonly<Record<string, readonly (TensorRef | null)[]>>;
  /** Every other keyword argument, as written in the config. */
  readonly constants: Readonly<Record<string, unknown>>;
}

export interface LayerEntry {
  readonly className: string;
  readonly name: string;
  readonly config: JsonObject;
  /** Keras 3's `module`; absent in Keras 2 files. */
  readonly module: string | undefined;
  readonly registeredName: string | undefined;
  readonly inboundNodes: NodeSpec[];
  /** The whole serialized entry (nested models need it). */
  readonly raw: JsonObject;
}

export interface ModelSpec {
  readonly className: "Sequential" | "Functional";
  readonly name: string;
  readonly layers: LayerEntry[];
  /** Functional only. */
  readonly inputs: TensorRef[];
  readonly outputs: TensorRef[];
  /** Sequential only: the input shape when the file gives no InputLayer. */
  readonly buildInputShape: Shape | undefined;
}

export function configError(problem: string): KeraslessError {
  return new KeraslessError("E_CONFIG", problem);
}

/** Reads a serialized model (`{"class_name", "config"}`) into a ModelSpec. */
export function parseModelConfig(serialized: unknown): ModelSpec {
  if (!isObject(serialized) || typeof serialized.class_name !== "string") {
    throw configError(`the model config is not a serialized Keras model (got ${describe(serialized)})`);
  }
  const className = serialized.class_name;
  const config = serialized.config;
  if (className === "Sequential") {
    // Keras <= 2.1 stored a Sequential's config as the bare list of layers.
    const layersRaw = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (!Array.isArray(layersRaw)) throw configError("the Sequential model config has no layer list");
    const name = isObject(config) && typeof config.name === "string" ? config.name : "sequential";
    const buildInputShape = isObject(config) ? optionalShape(config.build_input_shape, "build_input_shape") : undefined;
    return {
      className: "Sequential",
      name,
      layers: layersRaw.map((l, i) => parseLayerEntry(l, i, false)),
      inputs: [],
      outputs: [],
      buildInputShape,
    };
  }
  if (className === "Functional" || className === "Model") {
    if (!isObject(config) || !Array.isArray(config.layers))
      throw configError(`the ${className} model config has no layer list`);
    const outputs = parseEndpoints(config.output_layers, "output_layers");
    return {
      className: "Functional",
      name: typeof config.name === "string" ? config.name : "functional",
      layers: withoutMaskPlumbing(
        config.layers.map((l, i) => parseLayerEntry(l, i, true)),
        outputs,
      ),
      inputs: parseEndpoints(config.input_layers, "input_layers"),
      outputs,
      buildInputShape: undefined,
    };
  }
  throw new KeraslessError(
    "E_UNSUPPORTED",
    `the top-level object is a ${describe(className)}, not a Sequential or Functional model ` +
      "(subclassed models cannot be loaded from their config)",
  );
}

/**
 * Keras 3 records the ops of each compute_mask it traced while building a functional model
 * (NotEqual, Any, LogicalOr, ... on bool tensors) and passes their result as `mask=` arguments.
 * kerasless propagates masks itself, exactly as those ops compute them, so the ops that no model
 * output depends on except through such a traced (bool) `mask=` argument are left out. (A bool tensor that feeds
 * computation, such as a comparison feeding `where`, stays.)
 */
function withoutMaskPlumbing(layers: LayerEntry[], outputs: readonly TensorRef[]): LayerEntry[] {
  const byName = new Map(layers.map((entry) => [entry.name, entry]));
  const needed = new Set<string>();
  const pending = outputs.map((ref) => ref.layer);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const entry = byName.get(name);
    if (needed.has(name) || entry === undefined) continue;
    needed.add(name);
    for (const node of entry.inboundNodes) {
      for (const ref of node.inputs) pending.push(ref.layer);
      for (const [key, refs] of Object.entries(node.keywords.tensors))
        if (key !== "mask" || !isMaskTrace(refs)) for (const ref of refs) if (ref !== null) pending.push(ref.layer);
    }
  }
  const isPlumbing = (entry: LayerEntry): boolean =>
    entry.module !== undefined && entry.module.startsWith("keras.src.ops") && !needed.has(entry.name);
  return layers.filter((entry) => !isPlumbing(entry));
}

/**
 * Visits the leaves of a JSON value depth-first in document order (a list's items, an object's
 * values), with an explicit stack so that any nesting depth a file holds is safe. `isLeaf` stops
 * the descent (Keras tensors are objects).
 */
function forEachLeaf(value: unknown, isLeaf: (v: unknown) => boolean, visit: (v: unknown) => void): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (isLeaf(v)) visit(v);
    else if (Array.isArray(v) || isObject(v)) {
      const children = Array.isArray(v) ? v : Object.values(v);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    } else visit(v);
  }
}

export function parseLayerEntry(raw: unknown, index: number, functional: boolean): LayerEntry {
  if (!isObject(raw) || typeof raw.class_name !== "string") {
    throw configError(`layer #${index} of the model config is not a serialized layer (got ${describe(raw)})`);
  }
  const config = isObject(raw.config) ? raw.config : {};
  const name =
    typeof raw.name === "string"
      ? raw.name
      : typeof config.name === "string"
        ? config.name
        : `${raw.class_name}_${index}`;
  const nodesRaw = functional ? (raw.inbound_nodes ?? []) : [];
  if (!Array.isArray(nodesRaw)) throw configError(`layer "${name}": inbound_nodes is not a list`);
  const module = typeof raw.module === "string" ? raw.module : undefined;
  const parse =
    raw.class_name === "TensorFlowOpLayer"
      ? (n: unknown) => {
          const spec = parseNode(n, name);
          return { ...spec, op: nodeDefCall(config, spec.inputs.length, name) };
        }
      : !isOpEntry(raw.class_name, module)
        ? (n: unknown) => parseNode(n, name)
        : isTfOpLayer(raw.class_name)
          ? (n: unknown) => parseTfOpNode(n, name)
          : (n: unknown) => parseKerasOpNode(n, name, config);
  return {
    className: raw.class_name,
    name,
    config,
    module,
    registeredName: typeof raw.registered_name === "string" ? raw.registered_name : undefined,
    inboundNodes: nodesRaw.map(parse),
    raw,
  };
}

function parseNode(node: unknown, layer: string): NodeSpec {
  const inputs: TensorRef[] = [];
  if (isObject(node)) {
    // Keras 3: {"args": [...], "kwargs": {...}}.
    collectKerasTensors(node.args, inputs, layer);
    const positional = inputs.length;
    const kwargs = isObject(node.kwargs) ? node.kwargs : {};
    collectKerasTensors(kwargs.initial_state, inputs, layer);
    return {
      inputs,
      keywords: splitKeywords(kwargs, positional, layer, isKerasTensor, (v) => kerasTensorRef(v, layer)),
    };
  }
  if (Array.isArray(node)) {
    // Keras 2: [[layer, node_index, tensor_index, kwargs], ...], one entry per tensor of the first
    // argument, each with the same kwargs (the other arguments, tensors as [layer, node, tensor]).
    for (const entry of node) {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || !isIndex(entry[1]) || !isIndex(entry[2] ?? 0)) {
        throw configError(`layer "${layer}": malformed inbound node entry ${describe(entry)}`);
      }
      inputs.push({ layer: entry[0], node: entry[1], tensor: (entry[2] as number | undefined) ?? 0, style: "list" });
    }
    const positional = inputs.length;
    const kwargs = node.length > 0 && isObject(node[0][3]) ? (node[0][3] as JsonObject) : {};
    if (kwargs.initial_state !== undefined && kwargs.initial_state !== null)
      collectKeras2States(kwargs.initial_state, inputs, layer);
    return { inputs, keywords: splitKeywords(kwargs, positional, layer, isKeras2TensorRef, keras2TensorRef) };
  }
  throw configError(`layer "${layer}": malformed inbound node ${describe(node)}`);
}

/** Splits call keywords (other than initial_state) into tensor arguments and constants. */
function splitKeywords(
  kwargs: JsonObject,
  positional: number,
  layer: string,
  isTensor: (v: unknown) => boolean,
  toRef: (v: unknown) => TensorRef,
): Keywords {
  const tensors: Record<string, (TensorRef | null)[]> = {};
  const constants: Record<string, unknown> = {};
  // Keys come from the file: defined, not assigned, so that "__proto__" stays an ordinary key.
  const put = (target: Record<string, unknown>, key: string, value: unknown): void => {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const [key, value] of Object.entries(kwargs)) {
    if (key === "initial_state") continue;
    const refs: (TensorRef | null)[] = [];
    const others: unknown[] = [];
    forEachLeaf(value, isTensor, (v) => {
      if (isTensor(v)) refs.push(toRef(v));
      else if (v === null) refs.push(null);
      else others.push(v);
    });
    if (!refs.some((r) => r !== null)) {
      put(constants, key, value);
      continue;
    }
    if (others.length > 0)
      throw configError(`layer "${layer}": call argument "${key}" mixes tensors with ${describe(others[0])}`);
    put(tensors, key, refs);
  }
  return { positional, tensors, constants };
}

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function isKerasTensor(v: unknown): v is JsonObject {
  return isObject(v) && v.class_name === "__keras_tensor__";
}

/**
 * A `mask=` argument that Keras 3 filled in from the masks it traced (bool tensors): the graph
 * propagates masks itself, so such an argument adds nothing.
 */
export function isMaskTrace(refs: readonly (TensorRef | null)[]): boolean {
  return refs.length > 0 && refs.every((r) => r !== null && r.dtype === "bool");
}

function kerasTensorRef(value: unknown, layer: string): TensorRef {
  const config = isObject(value) && isObject(value.config) ? value.config : {};
  const history = config.keras_history;
  if (!Array.isArray(history) || typeof history[0] !== "string" || !isIndex(history[1]) || !isIndex(history[2])) {
    throw configError(`layer "${layer}": malformed keras_history ${describe(history)}`);
  }
  const dtype = typeof config.dtype === "string" ? config.dtype : undefined;
  return { layer: history[0], node: history[1], tensor: history[2], style: "call", dtype };
}

function collectKerasTensors(value: unknown, out: TensorRef[], layer: string): void {
  forEachLeaf(value, isKerasTensor, (v) => {
    if (isKerasTensor(v)) out.push(kerasTensorRef(v, layer));
  });
}

/** Keras 2 writes a tensor in call kwargs as [layer, node, tensor]. */
function isKeras2TensorRef(v: unknown): boolean {
  return Array.isArray(v) && v.length === 3 && typeof v[0] === "string" && isIndex(v[1]) && isIndex(v[2]);
}

function keras2TensorRef(v: unknown): TensorRef {
  const [layer, node, tensor] = v as [string, number, number];
  return { layer, node, tensor, style: "list" };
}

/** Keras 2 writes initial states in kwargs as [layer, node, tensor] triples. */
function collectKeras2States(value: unknown, out: TensorRef[], layer: string): void {
  const list = Array.isArray(value) && typeof value[0] === "string" ? [value] : value;
  if (!Array.isArray(list)) throw configError(`layer "${layer}": malformed initial_state ${describe(value)}`);
  for (const t of list) {
    if (!Array.isArray(t) || typeof t[0] !== "string" || !isIndex(t[1]) || !isIndex(t[2])) {
      throw configError(`layer "${layer}": malformed initial_state entry ${describe(t)}`);
    }
    out.push({ layer: t[0], node: t[1], tensor: t[2], style: "list" });
  }
}

/** `input_layers` / `output_layers`: a list of triples, a bare triple, or a dict of triples. */
function parseEndpoints(value: unknown, key: string): TensorRef[] {
  const triple = (t: unknown): TensorRef => {
    if (!Array.isArray(t) || typeof t[0] !== "string" || !isIndex(t[1]) || !isIndex(t[2])) {
      throw configError(`${key} entry ${describe(t)} is not a [layer, node, tensor] triple`);
    }
    return { layer: t[0], node: t[1], tensor: t[2], style: "endpoint" };
  };
  if (Array.isArray(value) && typeof value[0] === "string") return [triple(value)];
  if (Array.isArray(value)) return value.map(triple);
  if (isObject(value)) return Object.values(value).map(triple);
  throw configError(`the Functional model config has no ${key}`);
}

/** A shape from a config (`batch_shape`, `batch_input_shape`, `build_input_shape`). */
export function optionalShape(value: unknown, key: string): Shape | undefined {
  if (value === undefined || value === null) return undefined;
  if (
    !Array.isArray(value) ||
    !value.every((d) => d === null || (typeof d === "number" && Number.isInteger(d) && d >= 0))
  ) {
    throw configError(`${key} ${describe(value)} is not a shape`);
  }
  return value as Shape;
}

/** The dtype named by a config: a string, or a Keras 3 DTypePolicy object. */
export function dtypeName(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isObject(value) && isObject(value.config) && typeof value.config.name === "string") return value.config.name;
  return undefined;
}
