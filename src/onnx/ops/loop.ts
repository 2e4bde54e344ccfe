/**
 * ONNX Loop: a body graph run while the trip count M and the condition allow, carrying N values
 * from one iteration to the next and stacking K scan outputs along a new first axis. tf2onnx
 * writes Keras GRU(reset_after=False) and SimpleRNN this way: one iteration per time step.
 *
 * The body is planned at load like any graph (every op in it checked, constants folded), with
 * the values of the enclosing graphs in scope. A call binds it to that call's shapes
 * (bound-body.ts) and runs each iteration in place: the carried values are copied back into the
 * body's inputs, the scan outputs into buffers sized from the trip count. A body that cannot be
 * bound (a value changing shape from one iteration to the next) runs node by node instead.
 */
import { KeraslessError } from "../../errors.js";
import { bindBody, type BoundBody } from "../bound-body.js";
import type { OnnxGraph } from "../graph.js";
import { BIND_COST, MAX_LOOP_WORK, spend } from "../loop-budget.js";
import { allocate, checkedCount, type Value, type ValueData } from "../values.js";
import { runtimeError, type NodeReader, type OpDefinition, type OpKernel } from "./types.js";

/** Scan outputs are allocated for the trip count up to this many elements, and grown past it. */
const PREALLOCATED_ELEMENTS = 2 ** 20;

interface LoopShape {
  readonly label: string;
  readonly body: OnnxGraph;
  /** N loop-carried values. */
  readonly carried: number;
  /** Whether M and cond are given. */
  readonly hasTripCount: boolean;
  readonly hasCondition: boolean;
}

function prepareLoop(node: NodeReader): OpKernel {
  const body = node.subgraph("body");
  const failed: OpKernel = () => {
    throw node.error("not runnable");
  };
  if (body === null) {
    node.unsupported("a Loop without a body graph");
    return failed;
  }
  const inputs = node.node.inputs;
  const carried = inputs.length - 2;
  if (carried < 0) throw node.error("a Loop takes M and cond (empty names when omitted) before its carried values");
  const formal = body.inputSlots.length - body.outerNames.length;
  if (formal !== 2 + carried)
    throw node.error(`its body takes ${formal} inputs; with ${carried} carried values it must take ${2 + carried}`);
  const scans = body.outputSlots.length - 1 - carried;
  if (scans < 0) throw node.error(`its body gives ${body.outputSlots.length} outputs, fewer than 1 + ${carried}`);
  if (node.node.outputs.length > carried + scans)
    throw node.error(`${node.node.outputs.length} outputs, but its body gives ${carried} carried and ${scans} scanned`);
  const shape: LoopShape = {
    label: node.label,
    body,
    carried,
    hasTripCount: inputs[0] !== "",
    hasCondition: inputs[1] !== "",
  };
  if (!shape.hasTripCount && !shape.hasCondition)
    node.unsupported("neither a trip count nor a condition: it never ends");
  if (inputs.slice(2).includes("")) node.unsupported("an omitted loop-carried value (optional types)");
  const kernel = (values: readonly (Value | null)[]): Value[] => runLoop(shape, values);
  return Object.assign(kernel, { implicitInputs: body.outerNames, subgraph: body });
}

/** The state of one call: how many iterations may run, and whether the next one does. */
interface Iterations {
  readonly tripCount: number;
  /** What the body's condition output decides (false: cond not given, the output is ignored). */
  readonly conditional: boolean;
  going: boolean;
}

function runLoop(loop: LoopShape, inputs: readonly (Value | null)[]): Value[] {
  const [m, cond] = inputs;
  for (const [v, what] of [
    [m, "M"],
    [cond, "cond"],
  ] as const)
    if (v != null && v.data.length !== 1) throw runtimeError(loop.label, `${what} has ${v.data.length} values, not 1`);
  const initial = inputs.slice(2, 2 + loop.carried) as Value[];
  const outer = inputs.slice(2 + loop.carried) as Value[];
  const state: Iterations = {
    tripCount: m == null ? Infinity : m.data[0],
    conditional: cond != null,
    going: cond == null || cond.data[0] !== 0,
  };
  if (!spend(BIND_COST * loop.body.plan.length)) throw budgetSpent(loop.label);
  const bound = bindBody(loop.body, initial, outer);
  return bound === null ? runByNode(loop, state, initial, outer) : runBound(loop, state, bound);
}

function budgetSpent(label: string): KeraslessError {
  return new KeraslessError(
    "E_LIMIT",
    `${label}: more than ${MAX_LOOP_WORK} node runs in loops in one call (nested loops count together)`,
  );
}

