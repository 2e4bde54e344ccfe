/**
 * Reads the inbound nodes of op layers: tf.keras writes `[layer, node, tensor, kwargs]` entries
 * (a nested structure of them for the first argument, `["_CONSTANT_VALUE", -1, value, kwargs]`
 * when it is a constant; tensors in kwargs as `[layer, node, tensor]`), Keras 3 writes
 * `{"args", "kwargs"}` with `__keras_tensor__`, `__slice__`, `__ellipsis__` and `__numpy__` objects.
 */
import { describe, isObject, type JsonObject } from "../layers/config.js";
import { ELLIPSIS, SliceArg, TensorArg, type OpCall, type OpValue, type SliceBound } from "../layers/ops/values.js";
import { configError, type NodeSpec, type TensorRef } from "./config.js";

/** tf.keras op layers and Keras 3 operation nodes (which may share class names with layers). */
export function isOpEntry(className: string, module: string | undefined): boolean {
  return (
    isTfOpLayer(className) ||
    className === "TensorFlowOpLayer" ||
    (module !== undefined && module.startsWith("keras.src.ops"))
  );
}

export function isTfOpLayer(className: string): boolean {
  return className === "TFOpLambda" || className === "SlicingOpLambda";
}

const MAX_DEPTH = 64;

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function isSliceBound(v: unknown): v is SliceBound {
  return v === null || v instanceof TensorArg || (typeof v === "number" && Number.isInteger(v));
}

/** A slice of integers, None or (tf.keras) Keras tensors, each bound read like any op argument. */
function toSlice(v: JsonObject, layer: string, bound: (v: unknown) => OpValue): SliceArg {
  const [start, stop, step] = [bound(v.start), bound(v.stop), bound(v.step)];
  if (!isSliceBound(start) || !isSliceBound(stop) || !isSliceBound(step) || step === 0) {
    throw configError(`layer "${layer}": slice ${describe(v)} is not a slice of integers or tensors`);
  }
  return new SliceArg(start, stop, step);
}

/** Converts a config value, `tensor` deciding which values are Keras tensors. */
function convert(
  value: unknown,
  layer: string,
  tensor: (v: unknown) => TensorRef | undefined,
  refs: TensorRef[],
  depth = 0,
): OpValue {
  if (depth > MAX_DEPTH) throw configError(`layer "${layer}": op arguments nested deeper than ${MAX_DEPTH}`);
  const ref = tensor(value);
  if (ref !== undefined) return new TensorArg(refs.push(ref) - 1);
  if (value === null || typeof value === "number" || typeof value === "string" || typeof value === "boolean")
    return value;
  if (Array.isArray(value)) return value.map((v) => convert(v, layer, tensor, refs, depth + 1));
  if (isObject(value)) {
    if (value.class_name === "__ellipsis__") return ELLIPSIS;
    const bound = (v: unknown): OpValue => convert(v, layer, tensor, refs, depth + 1);
    if (value.class_name === "__slice__" && isObject(value.config)) return toSlice(value.config, layer, bound);
    if (value.class_name === "__tuple__" && Array.isArray(value.items))
      return value.items.map((v) => convert(v, layer, tensor, refs, depth + 1));
    // Keras 3 constants: NumPy arrays and eager tensors, as nested lists.
    if ((value.class_name === "__numpy__" || value.class_name === "__tensor__") && isObject(value.config))
      return convert(value.config.value, layer, tensor, refs, depth + 1);
    const keys = Object.keys(value);
    if (keys.length === 3 && "start" in value && "stop" in value && "step" in value)
      return toSlice(value, layer, bound);
    const out: Record<string, OpValue> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: convert(v, layer, tensor, refs, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  throw configError(`layer "${layer}": unreadable op argument ${describe(value)}`);
}

function kwargsOf(value: Readonly<Record<string, OpValue>>, drop: readonly string[]): Record<string, OpValue> {
  const out: Record<string, OpValue> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!drop.includes(k))
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function objectOf(value: OpValue): Readonly<Record<string, OpValue>> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof TensorArg)
    ? (value as Record<string, OpValue>)
    : {};
}

