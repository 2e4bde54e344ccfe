/**
 * ONNX LSTM, GRU and RNN on kerasless' recurrent cells. The weights are mapped once, at load,
 * to the Keras cells' layout (ONNX LSTM gates i,o,f,c -> Keras i,f,c,o; GRU z,r,h is Keras'
 * order; W [gates*u, in] -> kernel [in, gates*u]); each direction is one cell run by the same
 * sequence driver as the Keras layers. The only coupling to that code is ./cells.ts.
 */
import { formatShape } from "../../tensor.js";
import { bidirectionalPlan, type KernelPlan } from "../../kernels/plan.js";
import { runSequence, type SequenceOptions } from "../../kernels/recurrent/driver.js";
import { bindable, runtimeError, type BoundNode, type NodeReader, type OpDefinition, type OpKernel } from "./types.js";
import { elementCount, type Value, type ValueData } from "../values.js";
import { onnxActivation, type CellActivation } from "./activations.js";
import { makeCell, sequenceBuffers, type CellKind, type DirectionCell } from "./cells.js";

/** Keras gate block k comes from ONNX gate block GATE_ORDER[kind][k]. */
const GATE_ORDER: Record<CellKind, number[]> = { lstm: [0, 2, 3, 1], gru: [0, 1, 2], rnn: [0] };
const DEFAULT_ACTIVATIONS: Record<CellKind, string[]> = {
  lstm: ["Sigmoid", "Tanh", "Tanh"],
  gru: ["Sigmoid", "Tanh"],
  rnn: ["Tanh"],
};

/** W [gates*u, in] (one direction) -> kernel [in, gates*u] with gate blocks in Keras order. */
function kernelOf(w: Float32Array, offset: number, u: number, inputs: number, order: number[]): Float32Array {
  const width = order.length * u;
  const out = new Float32Array(inputs * width);
  order.forEach((from, to) => {
    for (let j = 0; j < u; j++) {
      const row = offset + (from * u + j) * inputs;
      for (let k = 0; k < inputs; k++) out[k * width + to * u + j] = w[row + k];
    }
  });
  return out;
}

function reorder(b: Float32Array, offset: number, u: number, order: number[]): Float32Array {
  const out = new Float32Array(order.length * u);
  order.forEach((from, to) => out.set(b.subarray(offset + from * u, offset + (from + 1) * u), to * u));
  return out;
}

function activationsOf(node: NodeReader, kind: CellKind, directions: number): CellActivation[] {
  const names = node.strings("activations") ?? [];
  const perDirection = DEFAULT_ACTIVATIONS[kind].length;
  const list = names.length > 0 ? names : Array.from({ length: directions }, () => DEFAULT_ACTIVATIONS[kind]).flat();
  if (list.length !== perDirection * directions) {
    node.unsupported(
      `${list.length} activations for ${directions} direction(s), expected ${perDirection * directions}`,
    );
    return [];
  }
  const alphas = node.floats("activation_alpha") ?? [];
  const betas = node.floats("activation_beta") ?? [];
  let a = 0;
  let b = 0;
  return list.map((name) => {
    const activation = onnxActivation(
      name,
      () => alphas[a++],
      () => betas[b++],
    );
    if (activation === null) node.unsupported(`activation ${name} is not supported`);
    return activation!;
  });
}