/** The bound body, iteration after iteration, into buffers allocated once (scan buffers grow by doubling). */
function runBound(loop: LoopShape, state: Iterations, body: BoundBody): Value[] {
  const n = loop.carried;
  const carriedOut = body.outputs.slice(1, 1 + n);
  const scanOut = body.outputs.slice(1 + n);
  const sizes = scanOut.map((v) => v.data.length);
  let capacity = initialCapacity(state.tripCount, sizes);
  let scans = scanOut.map((v, k) => allocate(v.type, capacity * sizes[k]));
  // A carried output that is one of the body's inputs (a value passed through, or swapped with
  // another) is copied through a buffer of its own, so that no input is overwritten before it is read.
  const inputData = new Set<ValueData>([body.iteration, body.condition, ...body.carried.map((v) => v.data)]);
  const staged = carriedOut.map((v, k) =>
    v.data !== body.carried[k].data && inputData.has(v.data) ? allocate(v.type, v.data.length) : null,
  );
  const condition = body.outputs[0].data;
  const work = Math.max(1, body.nodeCount);
  let i = 0;
  while (i < state.tripCount && state.going) {
    if (!spend(work)) throw budgetSpent(loop.label);
    body.iteration[0] = i;
    body.condition[0] = 1;
    body.run();
    if (state.conditional) state.going = condition[0] !== 0;
    if (i === capacity) {
      capacity = grown(capacity, state.tripCount, scanOut, loop.label);
      scans = scans.map((old, k) => {
        const data = allocate(scanOut[k].type, capacity * sizes[k]);
        data.set(old);
        return data;
      });
    }
    for (let k = 0; k < scans.length; k++) scans[k].set(scanOut[k].data, i * sizes[k]);
    for (let k = 0; k < n; k++) staged[k]?.set(carriedOut[k].data);
    for (let k = 0; k < n; k++) {
      const target = body.carried[k].data;
      const from = staged[k] ?? carriedOut[k].data;
      if (from !== target) target.set(from);
    }
    i++;
  }
  return [
    ...body.carried,
    ...scanOut.map((v, k): Value => ({
      type: v.type,
      shape: [i, ...v.shape],
      data: scans[k].subarray(0, i * sizes[k]),
    })),
  ];
}

/** Scan buffers hold the whole trip count when it fits in PREALLOCATED_ELEMENTS (a file's M is only a claim). */
function initialCapacity(tripCount: number, sizes: readonly number[]): number {
  const perIteration = Math.max(
    1,
    sizes.reduce((a, b) => a + b, 0),
  );
  return Math.max(0, Math.min(tripCount, Math.max(1, Math.floor(PREALLOCATED_ELEMENTS / perIteration))));
}

function grown(capacity: number, tripCount: number, scanOut: readonly Value[], label: string): number {
  const next = Math.min(tripCount, Math.max(1, capacity * 2));
  for (const v of scanOut) checkedCount([next, ...v.shape], `${label}'s scan output`);
  return next;
}

/** A body that cannot be bound: run as a graph per iteration (each iteration allocates its values). */
function runByNode(loop: LoopShape, state: Iterations, initial: Value[], outer: Value[]): Value[] {
  const n = loop.carried;
  let carried = initial;
  const scanCount = loop.body.outputSlots.length - 1 - n;
  const parts: Value[][] = Array.from({ length: scanCount }, () => []);
  const work = 1 + BIND_COST * loop.body.plan.length;
  let i = 0;
  while (i < state.tripCount && state.going) {
    if (!spend(work)) throw budgetSpent(loop.label);
    const iteration: Value = { type: "int", shape: [], data: Float64Array.of(i) };
    const condition: Value = { type: "bool", shape: [], data: Uint8Array.of(1) };
    const outputs = loop.body.execute([iteration, condition, ...carried, ...outer]);
    if (state.conditional) state.going = outputs[0].data[0] !== 0;
    carried = outputs.slice(1, 1 + n);
    outputs.slice(1 + n).forEach((v, k) => {
      const first = parts[k][0] ?? v;
      if (v.type !== first.type || v.shape.join() !== first.shape.join())
        throw runtimeError(loop.label, `scan output ${k} changes shape: [${first.shape}] then [${v.shape}]`);
      checkedCount([i + 1, ...v.shape], `${loop.label}'s scan output`);
      parts[k].push(v);
    });
    i++;
  }
  return [...carried, ...parts.map((list) => stack(list))];
}

function stack(list: readonly Value[]): Value {
  if (list.length === 0) return { type: "float", shape: [0], data: new Float32Array(0) };
  const size = list[0].data.length;
  const data = allocate(list[0].type, list.length * size);
  list.forEach((v, i) => data.set(v.data, i * size));
  return { type: list[0].type, shape: [list.length, ...list[0].shape], data };
}

export const loopOps: OpDefinition[] = [
  {
    opType: "Loop",
    family: "control flow",
    since: 11,
    attributes: ["body"],
    summary:
      "`M` and `cond` (either may be omitted), loop-carried values, scan outputs; the body sees the " +
      "enclosing graphs' values; bound once per call, each iteration runs in place",
    prepare: prepareLoop,
  },
];
