/**
 * Load-time fusion, once the weights are in: a layer whose kernel can do more (a convolution; the
 * FusionHooks of src/kernels/epilogue.ts) takes over what the layers right after it do, when those
 * are a per-channel affine map (a BatchNormalization over the channels, at inference) and/or a
 * clamping activation (ReLU, ReLU(6.)), in that order; and a convolution reads its input as padded
 * by the ZeroPadding layer before it (its kernel reads zeros outside the input anyway), sparing
 * the padded copy. The fused layers then pass their input on (src/graph/run.ts); their weights,
 * summaries and getWeights() stay the file's. A value is fused away only where nothing else can
 * see it: each layer of the chain is called once in the whole model, each link is read by the
 * next one alone, none is a model output, and the model cannot stream (only the graph runner
 * passes fused layers' inputs on). Numbers move by float32 rounding only: the affine map is
 * applied to the same sums, in float32 instead of float64.
 */
import type { Activation } from "../kernels/activations.js";
import { clampActivation, type FusionHooks } from "../kernels/epilogue.js";
import type { Layer } from "../layers/layer.js";
import { ModelLayer } from "./model-layer.js";
import type { GraphView } from "./types.js";

/** Fuses what can be fused in `graph` and the models nested in it. */
export function fuseEpilogues(graph: GraphView): void {
  const graphs = nestedGraphs(graph);
  // Calls per layer over every graph: a layer shared by two calls keeps its own kernel.
  const callCount = new Map<Layer, number>();
  for (const g of graphs) for (const { layer } of g.calls) callCount.set(layer, (callCount.get(layer) ?? 0) + 1);
  for (const g of graphs) fuseIn(g, callCount);
}

function nestedGraphs(root: GraphView): GraphView[] {
  const found = new Set<GraphView>([root]);
  const pending = [root];
  while (pending.length > 0) {
    for (const { layer } of pending.pop()!.calls) {
      if (layer instanceof ModelLayer && !found.has(layer.graph)) {
        found.add(layer.graph);
        pending.push(layer.graph);
      }
    }
  }
  return [...found];
}

function fuseIn(graph: GraphView, callCount: ReadonlyMap<Layer, number>): void {
  const calls = graph.calls;
  const readers = calls.map((): number[] => []);
  calls.forEach((call, i) => call.inputs.forEach(([producer]) => readers[producer].push(i)));
  const outputs = new Set(graph.outputSources.map((source) => source.call));
  const once = (i: number): boolean => callCount.get(calls[i].layer) === 1;
  const hooks = (i: number): FusionHooks => calls[i].layer as FusionHooks;
  /** The call that alone reads call i's output, when it reads nothing else; else -1. */
  const soleReader = (i: number): number => {
    if (outputs.has(i) || readers[i].length !== 1) return -1;
    const j = readers[i][0];
    return calls[j].inputs.length === 1 && once(j) ? j : -1;
  };
  for (let i = 0; i < calls.length; i++) {
    if (!once(i) || calls[i].layer.fusedInto !== null || calls[i].layer.streamBehaviour().kind !== "refused") continue;
    let next = soleReader(i);
    if (next < 0) continue;
    const pads = hooks(i).zeroPads?.() ?? null;
    if (pads !== null) {
      if (hooks(next).absorbPads?.(pads.begin, pads.end)) calls[i].layer.fusedInto = calls[next].layer.name;
      continue;
    }
    const chain: Layer[] = [];
    let activation: Activation | null = null;
    const affine = hooks(next).channelAffine?.() ?? null;
    if (affine !== null) {
      chain.push(calls[next].layer);
      next = soleReader(next);
    }
    if (next >= 0) {
      const clamp = hooks(next).fusableClamp?.() ?? null;
      if (clamp !== null) activation = clampActivation(clamp[0], clamp[1]);
      if (activation !== null) chain.push(calls[next].layer);
    }
    if (chain.length === 0 || hooks(i).fuseEpilogue?.(affine, activation) !== true) continue;
    for (const layer of chain) layer.fusedInto = calls[i].layer.name;
  }
}
