/**
 * Wrappers: Bidirectional (two recurrent layers over the same sequence, one reading it backwards)
 * and TimeDistributed (one layer applied to every time step). The wrapped layers are ordinary
 * layers created from the nested config; the wrapper routes shapes, weights, masks and values.
 */
import { Tensor, formatShape, type TensorData } from "../tensor.js";
import { isObject, type ConfigReader, type JsonObject } from "./config.js";
import { toFloat32 } from "./core.js";
import { Layer, POINTWISE, type Mask, type Masks, type Shape, type StreamBehaviour, type WeightSpec } from "./layer.js";
import { bidirectionalPlan, type KernelPlan } from "../kernels/plan.js";
import { RecurrentLayer } from "./recurrent.js";
import type { LayerDefinition } from "./registry-types.js";

type MergeMode = "concat" | "sum" | "mul" | "ave" | null;

/** Weight specs of an inner layer, named under it as legacy files name them. */
function innerSpecs(layer: Layer): WeightSpec[] {
  return layer.weightSpecs.map((w) => ({ name: `${layer.name}/${w.name}`, shape: w.shape }));
}

/** Hands a wrapper's weights (in its weightSpecs order) on to its inner layers, in order. */
function distributeWeights(weights: Float32Array[], layers: Layer[]): void {
  let next = 0;
  for (const layer of layers) {
    const specs = layer.weightSpecs;
    layer.setWeights(specs.map((spec, i) => ({ shape: spec.shape, data: weights[next + i] })));
    next += specs.length;
  }
}

/** Parameter counts of a wrapper: its inner layers', all non-trainable when the wrapper is frozen. */
function wrapperParamCounts(wrapper: Layer, layers: Layer[]): { trainable: number; nonTrainable: number } {
  let trainable = 0;
  let nonTrainable = 0;
  for (const layer of layers) {
    const counts = layer.paramCounts();
    if (wrapper.trainable) trainable += counts.trainable;
    else nonTrainable += counts.trainable;
    nonTrainable += counts.nonTrainable;
  }
  return { trainable, nonTrainable };
}

/** [batch, time, width] with the time axis reversed (Keras flips the backward layer's sequence). */
function reverseTime(x: Float32Array, batch: number, time: number, width: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      const from = (b * time + t) * width;
      out.set(x.subarray(from, from + width), (b * time + (time - 1 - t)) * width);
    }
  }
  return out;
}

/**
 * Bidirectional: a forward and a backward recurrent layer over the same input; their outputs are
 * merged (concat, sum, mul, ave) or returned as two outputs (merge_mode None). With
 * return_state the outputs are [output(s), forward states..., backward states...]; initial
 * states arrive as [x, forward states..., backward states...] (the first half is the forward's).
 */
