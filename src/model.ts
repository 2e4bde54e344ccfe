/** The loaded model: metadata, predict(), summary() and the weights, as Keras users know them. */
import type { ModelArtifact } from "./format/artifact.js";
import type { Graph } from "./graph/graph.js";
import { ModelLayer } from "./graph/graph.js";
import { allocationError } from "./errors.js";
import { normalizeInputs, type PredictInput, type TensorInfo } from "./inputs.js";
import type { Layer } from "./layers/layer.js";
import { formatSummary, summarize, type SummaryData } from "./summary.js";
import { RecurrentLayer } from "./layers/recurrent.js";
import { Bidirectional } from "./layers/wrappers.js";
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

  /** @internal Use loadModel(). */
  constructor(graph: Graph, artifact: ModelArtifact) {
    this.graph = graph;
    this.name = graph.name;
    this.className = graph.className;
    this.kerasVersion = artifact.kerasVersion;
    this.kerasMajor = artifact.kerasMajor;
    this.format = artifact.format;
    this.inputs = Object.freeze(
      graph.inputLayers.map((l) =>
        Object.freeze({ name: l.name, shape: Object.freeze([...l.batchShape]), dtype: l.dtype }),
      ),
    );
    const used = new Set<string>();
    this.outputs = Object.freeze(
      graph.outputSources.map(({ layer, tensor }, i) => {
        let name = tensor === 0 ? layer.name : `${layer.name}_${tensor}`;
        while (used.has(name)) name = `${name}_`;
        used.add(name);
        return Object.freeze({ name, shape: Object.freeze([...graph.outputShapes[i]]), dtype: "float32" as const });
      }),
    );
  }

  /**
   * Runs the model. `inputs` is nested arrays, a `{shape, data}` tensor, or for several inputs a
   * list in the order of `model.inputs` or a record keyed by input name. Returns one tensor per
   * model output, in the order of `model.outputs`.
   */
  predict(inputs: PredictInput): Tensor[] {
    const tensors = normalizeInputs(inputs, this.inputs);
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
    const visit = (layers: readonly Layer[]): void => {
      for (const layer of layers) {
        if (layer instanceof ModelLayer) visit(layer.graph.layers);
        else if (layer instanceof Bidirectional) visit(layer.halves);
        else if (layer instanceof RecurrentLayer) layer.resetStates();
      }
    };
    visit(this.graph.layers);
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
        if (layer instanceof ModelLayer) visit(layer.graph.layers);
        const plan = layer.kernelPlan();
        if (plan !== null) plans.push({ layer: layer.name, className: layer.className, ...plan });
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
    return this.graph.layers.flatMap((layer) => layerWeights(layer));
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
  return { name: layer.name, className: layer.className, getWeights: () => layerWeights(layer) };
}

function layerWeights(layer: Layer): Tensor[] {
  if (layer instanceof ModelLayer) return layer.graph.layers.flatMap((l) => layerWeights(l));
  const values = layer.getWeights();
  return layer.weightSpecs.map((spec, i) => new Tensor(spec.shape, values[i]));
}
