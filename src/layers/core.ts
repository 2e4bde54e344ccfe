/** Core layers: InputLayer, Dense, Activation, and the layers that are the identity at inference. */
import type { Activation } from "../kernels/activations.js";
import { planProduct, type MatrixProduct } from "../kernels/gemm/index.js";
import { choicePlan, type KernelPlan } from "../kernels/plan.js";
import { Tensor, sizeOf } from "../tensor.js";
import type { ConfigReader } from "./config.js";
import { Layer, POINTWISE, knownDim, type Mask, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import type { LayerDefinition } from "./registry-types.js";

/** A layer that hands its input on unchanged (and streams as the identity). */
export abstract class IdentityLayer extends Layer {
  call(inputs: Tensor[]): Tensor[] {
    return inputs;
  }

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    // call() handed its input on, so the outputs are normally the inputs themselves.
    if (outputs[0] !== inputs[0]) (outputs[0].data as Float32Array).set(inputs[0].data);
    return true;
  }
}

/** A model input. The graph feeds it; it is never called. */
export class InputLayer extends IdentityLayer {
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
}

/** Dense: y = activation(x · kernel + bias) on the last axis. */
export class Dense extends Layer {
  override readonly anyRank = true;
  readonly units: number;
  readonly activation: Activation;
  readonly useBias: boolean;
  override readonly supportsMasking = true;
  override readonly freshOutputs = true;
  private inputDim = 0;
  /** x · kernel + bias, with the activation fused in when it keeps the width. */
  private product: MatrixProduct | null = null;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.units = reader.positiveInt("units");
    this.activation = reader.activation("activation", "linear");
    this.useBias = reader.bool("use_bias", true);
    reader.refuseAdapters();
    if (!Number.isInteger(this.activation.outputDim(this.units))) {
      reader.unsupported(`activation ${this.activation.name} needs an even number of units`);
    }
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.expectRank(input, [2, 8]);
    const inputDim = knownDim(this, input, -1);
    if (!this.built) this.inputDim = inputDim;
    else if (inputDim !== this.inputDim)
      throw this.error("E_CONFIG", `was built for ${this.inputDim} input features, now called with ${inputDim}`);
    this.declareWeights([
      { name: "kernel", shape: [inputDim, this.units] },
      ...(this.useBias ? [{ name: "bias", shape: [this.units] }] : []),
    ]);
    return [[...input.slice(0, -1), this.activation.outputDim(this.units)]];
  }

  protected override weightsLoaded([kernel, bias]: Float32Array[]): void {
    const fused = this.keepsWidth() ? this.activation : null;
    this.product = planProduct(kernel, this.useBias ? bias : null, fused, this.inputDim, this.units);
    if (this.product.held !== undefined) this.releaseLoadedWeights();
  }

  override getWeights(): Float32Array[] {
    return this.product?.held?.() ?? super.getWeights();
  }

  /** The matrix product's backend, and why (kernelPlans, inspect --kernels). */
  override kernelPlan(): KernelPlan | null {
    return choicePlan(this.product);
  }

  /** The matrix-product backend this layer runs on, and why (for summaries). */
  get backend(): string {
    return describeBackend(this.kernelPlan());
  }

  private keepsWidth(): boolean {
    return this.activation.outputDim(this.units) === this.units;
  }

  call([x]: Tensor[]): Tensor[] {
    const rows = x.size / this.inputDim;
    const pre = new Float32Array(rows * this.units);
    this.loadedProduct().run(toFloat32(x), 0, rows, pre, 0);
    const shape = [...x.shape.slice(0, -1), this.units];
    return [this.keepsWidth() ? new Tensor(shape, pre) : applyActivation(this.activation, pre, shape)];
  }

  private loadedProduct(): MatrixProduct {
    if (this.product === null) throw this.error("E_CONFIG", "is called before its weights are loaded");
    return this.product;
  }

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const out = outputs[0];
    if (!this.keepsWidth() || !(x.data instanceof Float32Array)) return false;
    this.loadedProduct().run(x.data, 0, x.size / this.inputDim, out.data as Float32Array, 0);
    return true;
  }
}

