/**
 * Layers whose one output is shaped like their input and computed position by position
 * (activation layers, normalizations): call() allocates the output and runs callInto(), which
 * streaming also runs on each step without allocating.
 */
import type { Tensor } from "../tensor.js";
import { sizeOf } from "../tensor.js";
import { resolveAxes } from "./axes.js";
import type { ConfigReader } from "./config.js";
import { Layer, POINTWISE, type Masks, type Shape, type StreamBehaviour } from "./layer.js";

export abstract class SameShapeLayer extends Layer {
  override readonly supportsMasking: boolean = true;
  /** Rank of the input the layer was built for (set by computeOutputShapes). */
  protected inputRank = 0;
  /** How many leading weight specs are trainable; the rest are statistics, non-trainable in Keras. */
  protected trainableSpecCount = Infinity;

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    return this.callIntoNew(inputs, masks);
  }

  abstract override callInto(inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): boolean;

  override trainableWeightCount(): number {
    return Math.min(this.trainableSpecCount, this.weightSpecs.length);
  }

  override paramCounts(): { trainable: number; nonTrainable: number } {
    const sizes = this.weightSpecs.map((w) => sizeOf(w.shape));
    const trainable = sizes.slice(0, this.trainableSpecCount).reduce((a, b) => a + b, 0);
    const rest = sizes.slice(this.trainableSpecCount).reduce((a, b) => a + b, 0);
    return this.trainable ? { trainable, nonTrainable: rest } : { trainable: 0, nonTrainable: trainable + rest };
  }

  /**
   * Pointwise under streaming unless the layer takes statistics or parameters along the time axis
   * (axis 1 of an input of rank 3 or more); `reason` says why it then refuses.
   */
  protected pointwiseUnlessTime(usesTimeAxis: boolean, reason: string): StreamBehaviour {
    return this.inputRank < 3 || !usesTimeAxis ? POINTWISE : { kind: "refused", reason };
  }
}

/** A same-shape layer working along the axes its config lists (`axis`: an int or a list of ints). */
export abstract class AxesLayer extends SameShapeLayer {
  readonly axis: number[];
  protected readonly kerasMajor: 2 | 3;
  /** `axis` made non-negative for the input's rank, sorted (set by resolveAxesFor). */
  protected axes: number[] = [];

  constructor(reader: ConfigReader, axisFallback: number[]) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.axis = reader.axisList("axis", axisFallback);
  }

  /** Why the layer cannot stream when `axis` includes the time axis. */
  protected abstract readonly timeAxisReason: string;

  override streamBehaviour(): StreamBehaviour {
    return this.pointwiseUnlessTime(this.axes.includes(1), this.timeAxisReason);
  }

  /** Resolves `axis` against the input's rank (config errors at load time) and records the rank. */
  protected resolveAxesFor(input: Shape): void {
    this.axes = resolveAxes(this, this.axis, input.length);
    this.inputRank = input.length;
  }
}

/** An elementwise layer y = f(x) whose f is fixed by the config (ReLU, LeakyReLU, ELU). */
export class ElementwiseLayer extends SameShapeLayer {
  override readonly freshOutputs = true;
  override readonly inPlace = true;
  override readonly anyRank = true;

  constructor(
    reader: ConfigReader,
    private readonly f: (x: number) => number,
  ) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
  }

  computeOutputShapes([input]: Shape[]): Shape[] {
    this.declareWeights([]);
    return [input];
  }

  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  override callInto(inputs: readonly Tensor[], _masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0].data;
    const y = outputs[0].data;
    for (let i = 0; i < x.length; i++) y[i] = this.f(x[i]);
    return true;
  }
}
