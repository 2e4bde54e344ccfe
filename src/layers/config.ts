/**
 * Typed reads of a layer's Keras config. Malformed values are E_CONFIG errors; values that are
 * well-formed but not supported are reported as problems so that loading can list them all.
 */
import { KeraslessError } from "../errors.js";
import { getActivation, type Activation, type KerasMajor } from "../kernels/activations.js";
import type { Layer, LayerContext } from "./layer.js";

export type JsonObject = { [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export class ConfigReader {
  /**
   * The keys the layer looked at (read, tested or declared irrelevant): any other key of its
   * config is one the layer does not know (see unknownKeys). Shared with derived readers.
   */
  private readonly known: Set<string>;
  private anyKey = false;

  constructor(
    readonly layerName: string,
    readonly className: string,
    readonly config: JsonObject,
    readonly context: LayerContext,
    known?: Set<string>,
  ) {
    this.known = known ?? new Set();
  }

  /** A reader of this config with some keys overridden, recording what it reads here too. */
  withOverrides(overrides: JsonObject): ConfigReader {
    return new ConfigReader(this.layerName, this.className, { ...this.config, ...overrides }, this.context, this.known);
  }

  has(key: string): boolean {
    this.known.add(key);
    return Object.prototype.hasOwnProperty.call(this.config, key) && this.config[key] !== null;
  }

  raw(key: string): unknown {
    this.known.add(key);
    return Object.prototype.hasOwnProperty.call(this.config, key) ? this.config[key] : undefined;
  }

  /**
   * Options Keras accepts for this class that change nothing at inference (dropout rates, seeds,
   * `unroll`, ...): the layer knows them without reading them.
   */
  ignore(...keys: string[]): void {
    for (const key of keys) this.known.add(key);
  }

  /**
   * Keras 3's LoRA adapters (`lora_rank`, scaled by `lora_alpha`) and quantized layers
   * (`quantization_config`), which kerasless does not run.
   */
  refuseAdapters(): void {
    if (this.has("lora_rank")) this.unsupported(`LoRA-adapted ${this.className} layers (lora_rank) are not supported`);
    if (this.has("quantization_config")) this.unsupported(`quantized ${this.className} layers are not supported`);
    this.ignore("lora_alpha");
  }

  /** For layers that are the identity at inference whatever their options (dropout, augmentation). */
  ignoreEveryOption(): void {
    this.anyKey = true;
  }

  /**
   * The keys of the config the layer did not look at and that Keras' base Layer does not take
   * for the file's Keras version: Keras refuses such a key (an unknown keyword argument), and a
   * file that has one was most likely written by a custom class of the same name.
   */
  unknownKeys(): string[] {
    if (this.anyKey) return [];
    const base = BASE_LAYER_KEYS[this.context.kerasMajor];
    return Object.keys(this.config).filter((key) => !this.known.has(key) && !base.has(key) && !TRAINING_ONLY.test(key));
  }

  number(key: string, fallback?: number): number {
    const v = this.raw(key);
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.invalid(key, "a number");
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v)) throw this.invalid(key, "an integer");
    return v;
  }

  positiveInt(key: string, fallback?: number): number {
    const v = this.int(key, fallback);
    if (v < 1) throw this.invalid(key, "a positive integer");
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") throw this.invalid(key, "true or false");
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.raw(key);
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (typeof v !== "string") throw this.invalid(key, "a string");
    return v;
  }

  intList(key: string): number[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || !v.every((d) => typeof d === "number" && Number.isInteger(d))) {
      throw this.invalid(key, "a list of integers");
    }
    return v as number[];
  }

  /** `key` as Keras accepts an axis argument: an int or a list of ints, as given (see resolveAxes). */
  axisList(key: string, fallback: number[]): number[] {
    const v = this.raw(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v === "number" && Number.isInteger(v)) return [v];
    if (Array.isArray(v) && v.every((a) => typeof a === "number" && Number.isInteger(a))) return v as number[];
    throw this.invalid(key, "an integer or a list of integers");
  }

  /** A [left, right] pair from an int (both sides) or a two-element list, as Keras standardizes it. */
  sidePair(key: string, fallback: number): [number, number] {
    const v = this.raw(key);
    if (Array.isArray(v)) {
      if (v.length !== 2 || !v.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0))
        throw this.invalid(key, "two non-negative integers");
      return [v[0], v[1]];
    }
    const n = this.int(key, fallback);
    if (n < 0) throw this.invalid(key, "a non-negative integer");
    return [n, n];
  }

  /** Numbers in a config value: a number, nested lists, or Keras 3's serialized numpy array; null when absent. */
  numberArray(key: string): { shape: number[]; values: Float64Array } | null {
    let v = this.raw(key);
    if (v === undefined || v === null) return null;
    if (isObject(v) && v.class_name === "__numpy__" && isObject(v.config)) v = v.config.value;
    const shape: number[] = [];
    for (let level: unknown = v; Array.isArray(level); level = level[0]) {
      shape.push(level.length);
      if (level.length === 0) break;
    }
    const values: number[] = [];
    const walk = (node: unknown, depth: number): boolean => {
      if (depth === shape.length) {
        if (typeof node !== "number" || !Number.isFinite(node)) return false;
        values.push(node);
        return true;
      }
      return Array.isArray(node) && node.length === shape[depth] && node.every((child) => walk(child, depth + 1));
    };
    if (!walk(v, 0)) throw this.invalid(key, "a number or a rectangular array of numbers");
    return { shape, values: Float64Array.from(values) };
  }

  /** Where the channels axis is: [batch, steps, channels] or (channels_first) [batch, channels, steps]. */
  dataFormat(): "channels_last" | "channels_first" {
    const format = this.string("data_format", "channels_last");
    if (format !== "channels_last" && format !== "channels_first") {
      throw this.configError(`data_format ${describe(format)} is neither "channels_last" nor "channels_first"`);
    }
    return format;
  }

  /** A layer serialized in this config (a wrapper's inner layer); null when reported unsupported. */
  layer(key: string): Layer | null {
    const v = this.raw(key);
    if (!isObject(v) || typeof v.class_name !== "string") throw this.invalid(key, "a serialized layer");
    return this.context.createLayer(v);
  }

  /** Resolves an activation named in the config (a string, or a serialized built-in). */
  activation(key: string, fallback: string): Activation {
    const v = this.raw(key);
    let name: string | undefined;
    if (v === undefined || v === null) name = fallback;
    else if (typeof v === "string") name = v;
    else if (
      isObject(v) &&
      typeof v.config === "string" &&
      (v.class_name === "function" || v.registered_name === "function")
    ) {
      // Keras 3 serializes some built-ins as {"class_name": "function", "config": "relu", ...}.
      name = typeof v.module === "string" && !v.module.startsWith("keras") ? undefined : v.config;
    } else if (isObject(v) && typeof v.class_name === "string" && typeof v.module !== "string") {
      name = v.class_name; // Keras 2 style {"class_name": "relu", "config": {}}
    }
    const activation = name === undefined ? undefined : getActivation(name, this.context.kerasMajor);
    if (activation === undefined) {
      const keras = `Keras ${this.context.kerasMajor}`;
      this.unsupported(
        `${key} ${describe(v)} is not a built-in ${keras} activation (custom functions are never executed)`,
      );
      return getActivation("linear", this.context.kerasMajor)!;
    }
    return activation;
  }

  /** Records an unsupported option; loading fails after the whole model has been checked. */
  unsupported(problem: string): void {
    this.context.report({ layer: this.layerName, className: this.className, problem });
  }

  /** Reports `key` as unsupported when it is set to anything but one of `allowed`. */
  allowOnly(key: string, allowed: unknown[]): void {
    const v = this.raw(key);
    if (v === undefined || allowed.some((a) => a === v)) return;
    this.unsupported(`${key}=${describe(v)} is not supported (supported: ${allowed.map(describe).join(", ")})`);
  }

  private invalid(key: string, what: string): KeraslessError {
    return this.configError(`config "${key}" should be ${what}, got ${describe(this.raw(key))}`);
  }

  /** An E_CONFIG error naming the layer. */
  private configError(problem: string): KeraslessError {
    return new KeraslessError("E_CONFIG", `layer "${this.layerName}" (${this.className}): ${problem}`, {
      layer: this.layerName,
    });
  }
}