function recurrent(kind: CellKind): OpDefinition["prepare"] {
  return (node) => {
    const direction = node.string("direction", "forward");
    const directions = direction === "bidirectional" ? 2 : 1;
    if (!["forward", "reverse", "bidirectional"].includes(direction)) node.unsupported(`direction "${direction}"`);
    const layout = node.int("layout", 0);
    if (layout !== 0 && layout !== 1) node.unsupported(`layout ${layout}`);
    const u = node.int("hidden_size", 0);
    const W = node.requireConstant(1, "W");
    const R = node.requireConstant(2, "R");
    const B = node.inputName(3) === "" ? null : node.requireConstant(3, "B");
    const clip = node.has("clip") ? node.float("clip", 0) : Infinity;
    if (kind === "rnn" && node.has("clip")) node.unsupported("clip on RNN is not supported");
    const inputForget = kind === "lstm" && node.int("input_forget", 0) !== 0;
    const P = kind === "lstm" && node.inputName(7) !== "" ? node.requireConstant(7, "P") : null;
    const activations = activationsOf(node, kind, directions);
    if (W === undefined || R === undefined || B === undefined || P === undefined || activations.length === 0)
      return () => {
        throw node.error("not runnable");
      };
    const gates = GATE_ORDER[kind].length;
    const [wDirs, wRows, inputs] = W.shape;
    if (W.shape.length !== 3 || wDirs !== directions || (u !== 0 && wRows !== gates * u))
      throw node.error(`W has shape ${formatShape(W.shape)}`);
    const units = wRows / gates;
    if (R.shape.join() !== [directions, gates * units, units].join())
      throw node.error(`R has shape ${formatShape(R.shape)}`);
    if (B !== null && B.shape.join() !== [directions, 2 * gates * units].join())
      throw node.error(`B has shape ${formatShape(B.shape)}`);
    const linearBeforeReset = kind === "gru" && node.int("linear_before_reset", 0) === 1;
    const order = GATE_ORDER[kind];
    const perDirection = activations.length / directions;
    const cells: DirectionCell[] = [];
    for (let d = 0; d < directions; d++) {
      const w = W.data as Float32Array;
      const r = R.data as Float32Array;
      const kernel = kernelOf(w, d * gates * units * inputs, units, inputs, order);
      const recurrentKernel = kernelOf(r, d * gates * units * units, units, units, order);
      let bias: Float32Array | null = null;
      if (B !== null) {
        const b = B.data as Float32Array;
        const wb = reorder(b, d * 2 * gates * units, units, order);
        const rb = reorder(b, (d * 2 + 1) * gates * units, units, order);
        if (linearBeforeReset) {
          // Keras GRU reset_after: [input bias row, recurrent bias row].
          bias = new Float32Array(2 * gates * units);
          bias.set(wb);
          bias.set(rb, gates * units);
        } else {
          // One bias: the recurrent bias adds outside every activation's argument split (GRU's
          // candidate included: ONNX adds Rbh after the reset gate's product).
          bias = wb.map((v, i) => v + rb[i]);
        }
      }
      const acts = activations.slice(d * perDirection, (d + 1) * perDirection);
      if (P !== null && P.shape.join() !== [directions, 3 * units].join())
        throw node.error(`P has shape ${formatShape(P.shape)}`);
      const peepholes = P === null ? null : (P.data as Float32Array).slice(d * 3 * units, (d + 1) * 3 * units);
      const weights = { kernel, recurrentKernel, bias };
      cells.push(makeCell(kind, units, weights, acts, linearBeforeReset, { clip, inputForget, peepholes }));
    }
    const wantSequence = node.outputUsed(0);
    const run: RecurrentRun = {
      kind,
      cells,
      units,
      layout,
      direction,
      wantSequence,
      lengths: node.inputName(4) !== "",
    };
    const kernel = recurrentKernel(node, run, false);
    // Layout 0 reads X time-major: the batch-major form is for a graph whose Transpose before the
    // node is dropped (fuse.ts), which spares copying the sequence twice per call.
    return layout === 0 ? Object.assign(kernel, { batchMajorInput: recurrentKernel(node, run, true) }) : kernel;
  };
}

interface RecurrentRun {
  kind: CellKind;
  cells: DirectionCell[];
  units: number;
  layout: number;
  direction: string;
  /** Y is read by some node or is a graph output (else it is not computed). */
  wantSequence: boolean;
  /** The node takes sequence_lens. */
  lengths: boolean;
}

/** `batchMajorInput`: X comes as [batch, time, features] whatever the layout (a Transpose absorbed). */
function recurrentKernel(node: NodeReader, spec: RecurrentRun, batchMajorInput: boolean): OpKernel {
  const { kind, cells, units, layout, direction, wantSequence } = spec;
  const label = node.label;
  const stateCount = kind === "lstm" ? 2 : 1;
  const directions = cells.length;
  const plan = recurrentPlan(spec, batchMajorInput, node.node.outputs[0] ?? "");
  return bindable((inputs, carry = false): BoundNode => {
    const x = inputs[0]!;
    if (x.shape.length !== 3 || !(x.data instanceof Float32Array))
      throw runtimeError(label, `X has shape ${formatShape(x.shape)}`);
    const [batch, time, features] = layout === 0 && !batchMajorInput ? [x.shape[1], x.shape[0], x.shape[2]] : x.shape;
    // [time, batch] order is [batch, time] order when either is 1.
    const timeFirst = layout === 0 && !batchMajorInput && time > 1 && batch > 1;
    const xb = timeFirst ? new Float32Array(x.data.length) : x.data;
    const lengths = inputs[4] ?? null;
    const mask = lengths === null ? null : new Uint8Array(batch * time);
    const initial = [inputs[5] ?? null, kind === "lstm" ? (inputs[6] ?? null) : null].slice(0, stateCount);
    for (const s of initial)
      if (s !== null && elementCount(s.shape) !== directions * batch * units)
        throw runtimeError(label, `initial state of shape ${formatShape(s.shape)} for ${batch} x ${units}`);
    // Streams own their buffers; calls share a small workspace per direction.
    const runs = cells.map((cell) => sequenceBuffers(cell, batch, time, wantSequence, !carry));
    const backwards = (d: number): boolean => direction === "reverse" || d === 1;
    // One forward direction writes Y and the final states where the driver leaves them.
    const direct = carry && directions === 1 && (time === 1 || (!backwards(0) && (layout === 1 || batch === 1)));
    const yShape = layout === 0 ? [time, directions, batch, units] : [batch, time, directions, units];
    const stateShape = layout === 0 ? [directions, batch, units] : [batch, directions, units];
    const y =
      direct && wantSequence ? runs[0].output : new Float32Array(wantSequence ? batch * time * directions * units : 0);
    const finals = direct ? runs[0].states : runs[0].states.map(() => new Float32Array(directions * batch * units));
    let restart = true;
    const run = (): void => {
      if (timeFirst) transpose01(x.data as Float32Array, time, batch, features, xb);
      let masked = false;
      if (mask !== null)
        for (let b = 0; b < batch; b++)
          for (let t = 0; t < time; t++) {
            mask[b * time + t] = t < lengths!.data[b] ? 1 : 0;
            if (mask[b * time + t] === 0) masked = true;
          }
      for (let d = 0; d < directions; d++) {
        const buffers = runs[d];
        if (restart || !carry) {
          buffers.lastOutput.fill(0);
          for (let k = 0; k < stateCount; k++) {
            const s = initial[k];
            if (s === null) buffers.states[k].fill(0);
            else stateRows(s.data, d, batch, units, layout, directions, buffers.states[k], false);
          }
        }
        const options = SEQUENCE_OPTIONS[Number(backwards(d))][Number(wantSequence)];
        runSequence(cells[d].kernel, xb, batch, time, features, masked ? mask : null, options, buffers);
        if (direct) continue;
        if (wantSequence) sequenceRows(buffers.output, d, batch, time, units, layout, directions, backwards(d), y);
        for (let k = 0; k < stateCount; k++)
          stateRows(finals[k], d, batch, units, layout, directions, buffers.states[k], true);
      }
      restart = false;
    };
    const carried = carry
      ? { buffers: runs.flatMap((r) => r.states), restart: () => void (restart = true) }
      : undefined;
    return {
      outputs: [
        { type: "float", shape: yShape, data: y },
        ...finals.map((data): Value => ({ type: "float", shape: stateShape, data })),
      ],
      run,
      carried,
    };
  }, plan);
}

