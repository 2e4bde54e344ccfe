/**
 * Wiring a Functional model's calls: resolves every tensor reference of the config to the call
 * that produces it and orders the calls so that each one's inputs are ready. Linear in the
 * number of references: each call is visited once, with an explicit stack (no recursion depth).
 */
import { KeraslessError } from "../errors.js";
import type { Layer } from "../layers/layer.js";
import { MODEL_CLASSES } from "../layers/registry-types.js";
import { NO_CALL, type Call, type CallSpec } from "./call.js";
import type { LayerEntry, ModelSpec, TensorRef } from "./config.js";

const MODEL_CLASS_NAMES: ReadonlySet<string> = new Set(MODEL_CLASSES);

export interface FunctionalWiring {
  readonly calls: Call[];
  readonly outputs: (readonly [number, number])[];
  /** The layers input_layers names, in order. */
  readonly inputLayers: Layer[];
}

export type MakeCall = (
  layer: Layer,
  node: number,
  inputs: (readonly [number, number])[],
  spec: CallSpec,
  calls: readonly Call[],
) => Call;

type Resolved = TensorRef & { readonly entry: LayerEntry };

export function wireFunctional(
  spec: ModelSpec,
  byName: ReadonlyMap<string, Layer>,
  callSpecs: ReadonlyMap<string, CallSpec[]>,
  kerasMajor: 2 | 3,
  makeCall: MakeCall,
): FunctionalWiring {
  const calls: Call[] = [];
  const entries = new Map(spec.layers.map((e) => [e.name, e]));
  // Per layer name, per node: the call's index once wired (-1 while open, undefined before).
  const callIndex = new Map<string, number[]>();
  const nodeCount = (entry: LayerEntry): number => (entry.className === "InputLayer" ? 1 : entry.inboundNodes.length);
  // Nested models count a node of their own before their calls in this graph, in Keras 2
  // inbound nodes and (for Functional, and Keras 2's Sequential) in input/output_layers;
  // Keras 3 call arguments count from the first call. Returns the ref with the index of the
  // call in this graph's inbound_nodes.
  const resolve = (raw: TensorRef, user: string): Resolved => {
    const entry = entries.get(raw.layer);
    if (entry === undefined) throw new KeraslessError("E_CONFIG", `${user} refers to an unknown layer "${raw.layer}"`);
    const ownNode =
      MODEL_CLASS_NAMES.has(entry.className) &&
      (raw.style === "list" || (raw.style === "endpoint" && (entry.className !== "Sequential" || kerasMajor === 2)));
    const node = ownNode && raw.node > 0 ? raw.node - 1 : raw.node;
    if (node >= nodeCount(entry)) {
      throw new KeraslessError(
        "E_CONFIG",
        `${user} refers to call #${raw.node} of layer "${raw.layer}", which has ${nodeCount(entry)}`,
      );
    }
    return { layer: raw.layer, node, tensor: raw.tensor, style: raw.style, entry };
  };
  const stateOf = (name: string, node: number): number | undefined => callIndex.get(name)?.[node];
  const setState = (name: string, node: number, value: number): void => {
    let list = callIndex.get(name);
    if (list === undefined) callIndex.set(name, (list = []));
    list[node] = value;
  };
  const callSpecOf = (entry: LayerEntry, node: number): CallSpec =>
    entry.className === "InputLayer" ? NO_CALL : callSpecs.get(entry.name)![node];
  // Depth-first over every call (not only those reaching an output: all layers get built).
  type Frame = { entry: LayerEntry; node: number; refs: Resolved[] | null; next: number };
  for (const root of spec.layers) {
    for (let rootNode = 0; rootNode < nodeCount(root); rootNode++) {
      if (stateOf(root.name, rootNode) !== undefined) continue;
      const stack: Frame[] = [{ entry: root, node: rootNode, refs: null, next: 0 }];
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        if (top.refs === null) {
          if (stateOf(top.entry.name, top.node) !== undefined) {
            stack.pop();
            continue;
          }
          setState(top.entry.name, top.node, -1);
          top.refs = callSpecOf(top.entry, top.node).inputs.map((raw) => resolve(raw, `layer "${top.entry.name}"`));
        }
        if (top.next < top.refs.length) {
          const ref = top.refs[top.next++];
          const state = stateOf(ref.layer, ref.node);
          if (state === -1) throw new KeraslessError("E_CONFIG", `the graph has a cycle through layer "${ref.layer}"`);
          if (state === undefined) stack.push({ entry: ref.entry, node: ref.node, refs: null, next: 0 });
          continue;
        }
        const inputs = top.refs.map((ref) => [stateOf(ref.layer, ref.node)!, ref.tensor] as const);
        const layer = byName.get(top.entry.name)!;
        calls.push(makeCall(layer, top.node, inputs, callSpecOf(top.entry, top.node), calls));
        setState(top.entry.name, top.node, calls.length - 1);
        stack.pop();
      }
    }
  }
  const inputLayers = spec.inputs.map((raw) => {
    const { entry } = resolve(raw, "input_layers");
    if (entry.className !== "InputLayer")
      throw new KeraslessError("E_CONFIG", `input_layers names "${entry.name}", which is not an InputLayer`);
    return byName.get(entry.name)!;
  });
  const outputs = spec.outputs.map((raw) => {
    const ref = resolve(raw, "output_layers");
    const index = stateOf(ref.layer, ref.node)!;
    const count = calls[index].outputShapes.length;
    if (ref.tensor >= count) {
      throw new KeraslessError(
        "E_CONFIG",
        `output_layers refers to output #${ref.tensor} of layer "${ref.layer}", which has ${count}`,
      );
    }
    return [index, ref.tensor] as const;
  });
  return { calls, outputs, inputLayers };
}