/**
 * The keyword arguments every Keras layer takes besides its own (keras/src/layers/layer.py,
 * tf_keras base_layer.py `allowed_kwargs`, Keras 2.0-2.2 base Layer), and the keys savers add
 * (Keras 3 writes a `dtype` policy; Keras 3's legacy .h5 reader turns `batch_input_shape` into
 * `input_shape`). None of them changes what a layer computes once its input shape is known.
 */
const BASE_LAYER_KEYS: Record<KerasMajor, ReadonlySet<string>> = {
  2: new Set([
    "name",
    "trainable",
    "dtype",
    "dynamic",
    "input_dim",
    "input_shape",
    "batch_input_shape",
    "batch_size",
    "input_dtype",
    "weights",
    "activity_regularizer",
    "autocast",
    "implementation",
  ]),
  3: new Set([
    "name",
    "trainable",
    "dtype",
    "autocast",
    "activity_regularizer",
    "input_dim",
    "input_shape",
    "batch_input_shape",
    "batch_shape",
  ]),
};

/**
 * How a weight is initialized, penalized or constrained while training (`kernel_initializer`,
 * `gamma_regularizer`, `depthwise_constraint`, the LSTM family's `unit_forget_bias`, ...): Keras
 * keeps these in every config of a layer with weights, and they never change inference.
 */
const TRAINING_ONLY = /_(?:initializer|regularizer|constraint)$|^unit_forget_bias$/;

export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
