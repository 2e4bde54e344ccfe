/** What an ONNX operator is to kerasless: its checks at load and the kernel it leaves to run. */
import { KeraslessError } from "../../errors.js";
import type { KernelPlan } from "../../kernels/plan.js";
import type { OnnxGraph } from "../graph.js";
import { nodeLabel, type OnnxAttribute, type OnnxGraphProto, type OnnxNode } from "../proto.js";
import { decodeTensorProto, type Value } from "../values.js";

/** Runs one node: inputs in the node's order (null for an omitted optional input). */
export interface OpKernel {
  (inputs: readonly (Value | null)[]): Value[];
  /** Ops a stream steps through have this form too (see BoundNode). */
  readonly bind?: NodeBinder;
  /** Which backend runs the node and why (recurrent ops, products, convolutions). */
  readonly plan?: KernelPlan;
  /**
   * Values of enclosing graphs that the node reads without listing them (a Loop body's outer
   * values), by name: the graph gives them to the kernel after the node's own inputs.
   */
  readonly implicitInputs?: readonly string[];
  /** The node's subgraph, planned at load (a Loop body): for summaries. */
  readonly subgraph?: OnnxGraph;
  /**
   * Recurrent ops of layout 0: the same node reading X as [batch, time, features], for a plan
   * that drops the Transpose an exporter put before it (../fuse.ts).
   */
  readonly batchMajorInput?: OpKernel;
}

/**
 * A node bound to inputs whose shapes stay fixed (a stream's steps): its outputs are allocated
 * once, when it is bound, and run() recomputes them from the inputs' current data, allocating
 * nothing. Values whose data is only read here (axes, starts, shapes) are read when binding.
 */
export interface BoundNode {
  readonly outputs: readonly Value[];
  run(): void;
  /** Recurrent nodes bound with `carry`: the states carried from run to run. */
  readonly carried?: CarriedStates;
}

export interface CarriedStates {
  /** Live state buffers (each direction's h, then c), [batch, units] each. */
  readonly buffers: readonly Float32Array[];
  /** The next run starts again from the node's initial states. */
  restart(): void;
}

/** `carry`: recurrent nodes start each run from the states the previous run ended with. */
export type NodeBinder = (inputs: readonly (Value | null)[], carry?: boolean) => BoundNode;

/** The kernel of an op written in bound form: bind and run once per call. */
export function bindable(bind: NodeBinder, plan?: KernelPlan): OpKernel {
  const kernel = (inputs: readonly (Value | null)[]): Value[] => {
    const bound = bind(inputs);
    bound.run();
    return bound.outputs as Value[];
  };
  return Object.assign(kernel, { bind, plan });
}

export interface OpDefinition {
  readonly opType: string;
  /** Grouping in the generated docs table. */
  readonly family: string;
  /** The earliest opset whose semantics kerasless implements for this op. */
  readonly since: number;
  /** The attributes kerasless reads; any other attribute on the node is reported. */
  readonly attributes: readonly string[];
  /** True when the op's outputs depend only on its inputs (so constants fold at load). */
  readonly pure?: boolean;
  /** Reads the node's attributes (and constant inputs), reports problems, returns the kernel. */
  prepare(node: NodeReader): OpKernel;
}

/**
 * The definer of one docs family's pure ops (outputs that depend only on inputs, so constants
 * fold at load): `const op = pureOps("shape")`, then `op("Reshape", 5, [], prepare)`.
 */
export function pureOps(
  family: string,
): (opType: string, since: number, attributes: string[], prepare: OpDefinition["prepare"]) => OpDefinition {
  return (opType, since, attributes, prepare) => ({
    opType,
    family,
    since,
    attributes,
    pure: true,
    prepare,
  });
}

/** A node at load: its attributes, its constant inputs, and where to report what is unsupported. */
export class NodeReader {
  private readonly attributes = new Map<string, OnnxAttribute>();

  constructor(
    readonly node: OnnxNode,
    readonly opset: number,
    private readonly constants: (name: string) => Value | undefined,
    private readonly report: (problem: string) => void,
    /** Plans a subgraph in the node's scope (the values defined before the node are visible in it). */
    private readonly planSubgraph: (graph: OnnxGraphProto) => OnnxGraph,
    /** Whether a value is read by some node or is a graph output (default: assume it is). */
    private readonly isRead: (name: string) => boolean = () => true,
  ) {
    for (const a of node.attributes) this.attributes.set(a.name, a);
  }

  /** Output i is named and something reads it (an op may then skip computing the others). */
  outputUsed(i: number): boolean {
    const name = this.node.outputs[i] ?? "";
    return name !== "" && this.isRead(name);
  }

  get label(): string {
    return nodeLabel(this.node);
  }

  has(name: string): boolean {
    return this.attributes.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.attributes.get(name);
    return a === undefined ? fallback : a.i;
  }

  float(name: string, fallback: number): number {
    const a = this.attributes.get(name);
    return a === undefined ? fallback : a.f;
  }

  ints(name: string): number[] | null {
    const a = this.attributes.get(name);
    return a === undefined ? null : a.ints;
  }

  floats(name: string): number[] | null {
    const a = this.attributes.get(name);
    return a === undefined ? null : a.floats;
  }

  string(name: string, fallback: string): string {
    const a = this.attributes.get(name);
    return a?.s == null ? fallback : new TextDecoder().decode(a.s);
  }

  strings(name: string): string[] | null {
    const a = this.attributes.get(name);
    return a === undefined ? null : a.strings.map((s) => new TextDecoder().decode(s));
  }

  tensor(name: string): Value | null {
    const t = this.attributes.get(name)?.t;
    return t == null ? null : decodeTensorProto(t, null);
  }

  /** The graph attribute `name`, planned (every op in it checked); null when the node has none. */
  subgraph(name: string): OnnxGraph | null {
    const g = this.attributes.get(name)?.g;
    return g == null ? null : this.planSubgraph(g);
  }

  /** Input i's name, or "" when omitted. */
  inputName(i: number): string {
    return this.node.inputs[i] ?? "";
  }

  /** Input i's value when it is known at load (an initializer or a folded constant). */
  constant(i: number): Value | undefined {
    const name = this.inputName(i);
    return name === "" ? undefined : this.constants(name);
  }

  /** Input i, which must be known at load; reported otherwise. */
  requireConstant(i: number, what: string): Value | undefined {
    const v = this.constant(i);
    if (v === undefined && this.inputName(i) !== "") this.unsupported(`${what} must be a constant (an initializer)`);
    return v;
  }

  unsupported(problem: string): void {
    this.report(problem);
  }

  error(problem: string): KeraslessError {
    return new KeraslessError("E_CONFIG", `${this.label}: ${problem}`, { layer: this.node.name });
  }
}

/** Integer list of a constant int tensor. */
export function intsOf(v: Value): number[] {
  return Array.from(v.data, Number);
}

export function runtimeError(label: string, problem: string): KeraslessError {
  return new KeraslessError("E_INPUT_SHAPE", `${label}: ${problem}`);
}

/** Normalizes a possibly negative axis against a rank. */
export function axisOf(axis: number, rank: number, label: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a < rank)) throw runtimeError(label, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}
