/** Embedding: integer ids -> rows of the embeddings matrix. */
import { Tensor } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, POINTWISE, type Mask, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import { family, type LayerDefinition } from "./registry-types.js";

export class Embedding extends Layer {
  // Keras: Embedding overrides compute_mask, so it supports masking; with mask_zero id 0 is padding.
  override readonly supportsMasking = true;
  override readonly createsMask: boolean;
  readonly inputDim: number;
  readonly outputDim: number;
  private embeddings: Float32Array = new Float32Array(0);

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.inputDim = reader.positiveInt("input_dim");
    this.outputDim = reader.positiveInt("output_dim");
    this.createsMask = reader.bool("mask_zero", false);
    reader.refuseAdapters();
    // input_length only declared the input's shape (Keras 3 drops it), weights the initial
    // embeddings (the file has the trained ones), sparse how gradients are stored.
    reader.ignore("input_length", "weights", "sparse");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([{ name: "embeddings", shape: [this.inputDim, this.outputDim] }]);
    return [[...input, this.outputDim]];
  }

  protected override weightsLoaded([embeddings]: Float32Array[]): void {
    this.embeddings = embeddings;
  }

  call([ids]: Tensor[]): Tensor[] {
    const out = new Tensor([...ids.shape, this.outputDim], new Float32Array(ids.size * this.outputDim));
    this.callInto([ids], [], [out]);
    return [out];
  }

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override computeMask([ids]: readonly Tensor[]): (Mask | null)[] {
    if (!this.createsMask) return [null];
    const data = new Uint8Array(ids.size);
    for (let i = 0; i < ids.size; i++) data[i] = ids.data[i] !== 0 ? 1 : 0;
    return [{ shape: ids.shape, data }];
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const ids = inputs[0];
    const output = outputs[0];
    const d = this.outputDim;
    const out = output.data;
    const table = this.embeddings;
    for (let i = 0; i < ids.size; i++) {
      // Float inputs are cast to integers as Keras casts them (truncation toward zero).
      const id = Math.trunc(ids.data[i]);
      if (!(id >= 0 && id < this.inputDim)) {
        throw this.error(
          "E_INPUT_VALUE",
          `token id ${ids.data[i]} at flat index ${i} is outside the vocabulary [0, ${this.inputDim})`,
        );
      }
      for (let j = 0; j < d; j++) out[i * d + j] = table[id * d + j];
    }
    return true;
  }
}

export const embeddingLayers: LayerDefinition[] = [
  family("embedding")("Embedding", "`mask_zero`; ids outside the vocabulary are an error", (r) => new Embedding(r)),
];
