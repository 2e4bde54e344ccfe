/**
 * ONNX Loop: a body graph run while the trip count M and the condition allow, carrying N values
 * from one iteration to the next and stacking K scan outputs along a new first axis. tf2onnx
 * writes Keras GRU(reset_after=False) and SimpleRNN this way: one iteration per time step.
 *
 * The body is planned at load like any graph (every op in it checked, constants folded), with
 * the values of the enclosing graphs in scope. A call binds it to that call's shapes
 * (bound-body.ts) and runs each iteration in place: the carried values are copied back into the
 * body's inputs, the scan outputs into buffers sized from the trip count.
 */
import { bindBody } from "../bound-body.js";
import type { OnnxGraph } from "../graph.js";
import { BIND_COST, spend } from "../loop-budget.js";
import { allocate, checkedCount, type Value } from "../values.js";
import type { NodeReader, OpDefinition, OpKernel } from "./types.js";

/** Scan outputs are allocated for the trip count up to this many elements, and grown past it. */
const PREALLOCATED_ELEMENTS = 2 ** 20;

function prepareLoop(node: NodeReader): OpKernel {
  const body = node.subgraph("body");
  const { inputs, outputs } = node.node;
  const n = inputs.length - 2;
  if (
    body === null ||
    n < 0 ||
    body.inputSlots.length - body.outerNames.length !== n + 2 ||
    outputs.length > body.outputSlots.length - 1
  )
    throw node.error("its body does not match its inputs and outputs");
  if (inputs[0] === "" && inputs[1] === "") node.unsupported("no trip count nor condition: endless");
  if (inputs.indexOf("", 2) > 0) node.unsupported("an omitted carried value");
  const kernel = (values: readonly (Value | null)[]): Value[] => runLoop(node.label, body, n, values);
  return Object.assign(kernel, { implicitInputs: body.outerNames, subgraph: body });
}

function runLoop(label: string, body: OnnxGraph, n: number, inputs: readonly (Value | null)[]): Value[] {
  const [m, cond] = inputs;
  const trips = m == null ? Infinity : m.data[0];
  let going = cond == null || cond.data[0] !== 0;
  spend(BIND_COST * body.plan.length, label);
  const {
    inputs: formal,
    outputs,
    nodes,
  } = bindBody(body, inputs.slice(2, 2 + n) as Value[], inputs.slice(2 + n) as Value[], label);
  const carriedOut = outputs.slice(1, 1 + n);
  const scanOut = outputs.slice(1 + n);
  const sizes = scanOut.map((v) => v.data.length);
  // The trip count is only a claim of the file's: scan buffers hold it up to PREALLOCATED_ELEMENTS, then double.
  const perIteration = sizes.reduce((a, b) => a + b, 1);
  let capacity = Math.max(0, Math.min(trips, (PREALLOCATED_ELEMENTS / perIteration) | 0));
  let scans = scanOut.map((v, k) => allocate(v.type, capacity * sizes[k]));
  // Carried outputs go through buffers of their own: one may be another's input (passed through,
  // swapped), which must not be overwritten before it is read.
  const next = carriedOut.map((v) => allocate(v.type, v.data.length));
  // The body's condition input: true in every iteration that runs.
  formal[1].data[0] = 1;
  const work = nodes.length + 1;
  let i = 0;
  for (; i < trips && going; i++) {
    spend(work, label);
    formal[0].data[0] = i;
    for (let j = 0; j < nodes.length; j++) nodes[j].run();
    if (cond != null) going = outputs[0].data[0] !== 0;
    if (i === capacity) {
      capacity = Math.max(1, Math.min(trips, capacity * 2));
      scans = scans.map((old, k) => {
        const data = allocate(scanOut[k].type, checkedCount([capacity, ...scanOut[k].shape], label));
        data.set(old);
        return data;
      });
    }
    for (let k = 0; k < scans.length; k++) scans[k].set(scanOut[k].data, i * sizes[k]);
    for (let k = 0; k < n; k++) next[k].set(carriedOut[k].data);
    for (let k = 0; k < n; k++) formal[2 + k].data.set(next[k]);
  }
  return [
    ...formal.slice(2),
    ...scanOut.map((v, k): Value => ({
      type: v.type,
      shape: [i, ...v.shape],
      data: scans[k].subarray(0, i * sizes[k]),
    })),
  ];
}

export const loopOps: OpDefinition[] = [
  {
    opType: "Loop",
    family: "control",
    since: 11,
    attributes: ["body"],
    prepare: prepareLoop,
  },
];
