/**
 * A served model's worker thread: loads the model as a ModelPool (src/node/pool.ts, which may add
 * threads of its own for large batches) and runs predictions and stream steps there, so the
 * server's event loop only parses, batches and answers.
 */
import { parentPort } from "node:worker_threads";
import { KeraslessError, describeThrown } from "../errors.js";
import type { ModelStream } from "../stream.js";
import { Tensor, sizeOf } from "../tensor.js";
import { kernelPath, setKernelPath } from "../kernels/wasm.js";
import { loadModelPool, type ModelPool } from "../node/pool.js";
import type {
  ExecutorJob,
  ExecutorReply,
  ExecutorSetup,
  PredictCost,
  SentError,
  WireTensor,
} from "./executor-protocol.js";
import { memoryInUse } from "./memory.js";

const port = parentPort;
if (port === null) throw new Error("executor-worker runs only as a worker thread of kerasless serve");

const send = (reply: ExecutorReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);

function sentError(e: unknown): SentError {
  if (e instanceof KeraslessError) return { message: e.problem, code: e.code };
  return { message: describeThrown(e) };
}

let pool: ModelPool | undefined;
const streams = new Map<string, ModelStream>();

async function load(setup: ExecutorSetup): Promise<void> {
  try {
    setKernelPath(setup.kernelPath);
    pool = await loadModelPool(setup.path, { threads: setup.threads });
  } catch (e) {
    send({ kind: "load-failed", error: sentError(e) });
    port!.close();
    return;
  }
  const model = pool.model;
  let streamable = true;
  try {
    model.stream();
  } catch {
    streamable = false;
  }
  const info = (t: { name: string; shape: readonly (number | null)[]; dtype: "float32" | "int32" }) => ({
    name: t.name,
    shape: [...t.shape],
    dtype: t.dtype,
  });
  send({
    kind: "ready",
    name: model.name,
    inputs: model.inputs.map(info),
    outputs: model.outputs.map(info),
    streamable,
    kernelPath: kernelPath(),
    cost: predictCost(pool.model, setup),
  });
}

/**
 * The least time of 9 predicts of zeros, after a warm-up, for one row and (when one row is
 * cheaper than the threshold) for `probeRows` rows: the server runs batches of a model this cheap
 * on its event loop (served-model.ts). The least, not the median: on a busy machine most runs are
 * interrupted, and the model's own cost is what the server needs. Undefined when an input size
 * other than the batch is free (the cost depends on the request) or the batch is fixed (stateful),
 * and with --inline-below-ms 0.
 */
function predictCost(model: ModelPool["model"], setup: ExecutorSetup): PredictCost | undefined {
  if (setup.inlineBelowMs === 0) return undefined;
  if (model.inputs.some((t) => t.shape[0] !== null || t.shape.slice(1).some((d) => d === null))) return undefined;
  const zeros = (rows: number): Tensor[] =>
    model.inputs.map((t) => {
      const shape = [rows, ...(t.shape.slice(1) as number[])];
      const size = sizeOf(shape);
      return new Tensor(shape, t.dtype === "int32" ? new Int32Array(size) : new Float32Array(size));
    });
  const least = (rows: number): number => {
    const inputs = zeros(rows);
    // The warm-up lets V8 optimize the code (the seed model's calls 3-12 took 30 µs, calls after
    // 500 took 2-7 µs, measured), for at most 50 ms.
    const warmUpEnd = performance.now() + 50;
    for (let i = 0; i < 500 && performance.now() < warmUpEnd; i++) model.predict(inputs);
    let best = Infinity;
    for (let i = 0; i < 9; i++) {
      const start = performance.now();
      model.predict(inputs);
      best = Math.min(best, performance.now() - start);
      // A model far too slow for the event loop needs no precise figure (nor the load time it would take).
      if (best >= 10 * setup.inlineBelowMs) break;
    }
    return best;
  };
  try {
    const oneRowMs = least(1);
    const manyRows = Math.max(2, Math.min(setup.probeRows, 256));
    return { oneRowMs, manyRows, manyRowsMs: oneRowMs < setup.inlineBelowMs ? least(manyRows) : undefined };
  } catch {
    return undefined;
  }
}

