/** The loaded model: metadata, predict(), summary() and the weights, as Keras users know them. */
import type { ModelArtifact } from "./format/artifact.js";
import type { Graph } from "./graph/graph.js";
import { allocationError } from "./errors.js";
import { RunSizeCheck } from "./graph/run-sizes.js";
import { normalizeInputs, type PredictInput, type TensorInfo } from "./inputs.js";
import type { Layer } from "./layers/layer.js";
import { formatSummary, summarize, type SummaryData } from "./summary.js";
import { ModelStream, type StreamOptions } from "./stream.js";
import { Tensor } from "./tensor.js";

export interface LayerInfo {
  readonly name: string;
  readonly className: string;
  /** The layer's weights in Keras' order (kernel, recurrent_kernel, bias, ...). */
  getWeights(): Tensor[];
}

export class Model {
  readonly name: string;
  readonly className: "Sequential" | "Functional";
  /** The Keras version that wrote the file, if the file says. */
  readonly kerasVersion: string | undefined;
  /** Which semantics apply (e.g. hard_sigmoid): 2 for Keras 2 / tf.keras files, 3 for Keras 3. */
  readonly kerasMajor: 2 | 3;
  readonly format: ModelArtifact["format"];
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private readonly graph: Graph;
  private readonly sizeCheck: RunSizeCheck;

  /** @internal Use loadModel(). */
  constructor(graph: Graph, artifact: Pick<ModelArtifact, "kerasVersion" | "kerasMajor" | "format">) {
    this.graph = graph;
    this.name = graph.name;
    this.className = graph.className;
    this.kerasVersion = artifact.kerasVersion;
    this.kerasMajor = artifact.kerasMajor;
    this.format = artifact.format;
    this.inputs = Object.freeze(
      graph.inputLayers.map((l) =>
        Object.freeze({ name: l.name, shape: Object.freeze(l.batchShape.slice()), dtype: l.dtype }),
      ),
    );
    const names = uniqueOutputNames(graph.outputSources.map(({ layer, tensor }) => [layer.name, tensor] as const));
    const shapes = graph.outputShapes;
    this.outputs = Object.freeze(
      names.map((name, i) =>
        Object.freeze({ name, shape: Object.freeze(shapes[i].slice()), dtype: "float32" as const }),
      ),
    );
    this.sizeCheck = new RunSizeCheck(graph);
  }

  /**
   * Runs the model. `inputs` is nested arrays, a `{shape, data}` tensor, or for several inputs a
   * list in the order of `model.inputs` or a record keyed by input name. Returns one tensor per
   * model output, in the order of `model.outputs`.
   */
  predict(inputs: PredictInput): Tensor[] {
    const tensors = normalizeInputs(inputs, this.inputs);
    // Sizes the config leaves open (None) are known now: refuse before allocating any.
    this.sizeCheck.check(tensors);
    try {
      return this.graph.run(tensors);
    } catch (e) {
      throw allocationError(e, "predict() on inputs this large needs");
    }
  }

  /**
   * Starts feeding the model one time step at a time (see ModelStream). Throws E_UNSUPPORTED
   * naming every layer that needs the whole sequence (Bidirectional, non-causal convolutions,
   * global pooling, ...).
   */
  stream(options?: StreamOptions): ModelStream {
    return new ModelStream(this.graph, options);
  }

  /** Clears the states that stateful recurrent layers keep between predict() calls (Keras' reset_states). */
  resetStates(): void {
    for (const layer of this.graph.layers) layer.resetStates();
  }

  /**
   * Which implementation runs each layer that has a choice (kernel path, fused WebAssembly steps,
   * threads), and why: decided at load time (kernels/plan.ts). Nested models' layers are listed
   * under their own names.
   */
  kernelPlans(): { layer: string; className: string; backend: string; why: readonly string[] }[] {
    const plans: { layer: string; className: string; backend: string; why: readonly string[] }[] = [];
    const visit = (layers: readonly Layer[]): void => {
      for (const layer of layers) {
        const plan = layer.kernelPlan();
        // A wrapper with a plan of its own (Bidirectional) lists its halves in it.
        if (plan !== null) plans.push({ layer: layer.name, className: layer.className, ...plan });
        else visit(layer.sublayers);
      }
    };
    visit(this.graph.layers);
    return plans;
  }

  /** The summary table (Keras 3 style); also printed when `print` is given. */
  summary(print?: (text: string) => void): string {
    const text = formatSummary(this.summaryData());
    print?.(text);
    return text;
  }

  summaryData(): SummaryData {
    return summarize(this.graph);
  }

  /** All weights, in the order Keras' model.get_weights() returns them. */
  getWeights(): Tensor[] {
    return this.graph.layers.flatMap((layer) => layer.weightTensors());
  }

  get layers(): LayerInfo[] {
    return this.graph.layers.map(layerInfo);
  }

  getLayer(name: string): LayerInfo {
    const layer = this.graph.layers.find((l) => l.name === name);
    if (layer === undefined)
      throw new RangeError(`no layer named "${name}" (layers: ${this.graph.layers.map((l) => l.name).join(", ")})`);
    return layerInfo(layer);
  }
}

function layerInfo(layer: Layer): LayerInfo {
  return { name: layer.name, className: layer.className, getWeights: () => layer.weightTensors() };
}

/**
 * Output names: the layer's name (with `_<index>` for a layer's later outputs), made unique as
 * tf.keras does (`name`, `name_1`, `name_2`, ...). A count per name keeps this linear however
 * many outputs share one.
 */
export function uniqueOutputNames(sources: readonly (readonly [string, number])[]): string[] {
  const used = new Set<string>();
  const nextSuffix = new Map<string, number>();
  return sources.map(([layer, tensor]) => {
    const base = tensor === 0 ? layer : `${layer}_${tensor}`;
    let name = base;
    let suffix = nextSuffix.get(base) ?? 1;
    while (used.has(name)) name = `${base}_${suffix++}`;
    nextSuffix.set(base, suffix);
    used.add(name);
    return name;
  });
}
