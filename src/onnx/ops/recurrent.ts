/**
 * ONNX LSTM, GRU and RNN on kerasless' recurrent cells. The weights are mapped once, at load,
 * to the Keras cells' layout (ONNX LSTM gates i,o,f,c -> Keras i,f,c,o; GRU z,r,h is Keras'
 * order; W [gates*u, in] -> kernel [in, gates*u]); each direction is one cell run by the same
 * sequence driver as the Keras layers. The only coupling to that code is ./cells.ts.
 */
import { runtimeError, type NodeReader, type OpDefinition, type OpKernel } from "./types.js";
import { transposeValue } from "./shape.js";
import { elementCount, type Value } from "../values.js";
import { onnxActivation, type CellActivation } from "./activations.js";
import { makeCell, runCell, type CellKind, type DirectionCell } from "./cells.js";

/** Keras gate block k comes from ONNX gate block GATE_ORDER[kind][k]. */
const GATE_ORDER: Record<CellKind, number[]> = { lstm: [0, 2, 3, 1], gru: [0, 1, 2], rnn: [0] };
const GATE_COUNT: Record<CellKind, number> = { lstm: 4, gru: 3, rnn: 1 };
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
    const gates = GATE_COUNT[kind];
    const [wDirs, wRows, inputs] = W.shape;
    if (W.shape.length !== 3 || wDirs !== directions || (u !== 0 && wRows !== gates * u))
      throw node.error(`W has shape [${W.shape.join(", ")}]`);
    const units = wRows / gates;
    if (R.shape.join() !== [directions, gates * units, units].join())
      throw node.error(`R has shape [${R.shape.join(", ")}]`);
    if (B !== null && B.shape.join() !== [directions, 2 * gates * units].join())
      throw node.error(`B has shape [${B.shape.join(", ")}]`);
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
        throw node.error(`P has shape [${P.shape.join(", ")}]`);
      const peepholes = P === null ? null : (P.data as Float32Array).slice(d * 3 * units, (d + 1) * 3 * units);
      const weights = { kernel, recurrentKernel, bias };
      cells.push(makeCell(kind, units, weights, acts, linearBeforeReset, { clip, inputForget, peepholes }));
    }
    return recurrentKernel(node, kind, cells, units, layout, direction);
  };
}

function recurrentKernel(
  node: NodeReader,
  kind: CellKind,
  cells: DirectionCell[],
  units: number,
  layout: number,
  direction: string,
): OpKernel {
  const label = node.label;
  const outputs = node.node.outputs;
  const wantSequence = (outputs[0] ?? "") !== "";
  const stateCount = kind === "lstm" ? 2 : 1;
  const directions = cells.length;
  return (inputs) => {
    const x = inputs[0]!;
    if (x.shape.length !== 3) throw runtimeError(label, `X has shape [${x.shape.join(", ")}]`);
    const xb = layout === 0 ? transposeValue(x, [1, 0, 2]) : x;
    const [batch, time, features] = xb.shape;
    const lengths = inputs[4] ?? null;
    let mask: Uint8Array | null = null;
    if (lengths !== null && Array.from(lengths.data).some((l) => l !== time)) {
      mask = new Uint8Array(batch * time);
      for (let b = 0; b < batch; b++) for (let t = 0; t < time && t < lengths.data[b]; t++) mask[b * time + t] = 1;
    }
    const initial = [inputs[5] ?? null, kind === "lstm" ? (inputs[6] ?? null) : null].slice(0, stateCount);
    const y = wantSequence ? new Float32Array(batch * time * directions * units) : null;
    const finals = Array.from({ length: stateCount }, () => new Float32Array(directions * batch * units));
    for (let d = 0; d < directions; d++) {
      const backwards = direction === "reverse" || d === 1;
      const start = initial.map((s) => (s === null ? null : stateRows(s, d, batch, units, layout, directions)));
      const result = runCell(
        cells[d],
        xb.data as Float32Array,
        batch,
        time,
        features,
        mask,
        backwards,
        wantSequence,
        start,
      );
      if (y !== null) {
        // result.sequence is [batch, step, units] in processing order.
        for (let b = 0; b < batch; b++)
          for (let s = 0; s < time; s++) {
            const t = backwards ? time - 1 - s : s;
            const to =
              layout === 0 ? ((t * directions + d) * batch + b) * units : ((b * time + t) * directions + d) * units;
            y.set(result.sequence!.subarray((b * time + s) * units, (b * time + s + 1) * units), to);
          }
      }
      result.states.forEach((state, k) => {
        for (let b = 0; b < batch; b++) {
          const to = layout === 0 ? (d * batch + b) * units : (b * directions + d) * units;
          finals[k].set(state.subarray(b * units, (b + 1) * units), to);
        }
      });
    }
    const yShape = layout === 0 ? [time, directions, batch, units] : [batch, time, directions, units];
    const stateShape = layout === 0 ? [directions, batch, units] : [batch, directions, units];
    return [
      { type: "float", shape: yShape, data: y ?? new Float32Array(0) },
      ...finals.map((data): Value => ({ type: "float", shape: stateShape, data })),
    ];
  };
}

/** Direction d's rows of an initial state, as [batch, units]. */
function stateRows(s: Value, d: number, batch: number, units: number, layout: number, dirs: number): Float32Array {
  if (elementCount(s.shape) !== dirs * batch * units)
    throw runtimeError("initial state", `shape [${s.shape.join(", ")}] does not hold ${dirs} x ${batch} x ${units}`);
  const out = new Float32Array(batch * units);
  for (let b = 0; b < batch; b++) {
    const from = layout === 0 ? (d * batch + b) * units : (b * dirs + d) * units;
    out.set(s.data.subarray(from, from + units), b * units);
  }
  return out;
}

const common = ["activation_alpha", "activation_beta", "activations", "clip", "direction", "hidden_size", "layout"];

export const recurrentOps: OpDefinition[] = [
  {
    opType: "LSTM",
    family: "recurrent",
    since: 7,
    attributes: [...common, "input_forget"],
    summary:
      "forward, reverse, bidirectional; `layout` 0/1; `initial_h`/`initial_c`; `sequence_lens`; `clip`; " +
      "`input_forget`; peepholes `P`; all ONNX activations with `activation_alpha`/`activation_beta`",
    prepare: recurrent("lstm"),
  },
  {
    opType: "GRU",
    family: "recurrent",
    since: 7,
    attributes: [...common, "linear_before_reset"],
    summary: "as LSTM (no `input_forget`, `P`); `linear_before_reset` 0 and 1",
    prepare: recurrent("gru"),
  },
  {
    opType: "RNN",
    family: "recurrent",
    since: 7,
    attributes: common,
    summary: "as LSTM (no `clip`, `input_forget`, `P`)",
    prepare: recurrent("rnn"),
  },
];
