/**
 * A ModelPool worker thread: loads its own copy of the model from the bytes the pool sends first,
 * then predicts the shards it is sent, one at a time, in the order they arrive.
 */
import { parentPort } from "node:worker_threads";
import { KeraslessError, describeThrown } from "../errors.js";
import { setKernelPath } from "../kernels/wasm.js";
import { loadModelFromBytes } from "../load.js";
import type { Model } from "../model.js";
import "../onnx/index.js"; // workers read .onnx files, as loadModel() does in Node
import type { SentError, ShardJob, ShardTensor, WorkerReply, WorkerSetup } from "./pool-protocol.js";

const port = parentPort;
if (port === null) throw new Error("pool-worker.js runs only as a worker thread of a ModelPool");

const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);

function sentError(e: unknown): SentError {
  if (e instanceof KeraslessError)
    return { message: e.message, code: e.code, problem: e.problem, file: e.file, layer: e.layer };
  return { message: describeThrown(e) };
}

let model: Model | undefined;

/** The first message: the model's bytes, sent once the calling thread has loaded them without error. */
function load(setup: WorkerSetup): void {
  try {
    setKernelPath(setup.kernelPath);
    model = loadModelFromBytes(setup.model, setup.weights, {
      maxDecompressedBytes: setup.maxDecompressedBytes,
      externalData: setup.externalData,
    });
    send({ kind: "ready" });
  } catch (e) {
    send({ kind: "load-failed", error: sentError(e) });
    port!.close();
  }
}

function predict(job: ShardJob): void {
  let outputs: ShardTensor[];
  try {
    outputs = model!.predict(job.inputs).map((t) => ({ shape: [...t.shape], data: t.data }));
  } catch (e) {
    send({ kind: "failed", id: job.id, error: sentError(e) });
    return;
  }
  // Outputs are fresh arrays (or the shard's own inputs, which this thread owns): move them back.
  // Two outputs may share one buffer, which a transfer list may name only once.
  const buffers = new Set<ArrayBuffer>();
  for (const t of outputs) if (t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  send({ kind: "done", id: job.id, outputs }, [...buffers]);
}

port.on("message", (message: WorkerSetup | ShardJob) =>
  model === undefined ? load(message as WorkerSetup) : predict(message as ShardJob),
);