/** The cells' plan (both directions'), and what the node does around them. */
function recurrentPlan(spec: RecurrentRun, batchMajorInput: boolean, yName: string): KernelPlan {
  const plans = spec.cells.map((c) => c.kernel.plan);
  const cells = plans.length === 2 ? bidirectionalPlan(plans[0], plans[1]) : plans[0];
  const around: string[] = [];
  if (batchMajorInput) around.push("X read as [batch, time, features], the order the cells read: no copy per call");
  else if (spec.layout === 0)
    around.push("layout 0: X [time, batch, features] is copied into [batch, time] order per call (batch and time > 1)");
  if (yName !== "" && !spec.wantSequence) around.push(`Y ("${yName}") is not computed: no node reads it`);
  if (spec.lengths)
    around.push("sequence_lens: a call where a row is shorter than the sequence masks its steps past the end");
  return { backend: cells.backend, why: [...cells.why, ...around] };
}

/** By [backwards][returnSequences]; ONNX sequence_lens: steps past a row's length output zeros. */
const SEQUENCE_OPTIONS: SequenceOptions[][] = [false, true].map((goBackwards) =>
  [false, true].map((returnSequences) => ({ goBackwards, returnSequences, zeroOutputForMask: true })),
);

/** [time, batch, features] to [batch, time, features]. */
function transpose01(x: Float32Array, time: number, batch: number, features: number, out: Float32Array): void {
  for (let t = 0; t < time; t++)
    for (let b = 0; b < batch; b++)
      for (let f = 0; f < features; f++) out[(b * time + t) * features + f] = x[(t * batch + b) * features + f];
}

/**
 * Direction d's rows of a state in ONNX layout ([dirs, batch, units] or [batch, dirs, units])
 * against `rows` ([batch, units]): read into `rows`, or written from them (`write`).
 */
function stateRows(
  onnx: ValueData,
  d: number,
  batch: number,
  units: number,
  layout: number,
  dirs: number,
  rows: Float32Array,
  write: boolean,
): void {
  for (let b = 0; b < batch; b++) {
    const at = layout === 0 ? (d * batch + b) * units : (b * dirs + d) * units;
    for (let j = 0; j < units; j++) {
      if (write) onnx[at + j] = rows[b * units + j];
      else rows[b * units + j] = onnx[at + j];
    }
  }
}

/** The driver's [batch, step, units] (in processing order) into direction d of Y. */
function sequenceRows(
  sequence: Float32Array,
  d: number,
  batch: number,
  time: number,
  units: number,
  layout: number,
  dirs: number,
  backwards: boolean,
  y: Float32Array,
): void {
  for (let b = 0; b < batch; b++)
    for (let s = 0; s < time; s++) {
      const t = backwards ? time - 1 - s : s;
      const to = layout === 0 ? ((t * dirs + d) * batch + b) * units : ((b * time + t) * dirs + d) * units;
      const from = (b * time + s) * units;
      for (let j = 0; j < units; j++) y[to + j] = sequence[from + j];
    }
}

const common = ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"];

export const recurrentOps: OpDefinition[] = [
  {
    opType: "LSTM",
    family: "recurrent",
    since: 7,
    attributes: [...common, "input_forget"],
    prepare: recurrent("lstm"),
  },
  {
    opType: "GRU",
    family: "recurrent",
    since: 7,
    attributes: [...common, "linear_before_reset"],
    prepare: recurrent("gru"),
  },
  {
    opType: "RNN",
    family: "recurrent",
    since: 7,
    attributes: common,
    prepare: recurrent("rnn"),
  },
];
