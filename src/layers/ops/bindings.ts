/** The bindings many ops share: elementwise with broadcasting, reductions, element-moving reshapes. */
import { Tensor } from "../../tensor.js";
import type { Shape } from "../layer.js";
import type { TensorArg } from "./values.js";
import { binary, reduce, unary } from "./kernels.js";
import { broadcastSymbolic, normalizeAxis, single, type BoundOp, type OpParams } from "./params.js";

export type Bind = (p: OpParams) => BoundOp;

/** One op kerasless runs: the names that call it in both config formats, and its binding. */
export interface OpDefinition {
  /** What the docs call it. */
  readonly name: string;
  /** tf.keras `function` names (without "tf."). */
  readonly tf: readonly string[];
  /** Parameters of the TensorFlow function, in positional order (binding uses these names). */
  readonly params: readonly string[];
  /** Keras 3 op classes. */
  readonly keras: readonly string[];
  /** The Keras 3 op's call parameters in positional order, and its config keys, as TF's names. */
  readonly kerasParams: readonly string[];
  readonly kerasNames?: Readonly<Record<string, string>>;
  readonly summary: string;
  bind(p: OpParams): BoundOp;
}

export interface OpNames {
  readonly tf: readonly string[];
  readonly params: readonly string[];
  readonly keras: readonly string[];
  /** Defaults to `params`. */
  readonly kerasParams?: readonly string[];
  readonly kerasNames?: Readonly<Record<string, string>>;
}

/** An op whose first parameter is a Keras tensor: `bind` gets it and its shape. */
export function tensorOp(
  name: string,
  summary: string,
  names: OpNames,
  bind: (p: OpParams, x: TensorArg, shape: Shape) => BoundOp,
): OpDefinition {
  return define(name, summary, names, (p) => {
    const x = p.tensor(names.params[0]);
    return bind(p, x, p.shapes[x.index]);
  });
}

/** An op: its name, what the docs say is supported, the names that call it, its binding. */
export function define(name: string, summary: string, names: OpNames, bind: Bind): OpDefinition {
  return { ...names, name, kerasParams: names.kerasParams ?? names.params, summary, bind };
}

export function elementwise(f: (a: number, b: number) => number): Bind {
  return (p) => {
    const [x, y] = [p.operand("x"), p.operand("y")];
    p.checkAllRead();
    const shape = broadcastSymbolic(p.op, x.shape, y.shape);
    return single(shape, (inputs) => binary(x.value(inputs), y.value(inputs), f));
  };
}

export function pointwise(param: string, f: (v: number) => number): Bind {
  return (p) => {
    const x = p.operand(param);
    p.checkAllRead();
    return single(x.shape, (inputs) => unary(x.value(inputs), f));
  };
}

export function reduction(
  init: number,
  step: (acc: number, v: number) => number,
  finish = (acc: number, _n: number) => acc,
): Bind {
  return (p) => {
    const x = p.operand("input_tensor");
    const rank = x.shape.length;
    // tf.compat.v1 spellings: reduction_indices, keep_dims.
    const axisList = p.ints("axis") ?? p.ints("reduction_indices") ?? x.shape.map((_, i) => i);
    const axes = [...new Set(axisList.map((a) => normalizeAxis(p.op, a, rank)))].sort((a, b) => a - b);
    const keepdims = p.bool("keepdims", p.bool("keep_dims", false));
    p.checkAllRead();
    const shape = keepdims
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    return single(shape, (inputs) => reduce(x.value(inputs), axes, keepdims, init, step, finish));
  };
}

/** Ops that only move or relabel elements: the data is copied unchanged into a new shape. */
export function reshaped(p: OpParams, param: string, shapeOf: (s: Shape) => Shape): BoundOp {
  const x = p.tensor(param);
  const shape = shapeOf(p.shapes[x.index]);
  return single(shape, (inputs) => {
    const t = inputs[x.index];
    const known = shape.map((d, i) => d ?? (i === 0 ? t.shape[0] : -1));
    const fixed = known.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
    return new Tensor(
      known.map((d) => (d < 0 ? t.size / fixed : d)),
      t.data,
    );
  });
}
