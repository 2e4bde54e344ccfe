/** Ops that move or describe data without arithmetic: shapes, reshapes, slicing, gathering. */
import { formatShape } from "../../tensor.js";
import { allocate, checkedCount, elementCount, type Value } from "../values.js";
import { gatherOffsets, stridesOf } from "../../layers/ops/kernels.js";
import { broadcastShape, sourceIndex } from "./broadcast.js";
import {
  axisOf,
  bindable,
  intsOf,
  pureOps,
  runtimeError,
  type BoundNode,
  type NodeReader,
  type OpDefinition,
  type OpKernel,
} from "./types.js";

const ints = (values: number[]): Value => ({ type: "int", shape: [values.length], data: Float64Array.from(values) });
const view = (v: Value, shape: readonly number[]): Value => ({ type: v.type, shape, data: v.data });
/** Ops whose outputs share their input's data (or are fixed once bound): nothing to run. */
const views = (outputs: (inputs: readonly (Value | null)[]) => Value[]): OpKernel =>
  bindable((inputs) => ({ outputs: outputs(inputs), run: () => {} }));

const op = pureOps("shape");

/** Axes from an attribute (older opsets) or the optional second input (newer ones). */
function axesFrom(node: NodeReader, inputs: readonly (Value | null)[], index: number): number[] | null {
  const attribute = node.ints("axes");
  if (attribute !== null) return attribute;
  const v = inputs[index];
  return v == null ? null : intsOf(v);
}

export function transposeValue(x: Value, perm: readonly number[]): Value {
  const bound = bindTranspose(x, perm);
  bound.run();
  return bound.outputs[0];
}

export function bindTranspose(x: Value, perm: readonly number[]): BoundNode {
  const inStrides = stridesOf(x.shape);
  // Output element k reads source element offsets[k].
  const offsets = gatherOffsets(
    perm.map((p) => x.shape[p]),
    perm.map((p) => inStrides[p]),
    0,
  );
  return bindOffsets(
    x,
    perm.map((p) => x.shape[p]),
    offsets,
  );
}

/** Output element k is x's element offsets[k]: the offsets are made once, each run only copies. */
export function bindOffsets(x: Value, shape: readonly number[], offsets: Int32Array): BoundNode {
  const out = allocate(x.type, offsets.length);
  const src = x.data;
  const run = (): void => {
    for (let k = 0; k < offsets.length; k++) out[k] = src[offsets[k]];
  };
  return { outputs: [{ type: x.type, shape, data: out }], run };
}

/** `count` entries of `axis` from `start` by `step`: the output, and the copy into it. */
function bindSliceAxis(x: Value, axis: number, start: number, step: number, count: number): BoundNode {
  const shape = x.shape.slice();
  shape[axis] = count;
  const inner = elementCount(x.shape.slice(axis + 1));
  const outer = elementCount(x.shape.slice(0, axis));
  const dim = x.shape[axis];
  const out = allocate(x.type, outer * count * inner);
  const src = x.data;
  const run = (): void => {
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (let k = 0; k < count; k++) {
        const from = (b * dim + start + k * step) * inner;
        for (let j = 0; j < inner; j++) out[o++] = src[from + j];
      }
    }
  };
  return { outputs: [{ type: x.type, shape, data: out }], run };
}

/** Nodes run one after the other, the last one's outputs being theirs (none: the input as it is). */
function chain(input: Value, nodes: BoundNode[]): BoundNode {
  return {
    outputs: nodes.length === 0 ? [input] : nodes[nodes.length - 1].outputs,
    run() {
      for (let i = 0; i < nodes.length; i++) nodes[i].run();
    },
  };
}

function bindConcat(values: Value[], axis: number, label: string): BoundNode {
  const first = values[0];
  const rank = first.shape.length;
  const a = axisOf(axis, rank, label);
  const shape = first.shape.slice();
  shape[a] = 0;
  for (const v of values) {
    if (v.shape.length !== rank || v.shape.some((d, i) => i !== a && d !== first.shape[i]))
      throw runtimeError(label, `cannot concatenate shapes ${values.map((x) => formatShape(x.shape)).join(", ")}`);
    shape[a] += v.shape[a];
  }
  const outer = elementCount(shape.slice(0, a));
  const inner = elementCount(shape.slice(a + 1));
  const out = allocate(first.type, elementCount(shape));
  const run = (): void => {
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (let k = 0; k < values.length; k++) {
        const data = values[k].data;
        const block = values[k].shape[a] * inner;
        for (let j = 0; j < block; j++) out[o++] = data[b * block + j];
      }
    }
  };
  return { outputs: [{ type: first.type, shape, data: out }], run };
}

