/**
 * TensorFlow.js (@tensorflow/tfjs) with its CPU or WASM backend. The models are built with
 * tfjs-layers and given the Keras weights with setWeights (the weights are read with kerasless'
 * loader; a wrong read would fail the parity check). recurrentActivation is set to "sigmoid":
 * tfjs' default is hardSigmoid, which is not what Keras 3 used. W8 uses tfjs-layers' convLstm2d.
 */
import { readFileSync } from "node:fs";
import { loadModel } from "../../src/index.js";
import { packageVersion } from "../lib/versions.js";
import { benchPath, type ModelSpec } from "../lib/spec.js";
import { stepSlice, type Contender, type Runner, type Skip } from "./contender.js";

type Tf = typeof import("@tensorflow/tfjs");
type LayersModel = import("@tensorflow/tfjs").LayersModel;

async function loadTf(backend: "cpu" | "wasm"): Promise<{ tf: Tf; threads: number }> {
  const tf = (await import("@tensorflow/tfjs")) as Tf;
  const wasm = backend === "wasm" ? await import("@tensorflow/tfjs-backend-wasm") : undefined;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend "${backend}" did not initialize`);
  await tf.ready();
  return { tf, threads: wasm?.getThreadsCount() ?? 1 };
}

/** The tfjs-layers form of a benchmark model, or why tfjs cannot express it. */
function buildModel(tf: Tf, spec: ModelSpec, batchInputShape?: [number, number, number]): LayersModel | string {
  const input = batchInputShape === undefined ? { inputShape: [spec.steps, spec.features] } : { batchInputShape };
  if (spec.name === "seed" || spec.name === "lstm128") {
    const units = spec.name === "seed" ? 3 : 128;
    return tf.sequential({
      layers: [
        // Zero initializers: setWeights replaces them (tfjs' orthogonal initializer is slow).
        tf.layers.lstm({
          units,
          activation: "tanh",
          recurrentActivation: "sigmoid",
          stateful: batchInputShape !== undefined,
          kernelInitializer: "zeros",
          recurrentInitializer: "zeros",
          ...input,
        }),
        tf.layers.dense({ units: 1, kernelInitializer: "zeros" }),
      ],
    });
  }
  if (spec.name === "convlstm2d") {
    const convLstm = (returnSequences: boolean, first: boolean) =>
      tf.layers.convLstm2d({
        filters: 32,
        kernelSize: 3,
        padding: "same",
        returnSequences,
        activation: "tanh",
        recurrentActivation: "sigmoid",
        kernelInitializer: "zeros",
        recurrentInitializer: "zeros",
        ...(first ? { inputShape: [spec.steps, ...spec.stepShape!] } : {}),
      });
    return tf.sequential({
      layers: [
        convLstm(true, true),
        convLstm(false, false),
        tf.layers.conv2d({ filters: 1, kernelSize: 1, activation: "sigmoid", kernelInitializer: "zeros" }),
        tf.layers.averagePooling2d({ poolSize: 8 }),
        tf.layers.flatten(),
      ],
    });
  }
  return "tfjs-layers has no GRU with reset_after=True (GRUCell throws on resetAfter), which Keras 3 uses by default";
}

export async function tfjs(backend: "cpu" | "wasm"): Promise<Contender> {
  const { tf, threads } = await loadTf(backend);
  const kerasWeights = new Map<string, { shape: readonly number[]; data: Float32Array }[]>();
  const weightsFor = async (spec: ModelSpec) => {
    let weights = kerasWeights.get(spec.name);
    if (weights === undefined) {
      const model = await loadModel(new Uint8Array(readFileSync(benchPath(spec.keras))));
      weights = model.getWeights().map((t) => ({ shape: t.shape, data: t.data as Float32Array }));
      kerasWeights.set(spec.name, weights);
    }
    return weights;
  };
  const built = async (spec: ModelSpec, batchInputShape?: [number, number, number]): Promise<LayersModel | string> => {
    const model = buildModel(tf, spec, batchInputShape);
    if (typeof model === "string") return model;
    model.setWeights((await weightsFor(spec)).map((w) => tf.tensor(w.data, [...w.shape])));
    return model;
  };
  const predictValues = (model: LayersModel, data: Float32Array, shape: number[]): Float32Array =>
    tf.tidy(
      () => (model.predict(tf.tensor(data, shape)) as import("@tensorflow/tfjs").Tensor).dataSync() as Float32Array,
    );

  return {
    describe: () => ({
      version: packageVersion("@tensorflow/tfjs"),
      backend: tf.getBackend(),
      threads,
      config:
        backend === "wasm"
          ? "tfjs-backend-wasm (its WebAssembly kernels, SIMD where available)"
          : "tfjs-backend-cpu (plain JavaScript)",
    }),

    async prepare(w): Promise<Runner | Skip> {
      const shape = w.tensorShape;
      if (w.kind === "coldload") {
        const model = await built(w.model);
        if (typeof model === "string") return { skipped: model };
        // tfjs' own file format (model.json + weights.bin), captured in memory: the bytes a tfjs
        // user would deploy after tensorflowjs_converter.
        const files = await saveToMemory(tf, model);
        const coldPredict = async () => {
          const loaded = await tf.loadLayersModel(
            tf.io.fromMemory({
              modelTopology: JSON.parse(new TextDecoder().decode(files.modelJson)),
              weightSpecs: files.weightSpecs,
              weightData: files.weightData.slice().buffer,
            }),
          );
          const y = predictValues(loaded, w.input, shape);
          loaded.dispose();
          return y;
        };
        return { check: coldPredict, run: coldPredict };
      }
      if (w.kind === "stream") {
        // tfjs-layers keeps RNN state across predict() calls with stateful: true.
        const [batch, steps, features] = w.inputShape;
        const model = await built(w.model, [batch, 1, features]);
        if (typeof model === "string") return { skipped: model };
        const xs = Array.from({ length: steps }, (_, t) => stepSlice(w, t));
        const stepShape = [batch, 1, features];
        let t = 0;
        return {
          mode: "stream",
          note: "stateful: true LSTM, batchInputShape [1, 1, 16], one predict() per step",
          check: async () => {
            model.resetStates();
            let y: Float32Array = new Float32Array(0);
            for (const x of xs) y = predictValues(model, x, stepShape);
            return y;
          },
          run: () => {
            predictValues(model, xs[t], stepShape);
            t = t + 1 === steps ? 0 : t + 1;
          },
        };
      }
      const model = await built(w.model);
      if (typeof model === "string") return { skipped: model };
      const predict = () => predictValues(model, w.input, shape);
      return { check: async () => predict(), run: predict };
    },
  };
}

async function saveToMemory(
  tf: Tf,
  model: LayersModel,
): Promise<{
  modelJson: Uint8Array;
  weightSpecs: import("@tensorflow/tfjs").io.WeightsManifestEntry[];
  weightData: Uint8Array;
}> {
  let captured: import("@tensorflow/tfjs").io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  const weightData = captured!.weightData;
  if (!(weightData instanceof ArrayBuffer)) throw new Error("tfjs returned sharded weight data");
  return {
    modelJson: new TextEncoder().encode(JSON.stringify(captured!.modelTopology)),
    weightSpecs: captured!.weightSpecs!,
    weightData: new Uint8Array(weightData),
  };
}
