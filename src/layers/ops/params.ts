/** Reading an op call's arguments by name, and the shape rules ops share, checked at load. */
import { KeraslessError } from "../../errors.js";
import { describe } from "../config.js";
import type { Shape } from "../layer.js";
import { Tensor } from "../../tensor.js";
import { ELLIPSIS, SliceArg, TensorArg, type OpCall, type OpValue } from "./values.js";

/** An op bound to its call at load: its output shapes and how to compute them. */
export interface BoundOp {
  readonly shapes: readonly Shape[];
  run(inputs: readonly Tensor[]): Tensor[];
}

/** A one-output op. */
export function single(shape: Shape, run: (inputs: readonly Tensor[]) => Tensor): BoundOp {
  return { shapes: [shape], run: (inputs) => [run(inputs)] };
}

export function opError(op: string, problem: string): KeraslessError {
  return new KeraslessError("E_UNSUPPORTED", `op ${op}: ${problem}`);
}

/** A tensor operand: a call input, or a numeric constant (a number or nested lists). */
export type Operand = { readonly shape: Shape; value(inputs: readonly Tensor[]): Tensor };

export class OpParams {
  private readonly values = new Map<string, OpValue>();
  private readonly used = new Set<string>();

  /**
   * `names`: the Python parameters in positional order (tf function or Keras op call); a last
   * name `*name` collects the remaining positional arguments as a list (Python's `*args`).
   */
  constructor(
    readonly op: string,
    call: OpCall,
    names: readonly string[],
    readonly shapes: readonly Shape[],
  ) {
    const rest = names.length > 0 && names[names.length - 1].startsWith("*") ? names.length - 1 : -1;
    if (rest >= 0) this.values.set(names[rest].slice(1), call.args.slice(rest));
    else if (call.args.length > names.length) throw opError(op, `takes ${names.length} positional arguments`);
    call.args.forEach((v, i) => {
      if (rest < 0 || i < rest) this.values.set(names[i], v);
    });
    for (const [k, v] of Object.entries(call.kwargs)) this.values.set(k, v);
  }

  has(name: string): boolean {
    return this.values.has(name) && this.values.get(name) !== null;
  }

  raw(name: string): OpValue | undefined {
    this.used.add(name);
    return this.values.get(name);
  }

  /** Refuses the arguments no read took (and that are not their default value). */
  checkAllRead(defaults: Readonly<Record<string, OpValue>> = {}): void {
    for (const [k, v] of this.values) {
      if (this.used.has(k) || v === null || v === defaults[k]) continue;
      throw opError(this.op, `argument ${k}=${describe(v)} is not supported`);
    }
  }

  int(name: string, fallback?: number): number {
    const v = this.raw(name) ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v)) throw opError(this.op, `${name} must be an integer`);
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name) ?? fallback;
    if (typeof v !== "boolean") throw opError(this.op, `${name} must be true or false`);
    return v;
  }

  number(name: string, fallback?: number): number {
    const v = this.raw(name) ?? fallback;
    if (typeof v !== "number") throw opError(this.op, `${name} must be a number`);
    return v;
  }

  string(name: string, fallback?: string): string {
    const v = this.raw(name) ?? fallback;
    if (typeof v !== "string") throw opError(this.op, `${name} must be a string`);
    return v;
  }

  /** An integer, a list of integers, or null (undefined). */
  ints(name: string): number[] | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((d) => typeof d === "number" && Number.isInteger(d)))
      throw opError(this.op, `${name} ${describe(v)} must be integers`);
    return list as number[];
  }

  tensor(name: string): TensorArg {
    const v = this.raw(name);
    if (!(v instanceof TensorArg)) throw opError(this.op, `${name} must be a Keras tensor (got ${describe(v)})`);
    return v;
  }

  tensors(name: string): TensorArg[] {
    const v = this.raw(name);
    if (!Array.isArray(v) || !v.every((t) => t instanceof TensorArg))
      throw opError(this.op, `${name} must be a list of Keras tensors`);
    return v as TensorArg[];
  }

  operand(name: string): Operand {
    return this.toOperand(name, this.raw(name));
  }

  /** A list of operands (tensors or constants), e.g. einsum's inputs. */
  operandList(name: string): Operand[] {
    const v = this.raw(name);
    if (!Array.isArray(v) || v.length === 0) throw opError(this.op, `${name} must be a list of tensors`);
    return v.map((item: OpValue) => this.toOperand(name, item));
  }

  private toOperand(name: string, v: OpValue | undefined): Operand {
    if (v instanceof TensorArg) return { shape: this.shapes[v.index], value: (inputs) => inputs[v.index] };
    const constant = constantTensor(v);
    if (constant === undefined) throw opError(this.op, `${name} ${describe(v)} is neither a tensor nor a number`);
    return { shape: constant.shape, value: () => constant };
  }
}

function constantTensor(v: OpValue | undefined): Tensor | undefined {
  if (typeof v === "number") return new Tensor([], Float32Array.of(v));
  if (typeof v === "boolean") return new Tensor([], Float32Array.of(v ? 1 : 0));
  const shape: number[] = [];
  for (let level: OpValue | undefined = v; Array.isArray(level); level = (level as OpValue[])[0])
    shape.push((level as OpValue[]).length);
  const flat: unknown[] = Array.isArray(v) ? (v as unknown[]).flat(shape.length) : [];
  const size = shape.reduce((a, b) => a * b, 1);
  if (!Array.isArray(v) || flat.length !== size || !flat.every((x) => typeof x === "number")) return undefined;
  return new Tensor(shape, Float32Array.from(flat as number[]));
}

/** Python's axis normalization: -rank <= axis < rank. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) throw opError(op, `axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** NumPy broadcasting of shapes with unknown (null) dimensions. */
export function broadcastSymbolic(op: string, a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: (number | null)[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - rank + a.length >= 0 ? a[i - rank + a.length] : 1;
    const db = i - rank + b.length >= 0 ? b[i - rank + b.length] : 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else if (da === null) out.push(db);
    else if (db === null) out.push(da);
    else throw opError(op, `shapes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`);
  }
  return out;
}

export function isSlicePart(v: OpValue): boolean {
  return typeof v === "number" || v === null || v === ELLIPSIS || v instanceof SliceArg || v instanceof TensorArg;
}