function reshape(x: Value, spec: number[], allowZero: boolean, label: string): Value {
  const shape = spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const unknown = shape.indexOf(-1);
  if (unknown >= 0) shape[unknown] = known === 0 ? 0 : x.data.length / known;
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || elementCount(shape) !== x.data.length)
    throw runtimeError(label, `cannot reshape ${formatShape(x.shape)} to ${formatShape(spec)}`);
  return view(x, shape);
}

function bindGather(x: Value, indices: Value, axis: number, label: string): BoundNode {
  const a = axisOf(axis, x.shape.length, label);
  const dim = x.shape[a];
  const outer = elementCount(x.shape.slice(0, a));
  const inner = elementCount(x.shape.slice(a + 1));
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const count = indices.data.length;
  const out = allocate(x.type, outer * count * inner);
  const run = (): void => {
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (let k = 0; k < count; k++) {
        let index = indices.data[k];
        if (index < 0) index += dim;
        if (!(index >= 0 && index < dim))
          throw runtimeError(label, `index ${indices.data[k]} is out of range for ${dim}`);
        const from = (b * dim + index) * inner;
        for (let j = 0; j < inner; j++) out[o++] = x.data[from + j];
      }
    }
  };
  return { outputs: [{ type: x.type, shape, data: out }], run };
}

function bindSlice(node: NodeReader, inputs: readonly (Value | null)[]): BoundNode {
  const input = inputs[0]!;
  let x = input;
  const copies: BoundNode[] = [];
  const starts = intsOf(inputs[1]!);
  const ends = intsOf(inputs[2]!);
  const rank = x.shape.length;
  const axes = inputs[3] == null ? starts.map((_, i) => i) : intsOf(inputs[3]);
  const steps = inputs[4] == null ? starts.map(() => 1) : intsOf(inputs[4]);
  for (let k = 0; k < axes.length; k++) {
    const axis = axisOf(axes[k], rank, node.label);
    const dim = x.shape[axis];
    const step = steps[k];
    if (step === 0) throw runtimeError(node.label, "a step of 0");
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const start = step > 0 ? clamp(starts[k], 0, dim) : clamp(starts[k], -1, dim - 1);
    const end = step > 0 ? clamp(ends[k], 0, dim) : clamp(ends[k], -1, dim - 1);
    const count = Math.max(0, Math.ceil((end - start) / step));
    if (count === dim && step === 1) continue;
    copies.push(bindSliceAxis(x, axis, start, step, count));
    x = copies[copies.length - 1].outputs[0];
  }
  return chain(input, copies);
}

function expand(x: Value, target: number[], label: string): Value {
  const shape = broadcastShape([x.shape, target], label);
  checkedCount(shape, `${label}'s output`);
  const index = sourceIndex(shape, x.shape);
  if (index === null) return x;
  const expanded = bindOffsets(x, shape, index);
  expanded.run();
  return expanded.outputs[0];
}

function splitSizes(node: NodeReader, inputs: readonly (Value | null)[], dim: number): number[] {
  const given = node.ints("split") ?? (inputs[1] == null ? null : intsOf(inputs[1]));
  if (given !== null) return given;
  const parts = node.int("num_outputs", node.node.outputs.length);
  const size = Math.ceil(dim / parts);
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(size, dim - i * size)));
}

