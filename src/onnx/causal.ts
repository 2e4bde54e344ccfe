/**
 * Whether an ONNX graph can be streamed one time step at a time, and where its time axes are.
 * The time axis of each graph input is followed through the nodes that run per call; every node
 * must act on each time step alone (forward recurrent ops, per-step arithmetic, the last step
 * taken by Gather/Slice), or streaming is refused naming that node.
 */
import { KeraslessError } from "../errors.js";
import type { PlannedNode } from "./graph.js";
import { onnxOp } from "./ops/registry.js";
import { nodeLabel, type OnnxNode } from "./proto.js";
import type { Value } from "./values.js";

export interface CausalPlan {
  /** Per graph input, its time axis. */
  readonly inputTimeAxes: readonly number[];
  /** Per graph output, its time axis, or -1 for outputs without one (last step, states). */
  readonly outputTimeAxes: readonly number[];
  /** Plan indices of the recurrent nodes, whose states a stream carries. */
  readonly recurrent: readonly number[];
}

class NotCausal extends Error {
  constructor(
    message: string,
    /** How far through the plan the check got: the furthest refusal is the one reported. */
    readonly reached: number,
  ) {
    super(message);
  }
}

export interface GraphView {
  readonly plan: readonly PlannedNode[];
  readonly inputSlots: readonly number[];
  readonly outputSlots: readonly number[];
  readonly inputRanks: readonly number[];
  readonly inputNames: readonly string[];
  constant(slot: number): Value | undefined;
  attributeInts(node: OnnxNode, name: string): number[] | null;
  attributeInt(node: OnnxNode, name: string, fallback: number): number;
  attributeString(node: OnnxNode, name: string, fallback: string): string;
  rankOf(slot: number): number | null;
}

export function causalPlan(view: GraphView): CausalPlan {
  view.inputRanks.forEach((rank, i) => {
    if (rank < 3)
      throw new KeraslessError(
        "E_UNSUPPORTED",
        `cannot stream: input "${view.inputNames[i]}" has no time axis ` +
          "(graphs with explicit state inputs run with predict())",
      );
  });
  let refusal: NotCausal | null = null;
  for (const candidate of [1, 0]) {
    try {
      return propagate(view, candidate);
    } catch (e) {
      if (!(e instanceof NotCausal)) throw e;
      if (refusal === null || e.reached > refusal.reached) refusal = e;
    }
  }
  throw new KeraslessError("E_UNSUPPORTED", `cannot stream: ${refusal!.message}`);
}

