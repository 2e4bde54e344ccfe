/**
 * Every op kerasless runs in op layers, keyed by op: the tf.keras function names (TFOpLambda's
 * `function`) and Keras 3 op classes that call it, its parameters, and its binding. This list
 * is the single source: layer creation looks ops up here and docs/supported-layers.md lists it.
 */
import type { Shape } from "../layer.js";
import type { OpDefinition } from "./bindings.js";
import { IMAGE_OPS } from "./ops-image.js";
import { INDEX_OPS } from "./ops-index.js";
import { LINALG_OPS } from "./ops-linalg.js";
import { MATH_OPS } from "./ops-math.js";
import { SHAPE_OPS } from "./ops-shape.js";
import { OpParams, type BoundOp } from "./params.js";
import type { OpCall, OpValue } from "./values.js";

export type { OpDefinition } from "./bindings.js";

export const OPS: readonly OpDefinition[] = [...SHAPE_OPS, ...INDEX_OPS, ...MATH_OPS, ...LINALG_OPS, ...IMAGE_OPS];
const byTf = new Map<string, OpDefinition>(OPS.flatMap((d) => d.tf.map((n) => [n, d] as const)));
const byKeras = new Map<string, OpDefinition>(OPS.flatMap((d) => d.keras.map((n) => [n, d] as const)));

/** The op a TFOpLambda `function` or a Keras 3 op class names, if kerasless runs it. */
export function findOp(format: "tf" | "keras", name: string): OpDefinition | undefined {
  return (format === "tf" ? byTf : byKeras).get(name);
}

/** Binds one call of `definition` to its arguments and input shapes (throws what is unsupported). */
export function bindOp(definition: OpDefinition, label: string, call: OpCall, shapes: readonly Shape[]): BoundOp {
  if (call.format === "tf") return definition.bind(new OpParams(label, call, definition.params, shapes));
  const kwargs: Record<string, OpValue> = {};
  for (const [k, v] of Object.entries(call.kwargs)) {
    Object.defineProperty(kwargs, definition.kerasNames?.[k] ?? k, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return definition.bind(new OpParams(label, { ...call, kwargs }, definition.kerasParams, shapes));
}