export class Bidirectional extends Layer {
  override readonly supportsMasking = true;
  readonly mergeMode: MergeMode;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  private readonly forward: Layer | null;
  private readonly backward: Layer | null;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    const mode = reader.raw("merge_mode") ?? null;
    if (mode !== null && mode !== "concat" && mode !== "sum" && mode !== "mul" && mode !== "ave") {
      throw this.error("E_CONFIG", `merge_mode ${JSON.stringify(mode)} is not one of concat, sum, mul, ave, None`);
    }
    this.mergeMode = mode;
    if (reader.int("num_constants", 0) > 0) reader.unsupported("constants (num_constants) are not supported");
    reader.ignore("weights"); // Keras 3: initial weights (the file has the trained ones)
    const forwardConfig = this.innerConfig(reader, "layer");
    const backwardConfig = reader.has("backward_layer")
      ? this.innerConfig(reader, "backward_layer")
      : this.mirrored(forwardConfig, reader);
    const flag = (config: JsonObject, key: string): boolean => config[key] === true;
    this.returnSequences = flag(forwardConfig.config as JsonObject, "return_sequences");
    this.returnState = flag(forwardConfig.config as JsonObject, "return_state");
    for (const key of ["go_backwards", "return_sequences", "return_state", "stateful"]) {
      const f = flag(forwardConfig.config as JsonObject, key);
      const b = flag(backwardConfig.config as JsonObject, key);
      if ((key === "go_backwards") === (f === b)) {
        throw this.error(
          "E_CONFIG",
          `the forward and backward layers have ${key}=${f ? "True" : "False"} and ${b ? "True" : "False"}; ` +
            `Keras requires ${key === "go_backwards" ? "different" : "equal"} values`,
        );
      }
    }
    // Keras gives masked steps of both halves zero outputs exactly when sequences are returned.
    for (const config of [forwardConfig, backwardConfig])
      (config.config as JsonObject).zero_output_for_mask = this.returnSequences;
    this.forward = reader.context.createLayer(forwardConfig);
    this.backward = reader.context.createLayer(backwardConfig);
    for (const [which, layer] of [
      ["layer", this.forward],
      ["backward_layer", this.backward],
    ] as const) {
      if (layer !== null && !(layer instanceof RecurrentLayer))
        reader.unsupported(
          `${which} is a ${layer.className}; only LSTM, GRU, SimpleRNN, ConvLSTM1D/2D/3D ` +
            "(and CuDNNLSTM, CuDNNGRU) can be wrapped",
        );
    }
  }

  /** A copy of the nested layer config under `key` (it is changed before the layer is created). */
  private innerConfig(reader: ConfigReader, key: string): JsonObject {
    const v = reader.raw(key);
    if (!isObject(v) || typeof v.class_name !== "string" || !isObject(v.config)) {
      throw this.error("E_CONFIG", `config "${key}" is not a serialized layer`);
    }
    return { ...v, config: { ...v.config } };
  }

  /**
   * The backward layer Keras derives from `layer` when no backward_layer is given: the same
   * config reading the other way (Keras 3 always sets go_backwards; Keras 2 flips it).
   */
  private mirrored(forward: JsonObject, reader: ConfigReader): JsonObject {
    const config = forward.config as JsonObject;
    const goBackwards = reader.context.kerasMajor === 3 ? true : config.go_backwards !== true;
    return { ...forward, config: { ...config, go_backwards: goBackwards, name: `backward_${String(config.name)}` } };
  }

  /** Both halves' plans: the forward's and the backward's backends (they may differ, e.g. in units). */
  override kernelPlan(): KernelPlan | null {
    const [forward, backward] = this.halves.map((half) => half.kernelPlan());
    if (forward === null || backward === null) return forward ?? backward;
    return bidirectionalPlan(forward, backward);
  }

  /** The forward and the backward layer (model.resetStates() reaches stateful ones through it). */
  get halves(): [Layer, Layer] {
    if (this.forward === null || this.backward === null)
      throw this.error("E_UNSUPPORTED", "its wrapped layers are not supported");
    return [this.forward, this.backward];
  }

  override get sublayers(): readonly Layer[] {
    return this.halves;
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    const [forward, backward] = this.halves;
    this.expectInputs(inputShapes, [1, 5]);
    const [x, ...states] = inputShapes;
    if (states.length % 2 !== 0) {
      throw this.error(
        "E_CONFIG",
        `initial_state must hold the forward and the backward layer's states (an even number), got ${states.length}`,
      );
    }
    const half = states.length / 2;
    const [forwardOut, ...forwardStates] = forward.computeOutputShapes([x, ...states.slice(0, half)]);
    const [backwardOut, ...backwardStates] = backward.computeOutputShapes([x, ...states.slice(half)]);
    this.declareWeights([...innerSpecs(forward), ...innerSpecs(backward)]);
    let outputs: Shape[];
    if (this.mergeMode === null) {
      outputs = [forwardOut, backwardOut];
    } else if (this.mergeMode === "concat") {
      const width = (s: Shape): number | null => s[s.length - 1];
      const total =
        width(forwardOut) === null || width(backwardOut) === null ? null : width(forwardOut)! + width(backwardOut)!;
      outputs = [[...forwardOut.slice(0, -1), total]];
    } else {
      if (forwardOut.length !== backwardOut.length || forwardOut.some((d, i) => d !== backwardOut[i])) {
        throw this.error(
          "E_CONFIG",
          `merge_mode ${this.mergeMode} needs equal forward and backward outputs, ` +
            `got ${formatShape(forwardOut)} and ${formatShape(backwardOut)}`,
        );
      }
      outputs = [forwardOut];
    }
    return [...outputs, ...forwardStates, ...backwardStates];
  }

  override weightPaths(countVars: (varsGroup: string) => number): string[] {
    const [forward, backward] = this.halves;
    const under = (owner: string, layer: Layer): string[] =>
      layer.weightPaths((group) => countVars(`${owner}/${group}`)).map((p) => `${owner}/${p}`);
    return [...under("forward_layer", forward), ...under("backward_layer", backward)];
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    distributeWeights(weights, this.halves);
    this.releaseLoadedWeights();
  }

  override getWeights(): Float32Array[] {
    return this.halves.flatMap((half) => half.getWeights());
  }

  override paramCounts(): { trainable: number; nonTrainable: number } {
    return wrapperParamCounts(this, this.halves);
  }

  override streamBehaviour(): StreamBehaviour {
    return { kind: "refused", reason: "reads the whole sequence backwards too (Bidirectional)" };
  }

  call(inputs: Tensor[], masks: Masks): Tensor[] {
    const [forward, backward] = this.halves;
    const [x, ...states] = inputs;
    const half = states.length / 2;
    const sequenceMask = masks[0] ?? null;
    const forwardResult = forward.call(
      [x, ...states.slice(0, half)],
      [sequenceMask, ...states.slice(0, half).map(() => null)],
    );
    const backwardResult = backward.call(
      [x, ...states.slice(half)],
      [sequenceMask, ...states.slice(half).map(() => null)],
    );
    const y = forwardResult[0];
    let yRev = backwardResult[0];
    if (this.returnSequences) {
      const [batch, time] = yRev.shape;
      // A step's values: units, or a ConvLSTM's [...spatial, filters].
      const width = yRev.shape.slice(2).reduce((p, d) => p * d, 1);
      yRev = new Tensor(yRev.shape, reverseTime(toFloat32(yRev), batch, time, width));
    }
    return [...this.merge(y, yRev), ...forwardResult.slice(1), ...backwardResult.slice(1)];
  }

  private merge(y: Tensor, yRev: Tensor): Tensor[] {
    if (this.mergeMode === null) return [y, yRev];
    const a = toFloat32(y);
    const b = toFloat32(yRev);
    if (this.mergeMode === "concat") {
      const wa = y.shape[y.rank - 1];
      const wb = yRev.shape[yRev.rank - 1];
      const rows = a.length / wa;
      const out = new Float32Array(rows * (wa + wb));
      for (let r = 0; r < rows; r++) {
        out.set(a.subarray(r * wa, (r + 1) * wa), r * (wa + wb));
        out.set(b.subarray(r * wb, (r + 1) * wb), r * (wa + wb) + wa);
      }
      return [new Tensor([...y.shape.slice(0, -1), wa + wb], out)];
    }
    const out = new Float32Array(a.length);
    if (this.mergeMode === "sum") for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
    else if (this.mergeMode === "mul") for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i];
    else for (let i = 0; i < a.length; i++) out[i] = (a[i] + b[i]) / 2;
    return [new Tensor(y.shape, out)];
  }

  /** Keras: with return_sequences every sequence output carries the input's mask; states none. */
  override computeMask(_inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): (Mask | null)[] {
    const mask = this.returnSequences ? (masks[0] ?? null) : null;
    const sequenceOutputs = this.mergeMode === null ? 2 : 1;
    return outputs.map((_, i) => (i < sequenceOutputs ? mask : null));
  }
}