function node(refs: TensorRef[], op: OpCall): NodeSpec {
  return { inputs: refs, keywords: { positional: refs.length, tensors: {}, constants: {} }, op };
}

/** One inbound node of a tf.keras TFOpLambda / SlicingOpLambda. */
export function parseTfOpNode(raw: unknown, layer: string): NodeSpec {
  const refs: TensorRef[] = [];
  let kwargsRaw: unknown = undefined;
  const isEntry = (v: unknown): v is unknown[] =>
    Array.isArray(v) && v.length >= 3 && v.length <= 4 && typeof v[0] === "string" && typeof v[1] === "number";
  // The first argument: an entry, or a nested list of entries.
  const first = (v: unknown, depth: number): OpValue => {
    if (depth > MAX_DEPTH) throw configError(`layer "${layer}": op arguments nested deeper than ${MAX_DEPTH}`);
    if (isEntry(v)) {
      if (kwargsRaw === undefined) kwargsRaw = v[3] ?? {};
      if (v[0] === "_CONSTANT_VALUE" && v[1] === -1) return convert(v[2], layer, () => undefined, refs);
      if (!isIndex(v[1]) || !isIndex(v[2]))
        throw configError(`layer "${layer}": malformed inbound node entry ${describe(v)}`);
      return new TensorArg(refs.push({ layer: v[0] as string, node: v[1], tensor: v[2], style: "list" }) - 1);
    }
    if (Array.isArray(v)) return v.map((item) => first(item, depth + 1));
    throw configError(`layer "${layer}": malformed inbound node entry ${describe(v)}`);
  };
  const firstArg = first(raw, 0);
  const kerasTriple = (v: unknown): TensorRef | undefined =>
    Array.isArray(v) && v.length === 3 && typeof v[0] === "string" && isIndex(v[1]) && isIndex(v[2])
      ? { layer: v[0], node: v[1], tensor: v[2], style: "list" }
      : undefined;
  const kwargs = objectOf(convert(isObject(kwargsRaw) ? kwargsRaw : {}, layer, kerasTriple, refs));
  return node(refs, { format: "tf", args: [firstArg], kwargs: kwargsOf(kwargs, ["name"]) });
}

/** One inbound node of a Keras 3 operation; the op's config joins the call's keywords. */
export function parseKerasOpNode(raw: unknown, layer: string, config: JsonObject): NodeSpec {
  if (!isObject(raw)) throw configError(`layer "${layer}": malformed inbound node ${describe(raw)}`);
  const refs: TensorRef[] = [];
  const kerasTensor = (v: unknown): TensorRef | undefined => {
    if (!isObject(v) || v.class_name !== "__keras_tensor__") return undefined;
    const c = isObject(v.config) ? v.config : {};
    const h = c.keras_history;
    if (!Array.isArray(h) || typeof h[0] !== "string" || !isIndex(h[1]) || !isIndex(h[2]))
      throw configError(`layer "${layer}": malformed keras_history ${describe(h)}`);
    return {
      layer: h[0],
      node: h[1],
      tensor: h[2],
      style: "call",
      dtype: typeof c.dtype === "string" ? c.dtype : undefined,
    };
  };
  const args = convert(Array.isArray(raw.args) ? raw.args : [], layer, kerasTensor, refs) as OpValue[];
  const kwargs = kwargsOf(objectOf(convert(isObject(raw.kwargs) ? raw.kwargs : {}, layer, kerasTensor, refs)), []);
  for (const [k, v] of Object.entries(kwargsOf(objectOf(convert(config, layer, () => undefined, [])), ["name"]))) {
    if (!(k in kwargs))
      Object.defineProperty(kwargs, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return node(refs, { format: "keras", args, kwargs });
}
