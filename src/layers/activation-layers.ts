/** Activation layers with parameters: ReLU, LeakyReLU, ELU, PReLU, Softmax. */
import { softmaxAlong } from "../kernels/softmax.js";
import { Tensor, formatShape, toFloat32 } from "../tensor.js";
import { BroadcastIndexCache, resolveAxis } from "./axes.js";
import type { ConfigReader } from "./config.js";
import { Layer, POINTWISE, knownDim, type Masks, type Shape, type StreamBehaviour } from "./layer.js";
import { ElementwiseLayer, SameShapeLayer } from "./pointwise.js";
import { family, type LayerDefinition } from "./registry-types.js";

/** ReLU(max_value, negative_slope, threshold): x above threshold (capped), a slope below it. */
function relu(reader: ConfigReader): Layer {
  const maxValue = reader.has("max_value") ? reader.number("max_value") : Infinity;
  const slope = reader.number("negative_slope", 0);
  const threshold = reader.number("threshold", 0);
  const keras2 = reader.context.kerasMajor === 2;
  if (threshold === 0 && slope === 0) return new ClippedRelu(reader, maxValue);
  return new ElementwiseLayer(reader, (x) => {
    // NaN propagates through relu; above a non-zero threshold Keras 2 multiplies x by (x > t), so
    // -Inf gives NaN there.
    const above = threshold === 0 ? (x <= 0 ? 0 : x) : keras2 ? x * (x > threshold ? 1 : 0) : x > threshold ? x : 0;
    const positive = Math.min(above, maxValue);
    return slope === 0 ? positive : positive - slope * Math.max(threshold - x, 0);
  });
}

/**
 * ReLU with only `max_value` (ReLU(6.) in MobileNets): min(max(x, 0), max_value), its loop written
 * out (the shared elementwise loop calls a function per value). NaN goes through, as in Keras.
 */
class ClippedRelu extends ElementwiseLayer {
  constructor(
    reader: ConfigReader,
    private readonly maxValue: number,
  ) {
    super(reader, (x) => (x <= 0 ? 0 : x > maxValue ? maxValue : x));
  }

  fusableClamp(): [number, number] {
    return [0, this.maxValue];
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0].data;
    const y = outputs[0].data;
    const top = this.maxValue;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = v <= 0 ? 0 : v > top ? top : v;
    }
    return true;
  }
}

function leakyRelu(reader: ConfigReader): Layer {
  // Keras 3 calls the slope negative_slope, Keras 2 alpha; both default to 0.3.
  const slope = reader.has("negative_slope") ? reader.number("negative_slope") : reader.number("alpha", 0.3);
  return new ElementwiseLayer(reader, (x) => (x >= 0 ? x : slope * x));
}

function elu(reader: ConfigReader): Layer {
  const alpha = reader.number("alpha", 1);
  return new ElementwiseLayer(reader, (x) => (x > 0 ? x : alpha * Math.expm1(x)));
}

/** PReLU: y = x for x >= 0, alpha * x otherwise, with a learned alpha per position. */
export class PReLU extends SameShapeLayer {
  private readonly sharedAxes: number[];
  private alpha: Float32Array = new Float32Array(0);
  /** alpha's shape: the input's without the batch axis, 1 on the shared axes. */
  private alphaShape: number[] = [];
  private readonly index = new BroadcastIndexCache(() => this.alphaShape);

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    const shared = reader.raw("shared_axes");
    this.sharedAxes =
      shared === undefined || shared === null
        ? []
        : typeof shared === "number"
          ? [shared]
          : reader.intList("shared_axes");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    const shape = input.slice(1).map((_, i) => (this.sharedAxes.includes(i + 1) ? 1 : knownDim(this, input, i + 1)));
    this.alphaShape = shape;
    this.declareWeights([{ name: "alpha", shape }]);
    return [input];
  }

  protected override weightsLoaded([alpha]: Float32Array[]): void {
    this.alpha = alpha;
  }

  override streamBehaviour(): StreamBehaviour {
    // A step is on its own unless alpha differs along the time axis.
    return this.alphaShape.length < 2 || this.alphaShape[0] === 1
      ? POINTWISE
      : { kind: "refused", reason: "has a different alpha per time step (shared_axes without axis 1)" };
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0].data;
    const y = outputs[0].data;
    const index = this.index.get(this, inputs[0].shape);
    for (let i = 0; i < x.length; i++) y[i] = x[i] >= 0 ? x[i] : this.alpha[index[i]] * x[i];
    return true;
  }
}

/** Softmax over one axis (default the last). */
export class SoftmaxLayer extends Layer {
  override readonly supportsMasking = true;
  private readonly configuredAxis: number;
  private axisOfTime = false;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    const axis = reader.raw("axis");
    if (Array.isArray(axis)) {
      if (axis.length !== 1) reader.unsupported(`softmax over several axes ${formatShape(axis)} is not supported`);
      this.configuredAxis = typeof axis[0] === "number" ? axis[0] : -1;
    } else this.configuredAxis = reader.int("axis", -1);
    // tf_keras: how a mask is applied; an incoming mask is refused anyway (see call).
    reader.ignore("robust_masking");
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    const axis = resolveAxis(this, this.configuredAxis, input.length);
    this.axisOfTime = axis === 1 && input.length > 2;
    this.declareWeights([]);
    return [input];
  }

  override streamBehaviour(): StreamBehaviour {
    return this.axisOfTime ? { kind: "refused", reason: "normalizes over the time axis" } : POINTWISE;
  }

  call([x]: Tensor[], masks: Masks): Tensor[] {
    if (masks[0])
      throw this.error(
        "E_UNSUPPORTED",
        "an incoming mask (Keras adds it to the scores with broadcasting that rarely lines up) is not supported",
      );
    const axis = resolveAxis(this, this.configuredAxis, x.rank);
    const n = x.shape[axis];
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = x.size / (n * inner || 1);
    const data = toFloat32(x);
    const out = new Float32Array(data.length);
    softmaxAlong(data, out, outer, n, inner, false);
    return [new Tensor(x.shape, out)];
  }
}

const layer = family("activations");

export const activationLayers: LayerDefinition[] = [
  layer("ReLU", "`max_value`, `negative_slope`, `threshold`", relu),
  layer("LeakyReLU", "`negative_slope` (Keras 3) / `alpha` (Keras 2)", leakyRelu),
  layer("ELU", "`alpha`", elu),
  layer("PReLU", "learned `alpha`, `shared_axes`", (r) => new PReLU(r)),
  layer("Softmax", "any single `axis`", (r) => new SoftmaxLayer(r)),
];