export const shapeOps: OpDefinition[] = [
  op("Identity", 1, [], () => views((inputs) => [inputs[0]!])),
  op("Dropout", 7, ["seed", "ratio"], () =>
    views((inputs) => [
      inputs[0]!,
      { type: "bool", shape: inputs[0]!.shape, data: new Uint8Array(inputs[0]!.data.length).fill(1) },
    ]),
  ),
  op("Shape", 1, ["start", "end"], (node) => ([x]) => {
    const rank = x!.shape.length;
    const norm = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
    return [ints(x!.shape.slice(norm(node.int("start", 0)), norm(node.int("end", rank)))) as Value];
  }),
  op("Size", 1, [], () => ([x]) => [{ type: "int", shape: [], data: Float64Array.of(x!.data.length) }]),
  op("Constant", 1, ["value", "value_float", "value_floats", "value_int", "value_ints"], (node) => {
    const t = node.tensor("value");
    let value: Value | null = t;
    if (node.has("value_float"))
      value = { type: "float", shape: [], data: Float32Array.of(node.float("value_float", 0)) };
    if (node.has("value_floats"))
      value = {
        type: "float",
        shape: [node.floats("value_floats")!.length],
        data: Float32Array.from(node.floats("value_floats")!),
      };
    if (node.has("value_int")) value = { type: "int", shape: [], data: Float64Array.of(node.int("value_int", 0)) };
    if (node.has("value_ints")) value = ints(node.ints("value_ints")!);
    if (value === null) node.unsupported("a Constant without a value kerasless reads");
    return () => [value!];
  }),
  op("ConstantOfShape", 9, ["value"], (node) => {
    const fill = node.tensor("value") ?? { type: "float", shape: [1], data: Float32Array.of(0) };
    return ([shape]) => {
      const dims = intsOf(shape!);
      const count = checkedCount(dims, `${node.label}'s output`);
      const out = allocate(fill.type, count);
      out.fill(fill.data[0]);
      return [{ type: fill.type, shape: dims, data: out }];
    };
  }),
  op("Reshape", 5, ["allowzero"], (node) =>
    views(([x, shape]) => [reshape(x!, intsOf(shape!), node.int("allowzero", 0) === 1, node.label)]),
  ),
  op("Flatten", 1, ["axis"], (node) =>
    views(([x]) => {
      const axis = node.int("axis", 1);
      const a = axis < 0 ? axis + x!.shape.length : axis;
      return [view(x!, [elementCount(x!.shape.slice(0, a)), elementCount(x!.shape.slice(a))])];
    }),
  ),
  op("Squeeze", 1, ["axes"], (node) =>
    views((inputs) => {
      const x = inputs[0]!;
      const axes = axesFrom(node, inputs, 1)?.map((a) => axisOf(a, x.shape.length, node.label));
      const shape = x.shape.filter((d, i) => (axes === undefined ? d !== 1 : !axes.includes(i)));
      if (axes?.some((a) => x.shape[a] !== 1)) throw runtimeError(node.label, `cannot squeeze ${formatShape(x.shape)}`);
      return [view(x, shape)];
    }),
  ),
  op("Unsqueeze", 1, ["axes"], (node) =>
    views((inputs) => {
      const x = inputs[0]!;
      const axes = axesFrom(node, inputs, 1) ?? [];
      const rank = x.shape.length + axes.length;
      const normalized = axes.map((a) => axisOf(a, rank, node.label));
      const shape: number[] = [];
      let k = 0;
      for (let i = 0; i < rank; i++) shape.push(normalized.includes(i) ? 1 : x.shape[k++]);
      return [view(x, shape)];
    }),
  ),
  op("Transpose", 1, ["perm"], (node) =>
    bindable(([x]) => {
      const perm = node.ints("perm") ?? x!.shape.map((_, i) => x!.shape.length - 1 - i);
      if (perm.length !== x!.shape.length)
        throw runtimeError(node.label, `perm ${perm.join(",")} for rank ${x!.shape.length}`);
      return bindTranspose(x!, perm);
    }),
  ),
  op("Concat", 4, ["axis"], (node) =>
    bindable((inputs) =>
      bindConcat(
        inputs.filter((v): v is Value => v !== null),
        node.int("axis", 0),
        node.label,
      ),
    ),
  ),
  op("Split", 2, ["axis", "split", "num_outputs"], (node) =>
    bindable((inputs) => {
      const x = inputs[0]!;
      const axis = axisOf(node.int("axis", 0), x.shape.length, node.label);
      const sizes = splitSizes(node, inputs, x.shape[axis]);
      if (sizes.reduce((a, b) => a + b, 0) !== x.shape[axis])
        throw runtimeError(node.label, `split ${sizes.join(",")} of ${x.shape[axis]}`);
      let start = 0;
      const parts = sizes.map((size) => {
        const part = bindSliceAxis(x, axis, start, 1, size);
        start += size;
        return part;
      });
      return { outputs: parts.map((p) => p.outputs[0]), run: chain(x, parts).run };
    }),
  ),
  op("Slice", 10, [], (node) => bindable((inputs) => bindSlice(node, inputs))),
  op("Gather", 1, ["axis"], (node) =>
    bindable(([x, indices]) => bindGather(x!, indices!, node.int("axis", 0), node.label)),
  ),
  op("Expand", 8, [], (node) => ([x, shape]) => [expand(x!, intsOf(shape!), node.label)]),
  op("Range", 11, [], (node) => ([start, limit, delta]) => {
    const [s, l, d] = [start!.data[0], limit!.data[0], delta!.data[0]];
    const count = Math.max(0, Math.ceil((l - s) / d));
    checkedCount([count], `${node.label}'s output`);
    const out = allocate(start!.type, count);
    for (let i = 0; i < count; i++) out[i] = s + i * d;
    return [{ type: start!.type, shape: [count], data: out }];
  }),
];
