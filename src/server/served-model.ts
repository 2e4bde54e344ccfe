/** A model being served: its worker thread, its batcher, and what its inputs and outputs are. */
import { KeraslessError } from "../errors.js";
import { kernelPath } from "../kernels/wasm.js";
import { normalizeInputs, type PredictInput, type TensorInfo } from "../inputs.js";
import type { Model } from "../model.js";
import { loadModelPool } from "../node/pool.js";
import { Tensor } from "../tensor.js";
import { Batcher, type BatchRunner, type BatchingOptions, type Departure } from "./batcher.js";
import type { PredictCost, WireTensor } from "./executor-protocol.js";
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
  /** Batches of at most this many rows run on the event loop (a copy of the model there); 0: none. */
  readonly inlineRows: number;

  private constructor(
    readonly name: string,
    readonly executor: Executor,
    readonly batcher: Batcher,
    description: Awaited<ReturnType<Executor["start"]>>,
    inlineRows: number,
  ) {
    this.inlineRows = inlineRows;
    this.inputs = description.inputs.map((t) => Object.freeze({ ...t, shape: Object.freeze(t.shape) }));
    this.outputs = description.outputs.map((t) => Object.freeze({ ...t, shape: Object.freeze(t.shape) }));
    this.streamable = description.streamable;
    this.modelName = description.modelName;
    this.kernelPath = description.kernelPath;
  }

  static async load(
    spec: ServedModelSpec,
    threads: number,
    batching: BatchingOptions & { inlineBelowMs: number },
    hooks: ModelHooks,
    log: Logger,
  ): Promise<ServedModel> {
    const executor = new Executor(
      {
        path: spec.path,
        threads,
        kernelPath: kernelPath(),
        inlineBelowMs: batching.inlineBelowMs,
        probeRows: batching.maxRows,
      },
      () => hooks.onRestart(spec.name),
      (msg, fields) => log("error", msg, { model: spec.name, ...fields }),
    );
    let description;
    let inline: InlineModel | undefined;
    try {
      description = await executor.start();
      const { cost } = description;
      if (cost !== undefined && cost.oneRowMs < batching.inlineBelowMs)
        inline = new InlineModel((await loadModelPool(spec.path, { threads: 1 })).model, cost, batching.inlineBelowMs);
    } catch (e) {
      await executor.close();
      throw new KeraslessError("E_IO", `serve: model ${spec.name} (${spec.path}): ${(e as Error).message}`);
    }
    const batchable = description.inputs.every((t) => t.shape[0] === null);
    const runner: BatchRunner = {
      inline: (inputs, rows) => inline?.predict(inputs, rows),
      thread: (inputs) => executor.predict(inputs),
    };
    const batcher = new Batcher(runner, batching, batchable, (rows, requests) =>
      hooks.onBatch(spec.name, rows, requests),
    );
    return new ServedModel(spec.name, executor, batcher, description, inline?.maxRows ?? 0);
  }

  get ready(): boolean {
    return this.executor.ready;
  }

  /** Validates `given` against the model's inputs (400 when it does not fit) and predicts it in a batch. */
  predict(given: PredictInput, signal?: Departure): Promise<Tensor[]> {
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

/**
 * A copy of a cheap model on the event loop: a batch whose estimated time is below `inlineBelowMs`
 * runs here, saving the hand-off to the model's thread and back, which costs the event loop more
 * than such a model's arithmetic (measured: docs/decisions.md, "kerasless serve: batching"). The
 * estimate is a straight line through the two costs the model's thread measured at load: a small
 * model's predict is mostly a fixed cost per call, not per row.
 */
class InlineModel {
  /** The most rows a batch may have to run here. */
  readonly maxRows: number;

  constructor(
    private readonly model: Model,
    cost: PredictCost,
    inlineBelowMs: number,
  ) {
    const { oneRowMs, manyRows, manyRowsMs } = cost;
    const perRow = manyRowsMs === undefined ? oneRowMs : Math.max(0, manyRowsMs - oneRowMs) / (manyRows - 1);
    this.maxRows = perRow === 0 ? Number.MAX_SAFE_INTEGER : Math.floor((inlineBelowMs - oneRowMs) / perRow) + 1;
  }

  predict(inputs: readonly WireTensor[], rows: number): WireTensor[] | undefined {
    if (rows > this.maxRows) return undefined;
    try {
      return this.model.predict(inputs.map((t) => (t instanceof Tensor ? t : new Tensor(t.shape, t.data))));
    } catch (e) {
      if (e instanceof KeraslessError && e.code.startsWith("E_INPUT")) throw new HttpError(400, e.problem);
      throw new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
