/**
 * A Loop body bound to the shapes of one call: its nodes get their output buffers once
 * (ops/types.ts BoundNode), and an iteration only runs them, reading the body's inputs from
 * buffers the loop refills. What depends only on values that stay the same through the loop
 * (constants, outer values, shapes) is computed once, when binding.
 */
import { guarded, type OnnxGraph } from "./graph.js";
import { elementwiseOps } from "./ops/elementwise.js";
import type { BoundNode } from "./ops/types.js";
import { allocate, type Value } from "./values.js";

export interface BoundBody {
  /** The body's first two inputs, refilled before each iteration. */
  readonly iteration: Float64Array;
  readonly condition: Uint8Array;
  /** The loop-carried inputs' buffers, refilled from the carried outputs after each iteration. */
  readonly carried: readonly Value[];
  /** The body's outputs after run(): the condition, the N carried values, the K scan outputs. */
  readonly outputs: readonly Value[];
  /** Runs one iteration. */
  run(): void;
  /** How many nodes an iteration runs. */
  readonly nodeCount: number;
}

const ELEMENTWISE = new Set(elementwiseOps.map((op) => op.opType));

/**
 * Per op with a bound form, the inputs it reads each time it runs; the others (shapes, axes,
 * starts, split sizes) are read once, when bound, so they must not change from one iteration to
 * the next. Elementwise ops read all of theirs when they run.
 */
const READ_WHEN_RUN: Record<string, readonly number[] | "all"> = {
  Identity: "all",
  Dropout: [0],
  Transpose: "all",
  Concat: "all",
  Gather: "all",
  Flatten: [0],
  Reshape: [0],
  Squeeze: [0],
  Unsqueeze: [0],
  Slice: [0],
  Split: [0],
  MatMul: "all",
  Gemm: "all",
  Softmax: [0],
  LogSoftmax: [0],
  ReduceSum: [0],
  ReduceMean: [0],
  ReduceMax: [0],
  ReduceMin: [0],
  ReduceProd: [0],
  LayerNormalization: "all",
  BatchNormalization: "all",
  Conv: [0],
  LSTM: [0, 4, 5, 6],
  GRU: [0, 4, 5],
  RNN: [0, 4, 5],
};

function readsWhenRun(opType: string, index: number): boolean {
  if (ELEMENTWISE.has(opType)) return true;
  const read = READ_WHEN_RUN[opType];
  return read === "all" || (read !== undefined && read.includes(index));
}

/**
 * Binds `body` for iterations whose carried values keep the shapes of `initial`; `outer` are the
 * enclosing graphs' values it reads. Null when it cannot be bound: a node without a bound form
 * (or one that would read a changing value only once) depends on the iteration, or a carried
 * value changes shape; such a body runs node by node instead.
 */
export function bindBody(body: OnnxGraph, initial: readonly Value[], outer: readonly Value[]): BoundBody | null {
  const iteration = new Float64Array(1);
  const condition = new Uint8Array(1);
  const carried = initial.map((v): Value => {
    const data = allocate(v.type, v.data.length);
    data.set(v.data);
    return { type: v.type, shape: v.shape, data };
  });
  const formal: Value[] = [
    { type: "int", shape: [], data: iteration },
    { type: "bool", shape: [], data: condition },
    ...carried,
  ];
  const values = body.constants.slice();
  /** Slots whose data changes from one iteration to the next. */
  const changing = new Set<number>();
  body.inputSlots.forEach((slot, i) => {
    values[slot] = i < formal.length ? formal[i] : outer[i - formal.length];
    if (i < formal.length) changing.add(slot);
  });
  const nodes: BoundNode[] = [];
  for (const step of body.plan) {
    const args = step.inputs.map((s) => (s === -1 ? null : values[s]!));
    const opType = step.node.opType;
    const reads = step.inputs.map((s) => changing.has(s));
    let outputs: readonly Value[];
    if (opType === "Shape" || opType === "Size" || !reads.includes(true)) {
      // The same in every iteration (shapes stay fixed once bound): computed now.
      outputs = guarded(step.node, () => step.kernel(args));
    } else {
      const bind = step.kernel.bind;
      if (bind === undefined || reads.some((r, i) => r && !readsWhenRun(opType, i))) return null;
      const bound = guarded(step.node, () => bind(args));
      nodes.push(bound);
      outputs = bound.outputs;
      for (const s of step.outputs) changing.add(s);
    }
    step.outputs.forEach((s, k) => {
      if (s !== -1) values[s] = outputs[k];
    });
  }
  const outputs = body.outputSlots.map((s) => values[s]!);
  const sameShape = (a: Value, b: Value): boolean =>
    a.type === b.type && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  if (!carried.every((v, k) => sameShape(outputs[1 + k], v))) return null;
  return {
    iteration,
    condition,
    carried,
    outputs,
    nodeCount: nodes.length,
    run() {
      for (let i = 0; i < nodes.length; i++) nodes[i].run();
    },
  };
}
