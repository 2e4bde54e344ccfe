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
  kernelPlans(): { layer: string; className: string; backend: string; why: readonly string[] }[];
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
  private readonly sizeCheck: RunSizeCheck;

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
      this.sizeCheck = null as unknown as RunSizeCheck;
      return;
    }
    this.graph = graph;
    this.name = graph.name;
    this.className = graph.className;
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
    if (this.engine !== null) return this.engine.predict(inputs);
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
    if (this.engine !== null) return this.engine.stream(options);
    return new ModelStream(this.graph, options);
  }

  /** Clears the states that stateful recurrent layers keep between predict() calls (Keras' reset_states). */
  resetStates(): void {
    if (this.engine !== null) return;
    for (const layer of this.graph.layers) layer.resetStates();
  }

  /**
   * Which implementation runs each layer that has a choice (kernel path, fused WebAssembly steps,
   * threads), and why: decided at load time (kernels/plan.ts). Nested models' layers are listed
   * under their own names.
   */
  kernelPlans(): { layer: string; className: string; backend: string; why: readonly string[] }[] {
    if (this.engine !== null) return this.engine.kernelPlans();
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
    if (this.engine !== null) return this.engine.summaryData();
    return summarize(this.graph);
  }

  /** All weights, in the order Keras' model.get_weights() returns them. */
  getWeights(): Tensor[] {
    if (this.engine !== null) return this.engine.getWeights();
    return this.graph.layers.flatMap((layer) => layer.weightTensors());
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
