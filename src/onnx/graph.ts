/**
 * An ONNX graph made runnable: every node checked against the ops registry at load (all problems
 * in one error), constants folded (initializers and whatever only depends on them, shape
 * arithmetic included), and the remaining nodes kept as a list of prepared kernels. Subgraphs (a
 * Loop's body) are planned the same way, with the values of their enclosing graphs in scope.
 */
import { KeraslessError, describeThrown, unsupportedError } from "../errors.js";
import type { TensorInfo } from "../inputs.js";
import type { Shape } from "../layers/layer.js";
import { Tensor, type DType } from "../tensor.js";
import { BoundCalls, runBound } from "./bound.js";
import { absorbInputTransposes } from "./fuse.js";
import { startLoopBudget } from "./loop-budget.js";
import { MAX_OPSET, MIN_OPSET, onnxOp } from "./ops/registry.js";
import { NodeReader, type OpKernel } from "./ops/types.js";
import {
  nodeLabel,
  nodeName,
  type OnnxGraphProto,
  type OnnxModelProto,
  type OnnxNode,
  type OnnxValueInfo,
} from "./proto.js";
import { DATA_TYPES, dataTypeName, decodeTensorProto, type ExternalFiles, type Value } from "./values.js";

export interface PlannedNode {
  readonly node: OnnxNode;
  readonly kernel: OpKernel;
  /** Value slots read (the node's inputs, then the values of enclosing graphs it reads) and written. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** Slots whose last reader this node is: freed after it runs. */
  readonly frees: readonly number[];
  /** A Transpose before this recurrent node that does not run: the node reads X batch-major (fuse.ts). */
  readonly absorbed?: OnnxNode;
}

export interface OnnxProblem {
  readonly node: string;
  readonly opType: string;
  readonly problem: string;
}

/** What a subgraph sees of its enclosing graphs, and where its problems go. */
export interface OuterScope {
  /** A name's value when it is a constant, null when it is computed per call, undefined when not defined. */
  lookup(name: string): Value | null | undefined;
  /** The node whose attribute the subgraph is: problems inside it are reported as its. */
  readonly owner: string;
  readonly problems: OnnxProblem[];
}

export class OnnxGraph {
  readonly name: string;
  /** The graph's inputs and outputs (a subgraph's are its formal ones, not described). */
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly opset: number;
  readonly nodes: readonly OnnxNode[];
  /** Initializer (weight) sizes, for parameter counts: by the name of the node that reads it first. */
  readonly parameters = new Map<string, number>();
  /** Shapes the file states for intermediate values and outputs (value_info), for summaries. */
  readonly statedShapes = new Map<string, Shape>();
  /** @internal The nodes that run per call, in order. */
  readonly plan: PlannedNode[] = [];
  /** @internal Values known at load, by slot. */
  readonly constants: (Value | undefined)[] = [];
  /** @internal The graph's own inputs, then the values of enclosing graphs it reads (outerNames). */
  readonly inputSlots: number[] = [];
  /** @internal */
  readonly outputSlots: number[] = [];
  /** @internal A subgraph's inputs from enclosing graphs (values computed per call), after its own. */
  readonly outerNames: string[] = [];
  private readonly slotCount: number;
  private readonly isRead: (name: string) => boolean;
  /** predict()'s plans bound to the input shapes of recent calls. */
  private readonly calls = new BoundCalls(this);

  static fromModel(model: OnnxModelProto, external: ExternalFiles | null): OnnxGraph {
    const graph = model.graph;
    if (graph === null) throw new KeraslessError("E_FORMAT", "the ONNX model has no graph");
    if (model.irVersion < 3)
      throw new KeraslessError("E_UNSUPPORTED", `ONNX IR version ${model.irVersion} (kerasless reads 3 and later)`);
    const opset = model.opsets.get("") ?? 0;
    if (opset < MIN_OPSET || opset > MAX_OPSET)
      throw new KeraslessError(
        "E_UNSUPPORTED",
        `the model uses ONNX opset ${opset}; kerasless runs opsets ${MIN_OPSET} to ${MAX_OPSET}`,
      );
    return new OnnxGraph(graph, opset, external, null);
  }

