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

/**
 * @internal What a Model runs when it is not a Keras graph: another front end's model (ONNX).
 * predict() inputs arrive unchecked; the engine validates them against its own inputs.
 */
export interface ModelEngine {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  predict(inputs: PredictInput): Tensor[];
  stream(options?: StreamOptions): ModelStream;
  summaryData(): SummaryData;
  layers(): LayerInfo[];
  getWeights(): Tensor[];
}

export class Model {
  readonly name: string;
  readonly className: "Sequential" | "Functional" | "ONNX";
  /** The Keras version that wrote the file, if the file says. */
  readonly kerasVersion: string | undefined;
  /** Which semantics apply (e.g. hard_sigmoid): 2 for Keras 2 / tf.keras files, 3 for Keras 3. */
  readonly kerasMajor: 2 | 3;
  readonly format: ModelArtifact["format"] | "onnx";
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  private readonly graph: Graph;
  private readonly engine: ModelEngine | null = null;

  /** @internal Use loadModel(). */
  constructor(
    graph: Graph | ModelEngine,
    artifact: Pick<ModelArtifact, "kerasVersion" | "kerasMajor"> & Pick<Model, "format">,
  ) {
    this.kerasVersion = artifact.kerasVersion;
    this.kerasMajor = artifact.kerasMajor;
    this.format = artifact.format;
    if (!isGraph(graph)) {
      this.engine = graph;
      this.graph = null as unknown as Graph;
      this.name = graph.name;
      this.className = "ONNX";
      this.inputs = graph.inputs;
      this.outputs = graph.outputs;
      return;
    }
    this.graph = graph;
    this.name = graph.name;
    this.className = graph.className;
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
    if (this.engine !== null) return this.engine.predict(inputs);
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
    if (this.engine !== null) return this.engine.stream(options);
    return new ModelStream(this.graph, options);
  }

  /** Clears the states that stateful recurrent layers keep between predict() calls (Keras' reset_states). */
  resetStates(): void {
    if (this.engine !== null) return;
    const visit = (layers: readonly Layer[]): void => {
      for (const layer of layers) {
        if (layer instanceof ModelLayer) visit(layer.graph.layers);
        else if (layer instanceof Bidirectional) visit(layer.halves);
        else if (layer instanceof RecurrentLayer) layer.resetStates();
      }
    };
    visit(this.graph.layers);
  }

  /** The summary table (Keras 3 style); also printed when `print` is given. */
  summary(print?: (text: string) => void): string {
    const text = formatSummary(this.summaryData());
    print?.(text);
    return text;
  }

  summaryData(): SummaryData {
    if (this.engine !== null) return this.engine.summaryData();
    return summarize(this.graph);
  }

  /** All weights, in the order Keras' model.get_weights() returns them. */
  getWeights(): Tensor[] {
    if (this.engine !== null) return this.engine.getWeights();
    return this.graph.layers.flatMap((layer) => layerWeights(layer));
  }

  get layers(): LayerInfo[] {
    if (this.engine !== null) return this.engine.layers();
    return this.graph.layers.map(layerInfo);
  }

  getLayer(name: string): LayerInfo {
    const layers = this.layers;
    const found = layers.find((l) => l.name === name);
    if (found === undefined)
      throw new RangeError(`no layer named "${name}" (layers: ${layers.map((l) => l.name).join(", ")})`);
    return found;
  }
}

function isGraph(source: Graph | ModelEngine): source is Graph {
  return "calls" in source;
}

function layerInfo(layer: Layer): LayerInfo {
  return { name: layer.name, className: layer.className, getWeights: () => layerWeights(layer) };
}

function layerWeights(layer: Layer): Tensor[] {
  if (layer instanceof ModelLayer) return layer.graph.layers.flatMap((l) => layerWeights(l));
  const values = layer.getWeights();
  return layer.weightSpecs.map((spec, i) => new Tensor(spec.shape, values[i]));
}