/**
 * TimeDistributed: the inner layer applied to every time step. [batch, time, ...] is viewed as
 * [batch*time, ...] (the same row-major data), as Keras reshapes, and the result viewed back.
 */
export class TimeDistributed extends Layer {
  override readonly supportsMasking = true;
  private readonly inner: Layer | null;
  private readonly kerasMajor: 2 | 3;

  constructor(reader: ConfigReader) {
    super(reader.layerName, reader.className, reader.bool("trainable", true));
    this.kerasMajor = reader.context.kerasMajor;
    this.inner = reader.layer("layer");
  }

  private get layer(): Layer {
    if (this.inner === null) throw this.error("E_UNSUPPORTED", "its wrapped layer is not supported");
    return this.inner;
  }

  computeOutputShapes(inputShapes: Shape[]): Shape[] {
    const inner = this.layer;
    this.expectInputs(inputShapes, 1);
    const [x] = inputShapes;
    this.expectRank(x, [3, 8]);
    const rows = x[0] === null || x[1] === null ? null : x[0] * x[1];
    const innerOut = inner.computeOutputShapes([[rows, ...x.slice(2)]]);
    if (innerOut.length !== 1) {
      throw this.error(
        "E_UNSUPPORTED",
        `the wrapped ${inner.className} gives ${innerOut.length} outputs; TimeDistributed needs one`,
      );
    }
    this.declareWeights(innerSpecs(inner));
    return [[x[0], x[1], ...innerOut[0].slice(1)]];
  }

  override weightPaths(countVars: (varsGroup: string) => number): string[] {
    return this.layer.weightPaths((group) => countVars(`layer/${group}`)).map((p) => `layer/${p}`);
  }

  protected override weightsLoaded(weights: Float32Array[]): void {
    distributeWeights(weights, [this.layer]);
    this.releaseLoadedWeights();
  }