  /** `outer`: null for a model's graph; for a subgraph, what it sees of its enclosing graphs. */
  constructor(
    graph: OnnxGraphProto,
    opset: number,
    private readonly external: ExternalFiles | null,
    private readonly outer: OuterScope | null,
  ) {
    this.opset = opset;
    this.name = graph.name || "onnx_graph";
    this.nodes = graph.nodes;
    const slots = new Map<string, number>();
    const slotOf = (name: string): number => {
      let slot = slots.get(name);
      if (slot === undefined) {
        slot = slots.size;
        slots.set(name, slot);
      }
      return slot;
    };
    const initializerSizes = new Map<string, number>();
    for (const t of graph.initializers) {
      const value = decodeTensorProto(t, external);
      this.constants[slotOf(t.name)] = value;
      initializerSizes.set(t.name, value.data.length);
    }
    const inputs = graph.inputs.filter((i) => !initializerSizes.has(i.name));
    this.inputs = outer === null ? inputs.map((info) => tensorInfo(info, "input")) : [];
    for (const info of inputs) this.inputSlots.push(slotOf(info.name));
    const defined = new Set<string>([...initializerSizes.keys(), ...inputs.map((i) => i.name)]);
    /** Whether `name` is defined here or in an enclosing graph (then brought in as a constant or an input). */
    const visible = (name: string): boolean => {
      if (defined.has(name)) return true;
      const found = outer?.lookup(name);
      if (found === undefined) return false;
      if (found === null) {
        this.outerNames.push(name);
        this.inputSlots.push(slotOf(name));
      } else {
        this.constants[slotOf(name)] = found;
        if (found.type === "float") initializerSizes.set(name, found.data.length);
      }
      defined.add(name);
      return true;
    };
    const problems = outer?.problems ?? [];
    const scope: OuterScope = {
      lookup: (name) => (defined.has(name) ? (this.constants[slotOf(name)] ?? null) : outer?.lookup(name)),
      owner: "",
      problems,
    };
    const counted = new Set<string>();
    // What nodes and outputs read (an op may skip the outputs no one reads); a node with subgraphs
    // may read any outer value, so then everything counts as read and the plan is not rewritten.
    const subgraphs = graph.nodes.some((n) => n.attributes.some((a) => a.g !== null));
    const read = new Set([...graph.nodes.flatMap((n) => n.inputs), ...graph.outputs.map((o) => o.name)]);
    this.isRead = (name) => subgraphs || read.has(name);
    for (const node of graph.nodes) {
      for (const name of node.inputs) {
        if (name !== "" && !visible(name))
          throw new KeraslessError(
            "E_FORMAT",
            `node "${node.name}" (${node.opType}) reads "${name}", which no earlier node, input or initializer defines`,
          );
      }
      const implicit = this.prepareNode(node, slotOf, problems, scope, visible);
      for (const name of [...node.inputs, ...implicit]) {
        const size = initializerSizes.get(name);
        // Parameters are the float initializers (weights), not shapes and indices.
        if (size !== undefined && !counted.has(name) && this.constants[slotOf(name)]?.type === "float") {
          counted.add(name);
          const key = nodeName(node);
          this.parameters.set(key, (this.parameters.get(key) ?? 0) + size);
        }
      }
      for (const name of node.outputs) if (name !== "") defined.add(name);
    }
    if (problems.length > 0 && outer === null)
      throw unsupportedError(
        problems.map((p) => ({ name: p.node, kind: p.opType, problem: p.problem })),
        "node",
      );
    const outputInfo = outer === null ? graph.outputs.map((o) => tensorInfo(o, "output")) : [];
    for (const o of graph.outputs) {
      if (!visible(o.name))
        throw new KeraslessError("E_FORMAT", `the graph output "${o.name}" is not produced by any node`);
      this.outputSlots.push(slotOf(o.name));
    }
    this.outputs = outputInfo;
    for (const v of [...graph.valueInfo, ...graph.outputs])
      if (v.shape !== null)
        this.statedShapes.set(
          v.name,
          v.shape.map((d) => (typeof d === "number" ? d : null)),
        );
    this.slotCount = slots.size;
    if (!subgraphs) absorbInputTransposes(this.plan, this.outputSlots);
    this.planFrees();
  }

  /**
   * Checks and prepares one node; folds it when its inputs are all known. Returns the names of
   * enclosing-scope values it reads without listing them (a Loop body's), made `visible` here.
   */
  private prepareNode(
    node: OnnxNode,
    slotOf: (name: string) => number,
    problems: OnnxProblem[],
    scope: OuterScope,
    visible: (name: string) => boolean,
  ): readonly string[] {
    const label = (this.outer === null ? "" : `${this.outer.owner}/`) + nodeName(node);
    const report = (problem: string): void => {
      problems.push({ node: label, opType: node.opType, problem });
    };
    const definition = node.domain === "" ? onnxOp(node.opType) : undefined;
    if (definition === undefined) {
      report(node.domain === "" ? "op not supported" : `op of domain "${node.domain}" not supported`);
      return [];
    }
    if (this.opset < definition.since) report(`opset ${this.opset} (supported from ${definition.since})`);
    for (const a of node.attributes) {
      if (!definition.attributes.includes(a.name)) report(`attribute "${a.name}" not supported`);
      if (a.refAttrName !== "") report(`attribute "${a.name}" refers to a function attribute`);
    }
    const before = problems.length;
    const subgraph = (g: OnnxGraphProto): OnnxGraph =>
      new OnnxGraph(g, this.opset, this.external, { ...scope, owner: label });
    const reader = new NodeReader(
      node,
      this.opset,
      (name) => this.constants[slotOf(name)],
      report,
      subgraph,
      this.isRead,
    );
    let kernel: OpKernel;
    try {
      kernel = definition.prepare(reader);
    } catch (e) {
      if (e instanceof KeraslessError) throw e;
      throw new KeraslessError("E_CONFIG", `${reader.label}: ${describeThrown(e)}`, { cause: e });
    }
    if (problems.length > before) return [];
    // What its subgraph reads from here or further out (found there already).
    const implicit = kernel.implicitInputs ?? [];
    implicit.forEach(visible);
    const inputs = [...node.inputs, ...implicit].map((n) => (n === "" ? -1 : slotOf(n)));
    const outputs = node.outputs.map((n) => (n === "" ? -1 : slotOf(n)));
    const foldable = definition.pure === true && inputs.every((s) => s === -1 || this.constants[s] !== undefined);
    if (foldable) {
      const args = inputs.map((s) => (s === -1 ? null : this.constants[s]!));
      const values = guarded(node, () => kernel(args));
      outputs.forEach((s, i) => {
        if (s !== -1) this.constants[s] = values[i];
      });
      return implicit;
    }
    // A kernel without a bound form says so: `kernel.bind` would otherwise be Function.prototype.bind.
    if (!Object.hasOwn(kernel, "bind")) Object.assign(kernel, { bind: undefined });
    this.plan.push({ node, kernel, inputs, outputs, frees: [] });
    return implicit;
  }

