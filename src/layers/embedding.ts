/** Embedding: integer ids -> rows of the embeddings matrix. */
import { Tensor } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, type Shape } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

export class Embedding extends Layer {
  readonly inputDim: number;
  readonly outputDim: number;
  private embeddings: Float32Array = new Float32Array(0);

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.inputDim = reader.positiveInt("input_dim");
    this.outputDim = reader.positiveInt("output_dim");
    if (reader.bool("mask_zero", false)) reader.unsupported("mask_zero=True (masking) is not supported yet");
    if (reader.has("lora_rank")) reader.unsupported("LoRA-adapted Embedding layers (lora_rank) are not supported");
    if (reader.has("quantization_config")) reader.unsupported("quantized Embedding layers are not supported");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([{ name: "embeddings", shape: [this.inputDim, this.outputDim] }]);
    return [[...input, this.outputDim]];
  }

  protected override weightsLoaded([embeddings]: Float32Array[]): void {
    this.embeddings = embeddings;
  }

  call([ids]: Tensor[]): Tensor[] {
    const d = this.outputDim;
    const out = new Float32Array(ids.size * d);
    for (let i = 0; i < ids.size; i++) {
      // Float inputs are cast to integers as Keras casts them (truncation toward zero).
      const id = Math.trunc(ids.data[i]);
      if (!(id >= 0 && id < this.inputDim)) {
        throw this.error("E_INPUT_VALUE", `token id ${ids.data[i]} at flat index ${i} is outside the vocabulary [0, ${this.inputDim})`);
      }
      out.set(this.embeddings.subarray(id * d, (id + 1) * d), i * d);
    }
    return [new Tensor([...ids.shape, d], out)];
  }
}

export const embeddingLayers: LayerDefinition[] = [
  { className: "Embedding", family: "embedding", summary: "ids outside the vocabulary are an error; `mask_zero` not yet", create: (r) => new Embedding(r) },
];