  override getWeights(): Float32Array[] {
    return this.layer.getWeights();
  }

  override paramCounts(): { trainable: number; nonTrainable: number } {
    return wrapperParamCounts(this, [this.layer]);
  }

  // Every time step is computed on its own, whatever the inner layer does within a step.
  override streamBehaviour(): StreamBehaviour {
    return POINTWISE;
  }

  /** Views of the last streamed step's buffers as [batch*time, ...], reused while they stay. */
  private streamViews: {
    input: TensorData;
    output: TensorData;
    mask: Uint8Array | null;
    inputs: Tensor[];
    masks: (Mask | null)[];
    outputs: Tensor[];
  } | null = null;

  override callInto(inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): boolean {
    const x = inputs[0];
    const out = outputs[0];
    // An inner layer that handed its input on shares it with the output: let call() rebuild.
    if (out.data === x.data) return false;
    const mask = masks[0] ?? null;
    let cached = this.streamViews;
    if (
      cached === null ||
      cached.input !== x.data ||
      cached.output !== out.data ||
      cached.mask !== (mask?.data ?? null)
    ) {
      const rows = x.shape[0] * x.shape[1];
      cached = this.streamViews = {
        input: x.data,
        output: out.data,
        mask: mask?.data ?? null,
        inputs: [new Tensor([rows, ...x.shape.slice(2)], x.data)],
        masks: [mask === null ? null : { shape: [rows, ...mask.shape.slice(2)], data: mask.data }],
        outputs: [new Tensor([rows, ...out.shape.slice(2)], out.data)],
      };
    }
    return this.layer.callInto(cached.inputs, cached.masks, cached.outputs);
  }

  call([x]: Tensor[], masks: Masks): Tensor[] {
    const [batch, time, ...rest] = x.shape;
    const mask = masks[0] ?? null;
    const innerMask = mask === null ? null : { shape: [batch * time, ...mask.shape.slice(2)], data: mask.data };
    const [y] = this.layer.call([new Tensor([batch * time, ...rest], x.data)], [innerMask]);
    return [new Tensor([batch, time, ...y.shape.slice(1)], y.data)];
  }

  /**
   * Keras 3 hands the input mask on unchanged. tf.keras asks the inner layer for the mask of
   * the flattened steps; when that has none, the input mask reduced to [batch, time] (any).
   */
  override computeMask(inputs: readonly Tensor[], masks: Masks, outputs: readonly Tensor[]): (Mask | null)[] {
    const mask = masks[0] ?? null;
    if (this.kerasMajor === 3) return [mask];
    const inner = this.layer;
    const [x] = inputs;
    const [batch, time, ...rest] = x.shape;
    const [y] = outputs;
    const innerMask = mask === null ? null : { shape: [batch * time, ...mask.shape.slice(2)], data: mask.data };
    const computed = inner.supportsMasking
      ? inner.computeMask(
          [new Tensor([batch * time, ...rest], x.data)],
          [innerMask],
          [new Tensor([batch * time, ...y.shape.slice(2)], y.data)],
        )[0]
      : null;
    if (computed !== null && computed !== undefined)
      return [{ shape: [batch, time, ...computed.shape.slice(1)], data: computed.data }];
    if (mask === null) return [null];
    if (mask.shape.length === 2) return [mask];
    const perStep = mask.data.length / (batch * time);
    const reduced = new Uint8Array(batch * time);
    for (let r = 0; r < batch * time; r++) {
      for (let k = 0; k < perStep; k++) {
        if (mask.data[r * perStep + k] !== 0) {
          reduced[r] = 1;
          break;
        }
      }
    }
    return [{ shape: [batch, time], data: reduced }];
  }
}

export const wrapperLayers: LayerDefinition[] = [
  {
    className: "Bidirectional",
    family: "wrappers",
    summary:
      "wraps `LSTM`, `GRU`, `SimpleRNN`, `ConvLSTM1D/2D/3D` (and `CuDNNLSTM`, `CuDNNGRU`); " +
      "`merge_mode` concat, sum, mul, ave, None; " +
      "`return_sequences`, `return_state`, `initial_state` (forward half first); " +
      "a `backward_layer` that differs; masks",
    create: (r) => new Bidirectional(r),
  },
  {
    className: "TimeDistributed",
    family: "wrappers",
    summary:
      "around any supported single-output layer (steps folded into the batch, as Keras reshapes); " +
      "masks as Keras 3 / tf.keras pass them",
    create: (r) => new TimeDistributed(r),
  },
];