function propagate(view: GraphView, inputAxis: number): CausalPlan {
  const time = new Map<number, number>();
  /** Shape vectors of time-bearing values: where the time length sits in them. */
  const shapeTime = new Map<number, number>();
  /** Values whose time axis holds only the last step (a Slice [-1:]): squeezing it is fine. */
  const lastStep = new Set<number>();
  view.inputSlots.forEach((s) => time.set(s, inputAxis));
  const recurrent: number[] = [];
  let sawRecurrent = false;
  view.plan.forEach((step, index) => {
    const { node } = step;
    const label = nodeLabel(node);
    const refuse = (why: string): never => {
      throw new NotCausal(`${label} ${why}`, index);
    };
    /** Input i's entries when it is a constant. */
    const constInts = (i: number): number[] | null => {
      const v = step.inputs[i] === undefined || step.inputs[i] === -1 ? undefined : view.constant(step.inputs[i]);
      return v === undefined ? null : Array.from(v.data, Number);
    };
    const shapeInput = step.inputs.findIndex((s) => shapeTime.has(s));
    if (shapeInput >= 0) {
      // A shape that holds the time length: casts pass it on, Gather and Slice may take its other entries.
      const at = shapeTime.get(step.inputs[shapeInput])!;
      if (shapeInput === 0 && (node.opType === "Cast" || node.opType === "Identity")) {
        if (step.outputs[0] !== -1) shapeTime.set(step.outputs[0], at);
        return;
      }
      if (shapeInput === 0 && node.opType === "Gather") {
        const picks = constInts(1);
        if (picks !== null && !picks.includes(at)) return;
      }
      if (shapeInput === 0 && node.opType === "Slice") {
        const [starts, ends, steps] = [constInts(1), constInts(2), constInts(4)];
        if (starts?.length === 1 && ends?.length === 1 && (steps === null || steps[0] === 1) && starts[0] >= 0) {
          if (at < starts[0] || at >= ends[0]) return;
          if (step.outputs[0] !== -1) shapeTime.set(step.outputs[0], at - starts[0]);
          return;
        }
      }
      refuse("uses the length of the sequence");
    }
    const axes = step.inputs.map((s) => (s === -1 ? undefined : time.get(s)));
    const t = axes.find((a) => a !== undefined);
    if (t === undefined) return; // nothing here depends on time
    const set = (k: number, axis: number): void => {
      if (step.outputs[k] !== -1) time.set(step.outputs[k], axis);
    };
    const rank = view.rankOf(step.inputs[0]) ?? 0;
    const norm = (a: number, r: number): number => (a < 0 ? a + r : a);
    const family = onnxOp(node.opType)?.family;
    switch (node.opType) {
      case "LSTM":
      case "GRU":
      case "RNN": {
        sawRecurrent = true;
        const layout = view.attributeInt(node, "layout", 0);
        // With the Transpose before it absorbed (fuse.ts), X comes as [batch, time, features].
        if (axes[0] !== (step.absorbed === undefined ? layout : 1))
          refuse("gets its sequence on another axis than its time axis");
        if (view.attributeString(node, "direction", "forward") !== "forward")
          refuse("reads the sequence from its end (reverse or bidirectional)");
        if ((node.inputs[4] ?? "") !== "") refuse("takes sequence_lens");
        if (axes.slice(1).some((a) => a !== undefined))
          refuse("takes its weights or initial states from the graph's inputs (such graphs run with predict())");
        recurrent.push(index);
        set(0, layout);
        return;
      }
      case "Transpose": {
        const perm = view.attributeInts(node, "perm") ?? [...Array(rank).keys()].reverse();
        return set(0, perm.indexOf(t));
      }
      case "Shape": {
        const start = view.attributeInt(node, "start", 0);
        if (norm(start, rank) <= t && step.outputs[0] !== -1) shapeTime.set(step.outputs[0], t - norm(start, rank));
        return;
      }
      case "Identity":
      case "Dropout":
      case "Cast":
        return set(0, t);
      case "Squeeze":
      case "Unsqueeze": {
        const given = view.attributeInts(node, "axes") ?? constInts(1);
        if (given === null) refuse("has axes that are not constant");
        const outRank = node.opType === "Squeeze" ? rank - given!.length : rank + given!.length;
        const list = given!.map((a) => norm(a, node.opType === "Squeeze" ? rank : outRank));
        if (node.opType === "Squeeze") {
          if (list.includes(t)) {
            if (!lastStep.has(step.inputs[0])) refuse("removes the time axis");
            return; // the last step, without its time axis
          }
          return set(0, t - list.filter((a) => a < t).length);
        }
        let position = t;
        for (const a of [...list].sort((x, y) => x - y)) if (a <= position) position++;
        return set(0, position);
      }
      case "Gather": {
        const axis = norm(view.attributeInt(node, "axis", 0), rank);
        const indices = constInts(1);
        if (axes[1] !== undefined) refuse("gathers with indices that vary over time");
        if (axis === t) {
          if (indices?.length !== 1 || indices[0] !== -1) refuse("picks time steps other than the last");
          return; // the last step: no time axis left
        }
        const indexRank = view.rankOf(step.inputs[1]) ?? 0;
        return set(0, t < axis ? t : t + indexRank - 1);
      }
      case "Slice": {
        const starts = constInts(1);
        const ends = constInts(2);
        const sliceAxes = constInts(3) ?? starts?.map((_, i) => i) ?? null;
        if (starts === null || ends === null || sliceAxes === null) refuse("slices with bounds that are not constant");
        const k = sliceAxes!.map((a) => norm(a, rank)).indexOf(t);
        if (k >= 0) {
          const steps = constInts(4);
          if (starts![k] !== -1 || ends![k] < 2 ** 31 - 1 || (steps !== null && steps[k] !== 1))
            refuse("slices the time axis other than to its last step");
          if (step.outputs[0] !== -1) lastStep.add(step.outputs[0]);
        }
        return set(0, t);
      }
      case "MatMul":
      case "Gemm": {
        if (axes[1] !== undefined || axes[2] !== undefined) refuse("multiplies by a matrix that varies over time");
        if (t === rank - 1) refuse("contracts the time axis");
        if (node.opType === "Gemm" && view.attributeInt(node, "transA", 0) !== 0) refuse("transposes its time axis");
        return set(0, t);
      }
      case "Softmax":
      case "LogSoftmax":
      case "LayerNormalization": {
        const axis = norm(view.attributeInt(node, "axis", -1), rank);
        if (node.opType === "LayerNormalization" ? t >= axis : t === axis) refuse("normalizes over time");
        return set(0, t);
      }
      case "Concat":
      case "Split": {
        if (norm(view.attributeInt(node, "axis", 0), rank) === t) refuse("joins or splits along time");
        if (axes.some((a) => a !== t)) refuse("mixes values with and without a time axis");
        node.outputs.forEach((_, k) => set(k, t));
        return;
      }
      default:
        if (node.opType.startsWith("Reduce")) {
          const given = view.attributeInts(node, "axes") ?? constInts(1) ?? [];
          const list = given.length === 0 ? [...Array(rank).keys()] : given.map((a) => norm(a, rank));
          if (list.includes(t)) refuse("reduces over time");
          const keep = view.attributeInt(node, "keepdims", 1) === 1;
          return set(0, keep ? t : t - list.filter((a) => a < t).length);
        }
        if (family === "elementwise") {
          const outRank = step.inputs.reduce((r, s) => Math.max(r, s === -1 ? 0 : (view.rankOf(s) ?? 0)), 0);
          const aligned = step.inputs.map((s, i) =>
            axes[i] === undefined ? undefined : axes[i]! + outRank - (view.rankOf(s) ?? 0),
          );
          const first = aligned.find((a) => a !== undefined)!;
          if (aligned.some((a) => a !== undefined && a !== first)) refuse("combines different time axes");
          return set(0, first);
        }
        refuse("acts across time steps (or kerasless cannot tell that it does not)");
    }
  });
  if (!sawRecurrent) throw new NotCausal("the graph has no LSTM, GRU or RNN node to carry states", -1);
  return {
    inputTimeAxes: view.inputSlots.map(() => inputAxis),
    outputTimeAxes: view.outputSlots.map((s) => time.get(s) ?? -1),
    recurrent,
  };
}
