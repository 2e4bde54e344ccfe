/** Core layers: InputLayer, Dense, Activation, and the layers that are the identity at inference. */
import type { Activation } from "../kernels/activations.js";
import { matmulBias } from "../kernels/matmul.js";
import { Tensor, sizeOf } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, knownDim, type Shape } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

/** A model input. The graph feeds it; it is never called. */
export class InputLayer extends Layer {
  constructor(
    name: string,
    readonly batchShape: Shape,
    readonly dtype: "float32" | "int32",
  ) {
    super(name, "InputLayer");
  }

  computeOutputShapes(): Shape[] {
    return [this.batchShape];
  }

  call(inputs: Tensor[]): Tensor[] {
    return inputs;
  }
}

/** Dense: y = activation(x · kernel + bias) on the last axis. */
export class Dense extends Layer {
  readonly units: number;
  readonly activation: Activation;
  readonly useBias: boolean;
  private kernel: Float32Array = new Float32Array(0);
  private bias: Float32Array | null = null;
  private inputDim = 0;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.units = reader.positiveInt("units");
    this.activation = reader.activation("activation", "linear");
    this.useBias = reader.bool("use_bias", true);
    if (reader.has("lora_rank")) reader.unsupported("LoRA-adapted Dense layers (lora_rank) are not supported");
    if (reader.has("quantization_config")) reader.unsupported("quantized Dense layers are not supported");
    if (!Number.isInteger(this.activation.outputDim(this.units))) {
      reader.unsupported(`activation ${this.activation.name} needs an even number of units`);
    }
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, [2, 8]);
    const inputDim = knownDim(this, input, -1);
    if (!this.built) this.inputDim = inputDim;
    else if (inputDim !== this.inputDim) throw this.error("E_CONFIG", `was built for ${this.inputDim} input features, now called with ${inputDim}`);
    this.declareWeights([
      { name: "kernel", shape: [inputDim, this.units] },
      ...(this.useBias ? [{ name: "bias", shape: [this.units] }] : []),
    ]);
    return [[...input.slice(0, -1), this.activation.outputDim(this.units)]];
  }

  protected override weightsLoaded([kernel, bias]: Float32Array[]): void {
    this.kernel = kernel;
    this.bias = this.useBias ? bias : null;
  }

  call([x]: Tensor[]): Tensor[] {
    const rows = x.size / this.inputDim;
    const pre = new Float32Array(rows * this.units);
    matmulBias(toFloat32(x), 0, this.kernel, this.bias, pre, 0, rows, this.inputDim, this.units, new Float64Array(this.units));
    return [applyActivation(this.activation, pre, [...x.shape.slice(0, -1), this.units])];
  }
}

/** Activation: applies a named activation on the last axis. */
export class ActivationLayer extends Layer {
  readonly activation: Activation;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.activation = reader.activation("activation", "linear");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([]);
    if (this.activation.elementwise) return [input];
    const last = knownDim(this, input, -1);
    return [[...input.slice(0, -1), this.activation.outputDim(last)]];
  }

  call([x]: Tensor[]): Tensor[] {
    return [applyActivation(this.activation, Float32Array.from(x.data), x.shape)];
  }
}

/** Layers that only act during training (dropout and noise): the identity at inference. */
export class InferenceIdentity extends Layer {
  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, 1);
    this.declareWeights([]);
    return inputShapes;
  }

  call(inputs: Tensor[]): Tensor[] {
    return inputs;
  }
}

/** Applies `activation` over the last axis of `values` (shape `shape`), in place when it can. */
export function applyActivation(activation: Activation, values: Float32Array, shape: readonly number[]): Tensor {
  const last = shape.length === 0 ? 1 : shape[shape.length - 1];
  const rows = last === 0 ? 0 : values.length / last;
  const outLast = activation.outputDim(last);
  if (outLast === last) {
    activation.apply(values, 0, values, 0, rows, last);
    return new Tensor(shape, values);
  }
  const out = new Float32Array(rows * outLast);
  activation.apply(values, 0, out, 0, rows, last);
  return new Tensor([...shape.slice(0, -1), outLast], out);
}

/** The tensor's values as float32 (integer inputs are converted, as Keras casts them). */
export function toFloat32(x: Tensor): Float32Array {
  return x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
}

export function elementCount(shape: Shape): number | null {
  return shape.some((d) => d === null) ? null : sizeOf(shape as number[]);
}

const identity = (className: string, summary: string): LayerDefinition => ({
  className,
  family: "core",
  summary,
  create: (reader) => new InferenceIdentity(reader),
});

export const coreLayers: LayerDefinition[] = [
  { className: "InputLayer", family: "core", summary: "model input (from `batch_shape` / `batch_input_shape`)", create: null },
  { className: "Dense", family: "core", summary: "every activation; `use_bias`; inputs of any rank", create: (r) => new Dense(r) },
  { className: "Activation", family: "core", summary: "every built-in activation by name", create: (r) => new ActivationLayer(r) },
  identity("Dropout", "identity at inference"),
  identity("SpatialDropout1D", "identity at inference"),
  identity("SpatialDropout2D", "identity at inference"),
  identity("SpatialDropout3D", "identity at inference"),
  identity("GaussianNoise", "identity at inference"),
  identity("GaussianDropout", "identity at inference"),
  identity("AlphaDropout", "identity at inference"),
  identity("ActivityRegularization", "identity at inference"),
];
