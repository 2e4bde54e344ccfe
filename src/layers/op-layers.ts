/** Op layers as a registry creates them (kept apart so that a registry without them leaves their code out). */
import { OpLayer } from "./ops/op-layer.js";
import { findOp } from "./ops/registry.js";
import type { OpLayerFactory } from "./registry-types.js";

export const opLayers: OpLayerFactory = (format, op, name, className, label) => {
  const definition = findOp(format, op);
  return definition === undefined ? undefined : new OpLayer(name, className, label, definition);
};