  /** Marks, per node, the runtime values no later node (or output) reads. */
  private planFrees(): void {
    const lastUse = new Map<number, number>();
    this.plan.forEach((step, i) => step.inputs.forEach((s) => lastUse.set(s, i)));
    for (const s of this.outputSlots) lastUse.delete(s);
    for (const [slot, i] of lastUse)
      if (this.constants[slot] === undefined) (this.plan[i].frees as number[]).push(slot);
  }

  /** Operator nodes left to run per call (after folding). */
  get runtimeNodes(): readonly OnnxNode[] {
    return this.plan.map((p) => p.node);
  }

  run(inputs: Tensor[]): Tensor[] {
    const values = inputs.map(toValue);
    const bound = this.calls.planFor(values);
    if (bound !== null) {
      runBound(bound, values);
      // The bound buffers are the next call's: callers get copies.
      return bound.outputs.map((v) => toTensor({ ...v, data: v.data.slice() }));
    }
    // An output known at load is the graph's own: callers get a copy (a pool worker moves outputs out).
    return this.execute(values).map((v, k) =>
      toTensor(v === this.constants[this.outputSlots[k]] ? { ...v, data: v.data.slice() } : v),
    );
  }

  /** Runs the plan on input values; `keep` keeps every value (for probing shapes). */
  execute(inputs: Value[], keep?: (Value | undefined)[]): Value[] {
    // Loops (nested ones included) run a bounded number of iterations per call of the model.
    if (this.outer === null) startLoopBudget();
    const values: (Value | undefined)[] = keep ?? [];
    for (let s = 0; s < this.slotCount; s++) values[s] = this.constants[s];
    inputs.forEach((v, i) => (values[this.inputSlots[i]] = v));
    for (const step of this.plan) {
      const args = step.inputs.map((s) => (s === -1 ? null : values[s]!));
      const results = guarded(step.node, () => step.kernel(args));
      step.outputs.forEach((s, i) => {
        if (s !== -1) values[s] = results[i];
      });
      if (keep === undefined) for (const s of step.frees) values[s] = undefined;
    }
    return this.outputSlots.map((s) => values[s]!);
  }
}

/** f() on behalf of `node`: unexpected errors (a kernel's) become E_INPUT_SHAPE errors naming it. */
export function guarded<T>(node: OnnxNode, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KeraslessError) throw e;
    throw new KeraslessError("E_INPUT_SHAPE", `${nodeLabel(node)}: ${describeThrown(e)}`, { cause: e });
  }
}

export function toValue(t: Tensor): Value {
  if (t.data instanceof Float32Array) return { type: "float", shape: t.shape, data: t.data };
  return { type: "int", shape: t.shape, data: Float64Array.from(t.data) };
}

export function toTensor(v: Value): Tensor {
  if (v.data instanceof Float32Array) return new Tensor(v.shape, v.data);
  return new Tensor(v.shape, Int32Array.from(v.data));
}

function tensorInfo(info: OnnxValueInfo, role: string): TensorInfo {
  const kind = DATA_TYPES[info.elemType];
  if (kind === undefined || kind.type === "bool")
    throw new KeraslessError(
      "E_UNSUPPORTED",
      `graph ${role} "${info.name}" has ${info.elemType === 0 ? "no tensor type" : dataTypeName(info.elemType)}`,
    );
  const dtype: DType = kind.type === "float" ? "float32" : "int32";
  const shape: Shape = (info.shape ?? []).map((d) => (typeof d === "number" && d >= 0 ? d : null));
  return Object.freeze({ name: info.name, shape: Object.freeze(shape), dtype });
}
