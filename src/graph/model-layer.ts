/** A model used as a layer of another model. */
import { Layer, type Mask, type Masks, type Shape, type StreamBehaviour } from "../layers/layer.js";
import { Tensor, formatShape } from "../tensor.js";
import { outputShapesFor } from "./shapes.js";
import { GraphStream, analyzeStream, type StreamAnalysis } from "./stream.js";
import type { GraphView } from "./types.js";

type WeightRef = { layer: Layer; index: number };

export class ModelLayer extends Layer {
  readonly graph: GraphView;
  /** Inner weights in the order legacy files store a nested model's (fixed at the first build). */
  private order: WeightRef[] | null = null;
  /** How many of `order`, from the first, are trainable. */
  private trainableRefs = 0;
  /** Streaming analysis of the inner graph, worked out once however often the model is called. */
  private stream: { analysis: StreamAnalysis; outputsHaveTime: readonly boolean[] } | null = null;

  constructor(graph: GraphView, trainable: boolean) {
    super(graph.name, graph.className, trainable);
    this.graph = graph;
  }

  override get sublayers(): readonly Layer[] {
    return this.graph.layers;
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.graph.build();
    this.checkInputs(inputShapes);
    if (this.order === null) {
      this.order = this.legacyOrder();
      this.declareWeights(
        this.order.map(({ layer, index }) => ({
          ...layer.weightSpecs[index],
          name: `${layer.name}/${layer.weightSpecs[index].name}`,
        })),
      );
    }
    return this.graph.outputShapes.slice();
  }

  override outputShapesFor(inputShapes: Shape[]): Shape[] {
    this.checkInputs(inputShapes);
    return outputShapesFor(this.graph, inputShapes);
  }

  private checkInputs(inputShapes: Shape[]): void {
    const expected = this.graph.inputShapes;
    this.expectInputs(inputShapes, expected.length);
    inputShapes.forEach((shape, i) => {
      const want = expected[i];
      if (shape.length !== want.length || shape.some((d, k) => d !== null && want[k] !== null && d !== want[k])) {
        throw this.error(
          "E_CONFIG",
          `input #${i} has shape ${formatShape(shape)}, the nested model expects ${formatShape(want)}`,
        );
      }
    });
  }

  /**
   * Inner weights in the order legacy files store a nested model's: the trainable ones first
   * (every layer's, BatchNormalization's gamma and beta among them), then the rest (its moving
   * statistics, and every weight of a layer that is not trainable).
   */
  private legacyOrder(): WeightRef[] {
    if (this.order !== null) return this.order;
    const trainable: WeightRef[] = [];
    const rest: WeightRef[] = [];
    for (const layer of this.graph.layers) {
      const count = this.trainable && layer.trainable ? layer.trainableWeightCount() : 0;
      for (let index = 0; index < layer.weightSpecs.length; index++)
        (index < count ? trainable : rest).push({ layer, index });
    }
    this.trainableRefs = trainable.length;
    return trainable.concat(rest);
  }

  override trainableWeightCount(): number {
    this.legacyOrder();
    return this.trainableRefs;
  }

  /** Object paths of the inner weights, in this layer's (legacy) weight order (for wrappers). */
  override weightPaths(countVars: (varsGroup: string) => number): string[] {
    const objectPaths = this.graph.objectPaths();
    const inner = new Map(
      this.graph.layers.map((layer, i) => [
        layer,
        layer.weightSpecs.length === 0
          ? []
          : layer.weightPaths((group) => countVars(`${objectPaths[i]}/${group}`)).map((p) => `${objectPaths[i]}/${p}`),
      ]),
    );
    // A weight the file lacks leaves the list short, which the loader reports.
    return this.legacyOrder().flatMap(({ layer, index }) => inner.get(layer)!.slice(index, index + 1));
  }

  override paramCounts(): { trainable: number; nonTrainable: number } {
    let trainable = 0;
    let nonTrainable = 0;
    for (const layer of this.graph.layers) {
      const counts = layer.paramCounts();
      if (this.trainable) trainable += counts.trainable;
      else nonTrainable += counts.trainable;
      nonTrainable += counts.nonTrainable;
    }
    return { trainable, nonTrainable };
  }

  override setWeights(values: { shape: readonly number[]; data: Float32Array }[]): void {
    const order = this.legacyOrder();
    if (values.length !== order.length) {
      throw this.error(
        "E_WEIGHTS_MISSING",
        `the file has ${values.length} weight(s) for this nested model, its layers need ${order.length}`,
      );
    }
    const perLayer = new Map<Layer, { shape: readonly number[]; data: Float32Array }[]>();
    order.forEach(({ layer, index }, i) => {
      const list = perLayer.get(layer) ?? new Array(layer.weightSpecs.length);
      list[index] = values[i];
      perLayer.set(layer, list);
    });
    for (const [layer, list] of perLayer) layer.setWeights(list);
  }

  /** Keras' get_weights() of a nested model: its layers' weights in layer order. */
  override weightTensors(): Tensor[] {
    return this.graph.layers.flatMap((layer) => layer.weightTensors());
  }

  // A nested model hands on the masks its own outputs carry.
  override readonly supportsMasking = true;
  // Its layers may create masks (Embedding with mask_zero), so always ask.
  override readonly createsMask = true;
  private lastOutputMasks: (Mask | null)[] = [];

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    const { outputs, masks: outputMasks } = this.graph.runWithMasks(inputs, masks);
    this.lastOutputMasks = outputMasks;
    return outputs;
  }

  override computeMask(): (Mask | null)[] {
    return this.lastOutputMasks;
  }

  override streamBehaviour(): StreamBehaviour {
    if (this.stream === null) {
      const analysis = analyzeStream(this.graph);
      const outputsHaveTime =
        analysis.refusals.length > 0 ? [] : new GraphStream(this.graph, analysis).outputsHaveTime();
      this.stream = { analysis, outputsHaveTime };
    }
    const { analysis, outputsHaveTime } = this.stream;
    if (analysis.refusals.length > 0)
      return { kind: "refused", reason: `holds layers that cannot stream: ${analysis.refusals.join("; ")}` };
    return {
      kind: "stateful",
      outputsHaveTime,
      open: (batch) => {
        const inner = new GraphStream(this.graph, analysis);
        inner.open(batch);
        return {
          state: inner.stateBuffers,
          step: (inputs, masks) => {
            const outputs = inner.step(inputs, masks);
            this.lastOutputMasks = inner.outputMasks as (Mask | null)[];
            return outputs;
          },
          reset: () => inner.reset(),
        };
      },
    };
  }
}
