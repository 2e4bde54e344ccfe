/** Every ONNX operator kerasless runs, by op type (default ONNX domain): the one list of what is supported. */
import { convOps } from "./conv.js";
import { elementwiseOps } from "./elementwise.js";
import { loopOps } from "./loop.js";
import { mathOps } from "./math.js";
import { recurrentOps } from "./recurrent.js";
import { sequenceOps } from "./sequence.js";
import { shapeOps } from "./shape.js";
import type { OpDefinition } from "./types.js";

export const onnxOps: readonly OpDefinition[] = [
  ...recurrentOps,
  ...mathOps,
  ...convOps,
  ...elementwiseOps,
  ...shapeOps,
  ...sequenceOps,
  ...loopOps,
];

const byType = new Map(onnxOps.map((op) => [op.opType, op]));

export function onnxOp(opType: string): OpDefinition | undefined {
  return byType.get(opType);
}

/** Newest default-domain opset whose changes kerasless knows; later ones are reported at load. */
export const MAX_OPSET = 23;
/** Oldest default-domain opset accepted (ops check their own earliest version too). */
export const MIN_OPSET = 7;
