/** The workloads (bench/workloads.json), their inputs and Keras' reference outputs (bench/references.json). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
export const benchPath = (relative: string): string => `${BENCH_DIR}${relative}`;

export interface ModelSpec {
  name: string;
  /** Paths relative to bench/. */
  keras: string;
  onnx: string;
  /** One-step ONNX graphs (state in, state out) by form; the stateful contenders use the faster. */
  onnxStep?: Record<string, string>;
  /**
   * The recurrent layers, in order (a Dense(1) follows them; after ConvLSTM2D layers, whose
   * kernel is given, the head of `what`).
   */
  recurrent: { cell: "lstm" | "gru" | "convlstm2d"; units: number; kernel?: number[] }[];
  layers: string[];
  what: string;
  steps: number;
  /** Values of one step (the product of stepShape when given). */
  features: number;
  /** One step's shape when it is not [features] (a video frame: [rows, cols, channels]). */
  stepShape?: number[];
}

export type WorkloadKind = "predict" | "stream" | "coldload";

export interface Workload {
  id: string;
  kind: WorkloadKind;
  title: string;
  model: ModelSpec;
  batch: number;
  seed: number;
  /** [batch, steps, features], row-major. */
  inputShape: [number, number, number];
  /** The input tensor's shape: [batch, steps, ...stepShape] ([batch, steps, features] without one). */
  tensorShape: number[];
  input: Float32Array;
  /** Keras' model.predict of `input`. */
  expected: Float32Array;
  expectedShape: number[];
}

interface WorkloadsFile {
  models: Record<string, Omit<ModelSpec, "name">>;
  workloads: { id: string; kind: WorkloadKind; model: string; batch: number; seed: number; title: string }[];
}

/**
 * The benchmark's input numbers: a 32-bit LCG (Numerical Recipes constants) whose top 24 bits give
 * k/2^23 - 1 in [-1, 1), exact in float32. bench/python/common.py computes the same sequence.
 */
export function prngFloats(seed: number, count: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    out[i] = (state >>> 8) / 8388608 - 1;
  }
  return out;
}

export function loadWorkloads(): Workload[] {
  const spec = JSON.parse(readFileSync(benchPath("workloads.json"), "utf8")) as WorkloadsFile;
  const references = JSON.parse(readFileSync(benchPath("references.json"), "utf8")) as {
    outputs: Record<string, { shape: number[]; data: number[] }>;
  };
  return spec.workloads.map((w) => {
    const model = { name: w.model, ...spec.models[w.model] };
    const inputShape: [number, number, number] = [w.batch, model.steps, model.features];
    const tensorShape = [w.batch, model.steps, ...(model.stepShape ?? [model.features])];
    const reference = references.outputs[w.id];
    if (reference === undefined)
      throw new Error(`bench/references.json has no output for ${w.id}: run bench/python/make_models.py`);
    return {
      ...w,
      model,
      inputShape,
      tensorShape,
      input: prngFloats(w.seed, inputShape[0] * inputShape[1] * inputShape[2]),
      expected: Float32Array.from(reference.data),
      expectedShape: reference.shape,
    };
  });
}

/** The parity rule of the project: |got - expected| <= 1e-5 + 1e-4 |expected| for every value. */
export function compareWithKeras(
  got: ArrayLike<number>,
  expected: Float32Array,
): { ok: boolean; maxAbsDiff: number; problem?: string } {
  if (got.length !== expected.length)
    return { ok: false, maxAbsDiff: Infinity, problem: `${got.length} values, Keras has ${expected.length}` };
  let maxAbsDiff = 0;
  let worst = -1;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - expected[i]);
    if (!(diff <= maxAbsDiff)) maxAbsDiff = diff; // also catches NaN
    if (!(diff <= 1e-5 + 1e-4 * Math.abs(expected[i])) && worst < 0) worst = i;
  }
  if (worst < 0) return { ok: true, maxAbsDiff };
  return {
    ok: false,
    maxAbsDiff,
    problem:
      `value ${worst} is ${got[worst]}, Keras has ${expected[worst]} ` + `(max |diff| ${maxAbsDiff.toExponential(2)})`,
  };
}

/**
 * Floating-point operations of one call: 2 per multiply-add of the matrix products (x·W, h·U and
 * the Dense head) or, for ConvLSTM2D ("same" padding, stride 1), of both convolutions at every
 * position (and a 1x1 convolution head); gate nonlinearities, elementwise products and pooling are
 * not counted. A streaming call is one time step.
 */
export function workloadFlops(w: Workload): number {
  const steps = w.kind === "stream" ? 1 : w.model.steps;
  const frame = w.model.stepShape;
  const positions = frame === undefined ? 1 : frame.slice(0, -1).reduce((p, d) => p * d, 1);
  let inputs = frame === undefined ? w.model.features : frame[frame.length - 1];
  let perSample = 0;
  for (const { cell, units, kernel } of w.model.recurrent) {
    const gates = cell === "gru" ? 3 : 4;
    const taps = kernel === undefined ? 1 : kernel.reduce((p, k) => p * k, 1);
    perSample += steps * 2 * positions * taps * (inputs + units) * gates * units;
    inputs = units;
  }
  perSample += 2 * positions * inputs;
  return w.batch * perSample;
}
