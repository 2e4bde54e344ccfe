/** A model being served: its worker thread, its batcher, and what its inputs and outputs are. */
import { KeraslessError } from "../errors.js";
import { kernelPath } from "../kernels/wasm.js";
import { normalizeInputs, type PredictInput, type TensorInfo } from "../inputs.js";
import type { Tensor } from "../tensor.js";
import { Batcher, type BatchingOptions } from "./batcher.js";
import { Executor } from "./executor.js";
import { HttpError } from "./http-error.js";
import type { Logger } from "./log.js";
import type { ServedModelSpec } from "./options.js";

/** The one version every model is served as (the /versions/{v} paths accept only it). */
export const MODEL_VERSION = "1";

export interface ModelHooks {
  onBatch(model: string, rows: number, requests: number): void;
  /** The model's thread died and was replaced: its stream sessions are gone. */
  onRestart(model: string): void;
}

/** A KeraslessError about the request's values becomes a 400 with its message; anything else is re-thrown. */
export function asRequestError(e: unknown): never {
  if (e instanceof KeraslessError && e.code.startsWith("E_INPUT")) throw new HttpError(400, e.problem);
  throw e;
}

export class ServedModel {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly streamable: boolean;
  readonly modelName: string;
  readonly kernelPath: string;

  private constructor(
    readonly name: string,
    readonly executor: Executor,
    readonly batcher: Batcher,
    description: Awaited<ReturnType<Executor["start"]>>,
  ) {
    this.inputs = description.inputs.map((t) => Object.freeze({ ...t, shape: Object.freeze(t.shape) }));
    this.outputs = description.outputs.map((t) => Object.freeze({ ...t, shape: Object.freeze(t.shape) }));
    this.streamable = description.streamable;
    this.modelName = description.modelName;
    this.kernelPath = description.kernelPath;
  }

  static async load(
    spec: ServedModelSpec,
    threads: number,
    batching: BatchingOptions,
    hooks: ModelHooks,
    log: Logger,
  ): Promise<ServedModel> {
    const executor = new Executor(
      { path: spec.path, threads, kernelPath: kernelPath() },
      () => hooks.onRestart(spec.name),
      (msg, fields) => log("error", msg, { model: spec.name, ...fields }),
    );
    let description;
    try {
      description = await executor.start();
    } catch (e) {
      await executor.close();
      throw new KeraslessError("E_IO", `serve: model ${spec.name} (${spec.path}): ${(e as Error).message}`);
    }
    const batchable = description.inputs.every((t) => t.shape[0] === null);
    const batcher = new Batcher(
      (inputs) => executor.predict(inputs),
      batching,
      batchable,
      (rows, requests) => hooks.onBatch(spec.name, rows, requests),
    );
    return new ServedModel(spec.name, executor, batcher, description);
  }

  get ready(): boolean {
    return this.executor.ready;
  }

  /** Validates `given` against the model's inputs (400 when it does not fit) and predicts it in a batch. */
  predict(given: PredictInput, signal?: AbortSignal): Promise<Tensor[]> {
    let tensors: Tensor[];
    try {
      tensors = normalizeInputs(given, this.inputs);
    } catch (e) {
      asRequestError(e);
    }
    if (tensors[0].shape[0] === 0) throw new HttpError(400, "the batch is empty (0 rows)");
    return this.batcher.submit(tensors, signal);
  }
}