function buffersOf(tensors: readonly WireTensor[]): ArrayBuffer[] {
  // Two outputs may share one buffer, which a transfer list may name only once.
  const buffers = new Set<ArrayBuffer>();
  for (const t of tensors) if (t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  return [...buffers];
}

function session(sid: string): ModelStream {
  const stream = streams.get(sid);
  if (stream === undefined) throw new KeraslessError("E_INPUT", `stream ${sid} does not exist`);
  return stream;
}

/** Runs the steps of [batch, steps, ...] inputs one by one; each output stacked as [batch, steps, ...]. */
function stepAll(stream: ModelStream, inputs: readonly WireTensor[]): WireTensor[] {
  const [batch, steps] = inputs[0].shape;
  if (inputs.some((t) => t.shape.length < 2 || t.shape[0] !== batch || t.shape[1] !== steps))
    throw new KeraslessError("E_INPUT_SHAPE", "every stream input needs the same [batch, steps, ...] leading sizes");
  const stepInputs = inputs.map((t) => {
    const shape = [t.shape[0], ...t.shape.slice(2)];
    return new Tensor(
      shape,
      t.data instanceof Int32Array ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape)),
    );
  });
  let stacked: WireTensor[] = [];
  for (let s = 0; s < steps; s++) {
    inputs.forEach((t, i) => {
      const row = sizeOf(t.shape.slice(2));
      const target = stepInputs[i].data;
      for (let b = 0; b < batch; b++)
        target.set(t.data.subarray((b * steps + s) * row, (b * steps + s + 1) * row), b * row);
    });
    const outputs = stream.step(stepInputs.length === 1 ? stepInputs[0] : stepInputs);
    if (s === 0) {
      stacked = outputs.map((o) => {
        const shape = [o.shape[0], steps, ...o.shape.slice(1)];
        return {
          shape,
          data: o.data instanceof Int32Array ? new Int32Array(sizeOf(shape)) : new Float32Array(sizeOf(shape)),
        };
      });
    }
    outputs.forEach((o, k) => {
      const row = sizeOf(o.shape.slice(1));
      for (let b = 0; b < o.shape[0]; b++)
        stacked[k].data.set(o.data.subarray(b * row, (b + 1) * row), (b * steps + s) * row);
    });
  }
  return stacked;
}

async function run(job: ExecutorJob): Promise<void> {
  try {
    switch (job.kind) {
      case "predict": {
        const outputs = (await pool!.predict(job.inputs)).map((t) => ({ shape: [...t.shape], data: t.data }));
        send({ kind: "done", id: job.id, outputs }, buffersOf(outputs));
        return;
      }
      case "open": {
        const stream = pool!.model.stream({ batch: job.batch });
        if (job.state !== undefined) stream.setState({ batch: job.batch, buffers: job.state });
        streams.set(job.sid, stream);
        send({ kind: "ok", id: job.id });
        return;
      }
      case "step": {
        const outputs = stepAll(session(job.sid), job.inputs);
        send({ kind: "done", id: job.id, outputs }, buffersOf(outputs));
        return;
      }
      case "get-state": {
        const state = session(job.sid).getState();
        const buffers = state.buffers.map((b) => b.slice());
        send(
          { kind: "state", id: job.id, batch: state.batch, state: buffers },
          buffers.map((b) => b.buffer),
        );
        return;
      }
      case "set-state": {
        const stream = session(job.sid);
        stream.setState({ batch: stream.batch!, buffers: job.state });
        send({ kind: "ok", id: job.id });
        return;
      }
      case "reset":
        session(job.sid).reset();
        send({ kind: "ok", id: job.id });
        return;
      case "close":
        streams.delete(job.sid);
        send({ kind: "ok", id: job.id });
        return;
      case "memory":
        send({ kind: "memory", id: job.id, bytes: memoryInUse() });
        return;
      case "crash":
        process.exit(70);
    }
  } catch (e) {
    // A pool whose own worker thread died is not trusted any more: this thread ends, and the
    // server starts a fresh one (the requests in flight are answered with an error).
    if (e instanceof KeraslessError && e.code === "E_POOL") process.exit(71);
    send({ kind: "failed", id: job.id, error: sentError(e) });
  }
}

// Jobs run one at a time, in order: a stream's steps must not interleave, and a batch is already
// as large as the batcher made it.
let queue: Promise<void> = Promise.resolve();
port.on("message", (message: ExecutorSetup | ExecutorJob) => {
  if (!("kind" in message)) {
    queue = load(message);
    return;
  }
  queue = queue.then(() => run(message));
});