/** Activation: applies a named activation on the last axis. */
export class ActivationLayer extends Layer {
  override readonly supportsMasking = true;
  override readonly freshOutputs = true;
  override readonly inPlace = true;
  override readonly anyRank = true;
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

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const out = outputs[0];
    const last = x.shape[x.shape.length - 1];
    if (this.activation.outputDim(last) !== last) return false;
    const y = out.data as Float32Array;
    y.set(x.data);
    this.activation.apply(y, 0, y, 0, last === 0 ? 0 : x.size / last, last);
    return true;
  }
}

/** Layers that only act during training (dropout and noise): the identity at inference. */
export class InferenceIdentity extends IdentityLayer {
  override readonly supportsMasking: boolean = true;
  override readonly anyRank = true;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    reader.ignoreEveryOption(); // rates, noise shapes, seeds: they act only in training
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, 1);
    this.declareWeights([]);
    return inputShapes;
  }
}

/**
 * Masking(mask_value): a position whose features all equal mask_value is masked; its features
 * become 0 and the mask travels on to the layers that use it.
 */
export class Masking extends Layer {
  override readonly supportsMasking = true;
  override readonly createsMask = true;
  readonly maskValue: number;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.maskValue = reader.number("mask_value", 0);
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    this.expectInputs(inputShapes, 1);
    this.expectRank(inputShapes[0], [2, 8]);
    this.declareWeights([]);
    return inputShapes;
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const out = outputs[0];
    const features = x.shape[x.rank - 1];
    const data = x.data;
    const y = out.data;
    for (let row = 0; row * features < data.length; row++) {
      const kept = this.keeps(data, row * features, features);
      for (let j = row * features; j < (row + 1) * features; j++) y[j] = kept ? data[j] : 0;
    }
    return true;
  }

  override computeMask([x]: readonly Tensor[]): (Mask | null)[] {
    const features = x.shape[x.rank - 1];
    const shape = x.shape.slice(0, -1);
    const data = new Uint8Array(sizeOf(shape));
    for (let row = 0; row < data.length; row++) data[row] = this.keeps(x.data, row * features, features) ? 1 : 0;
    return [{ shape, data }];
  }

  /** Keras: kept when any feature differs from mask_value (NaN differs from everything). */
  private keeps(data: ArrayLike<number>, offset: number, features: number): boolean {
    for (let j = 0; j < features; j++) if (data[offset + j] !== this.maskValue) return true;
    return false;
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

/** A layer's kernel plan as its `backend` reports it for summaries ("not loaded" before its weights are). */
export function describeBackend(plan: KernelPlan | null): string {
  return plan === null ? "not loaded" : `${plan.backend} (${plan.why.join("; ")})`;
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
  {
    className: "InputLayer",
    family: "core",
    summary: "model input (from `batch_shape` / `batch_input_shape`)",
    create: null,
  },
  {
    className: "Dense",
    family: "core",
    summary: "every activation; `use_bias`; inputs of any rank",
    create: (r) => new Dense(r),
  },
  {
    className: "Activation",
    family: "core",
    summary: "every built-in activation by name",
    create: (r) => new ActivationLayer(r),
  },
  {
    className: "Masking",
    family: "core",
    summary: "`mask_value`; the mask reaches every layer that uses one, as in Keras",
    create: (r) => new Masking(r),
  },
  identity("Dropout", "identity at inference"),
  identity("SpatialDropout1D", "identity at inference"),
  identity("SpatialDropout2D", "identity at inference"),
  identity("SpatialDropout3D", "identity at inference"),
  identity("GaussianNoise", "identity at inference"),
  identity("GaussianDropout", "identity at inference"),
  identity("AlphaDropout", "identity at inference"),
  identity("ActivityRegularization", "identity at inference"),
];
