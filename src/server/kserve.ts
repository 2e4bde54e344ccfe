/**
 * The Open Inference Protocol (KServe v2, also spoken by Triton and MLServer) over REST: health,
 * server and model metadata, model readiness, and /infer with typed tensors. Errors are
 * {"error": "..."}. Binary tensor data (Triton's extension) is decoded in binary-tensors.ts.
 */
import type { DType } from "../tensor.js";
import type { TensorInfo, TensorLike } from "../inputs.js";
import type { Departure } from "./batcher.js";
import { HttpError, badRequest, notFound } from "./http-error.js";
import { MODEL_VERSION, type ServedModel } from "./served-model.js";

export interface V2Request {
  method: string;
  path: string;
  /** The JSON header, and the binary tensor data that followed it (empty when none). */
  body(): Promise<{ json: unknown; binary: Uint8Array }>;
  signal: Departure;
}

/** A reply; `binary` (outputs sent as raw bytes) goes after the JSON. */
export interface V2Reply {
  status: number;
  body: unknown;
  binary?: Uint8Array[];
}

export interface ServerState {
  version: string;
  live: boolean;
  ready: boolean;
}

const MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

const DATATYPE: Record<DType, string> = { float32: "FP32", int32: "INT32" };
/** The datatypes each model dtype accepts: INT64 (numpy's default integer) is range-checked into int32. */
const ACCEPTED: Record<DType, readonly string[]> = { float32: ["FP32"], int32: ["INT32", "INT64"] };
const BYTES_PER: Record<string, number> = { FP32: 4, INT32: 4, INT64: 8 };

export const EXTENSIONS = ["binary_tensor_data"];

function find(models: ReadonlyMap<string, ServedModel>, name: string, version: string | undefined): ServedModel {
  const model = models.get(name);
  if (model === undefined) throw notFound(`model ${JSON.stringify(name)} is not served here`);
  if (version !== undefined && version !== MODEL_VERSION)
    throw notFound(`model ${JSON.stringify(name)} has no version ${JSON.stringify(version)} (only ${MODEL_VERSION})`);
  return model;
}

export async function handleV2(
  models: ReadonlyMap<string, ServedModel>,
  state: ServerState,
  req: V2Request,
): Promise<V2Reply> {
  const { method, path } = req;
  if (method === "GET" && (path === "/v2" || path === "/v2/"))
    return { status: 200, body: { name: "kerasless", version: state.version, extensions: EXTENSIONS } };
  if (method === "GET" && path === "/v2/health/live")
    return { status: state.live ? 200 : 503, body: { live: state.live } };
  if (method === "GET" && path === "/v2/health/ready") {
    const ready = state.ready && [...models.values()].every((m) => m.ready);
    return { status: ready ? 200 : 503, body: { ready } };
  }
  const m = MODEL.exec(path);
  if (m === null) throw notFound(`no endpoint ${method} ${path}`);
  const model = find(models, decoded(m[1]), m[2] === undefined ? undefined : decoded(m[2]));
  if (m[3] === "/ready" && method === "GET") {
    const ready = state.ready && model.ready;
    return { status: ready ? 200 : 503, body: { name: model.name, ready } };
  }
  if (m[3] === "/infer" && method === "POST") return infer(model, await req.body(), req.signal);
  if (m[3] === undefined && method === "GET") return { status: 200, body: modelMetadata(model) };
  throw new HttpError(405, `${method} is not allowed on ${path}`, { Allow: m[3] === "/infer" ? "POST" : "GET" });
}

const names = (infos: readonly TensorInfo[]): string => infos.map((t) => t.name).join(", ");

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`the path segment ${JSON.stringify(segment)} is not valid percent-encoding`);
  }
}

const describe = (t: TensorInfo) => ({ name: t.name, datatype: DATATYPE[t.dtype], shape: t.shape.map((d) => d ?? -1) });

function modelMetadata(model: ServedModel): unknown {
  return {
    name: model.name,
    versions: [MODEL_VERSION],
    platform: "kerasless",
    inputs: model.inputs.map(describe),
    outputs: model.outputs.map(describe),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

interface RequestedOutput {
  index: number;
  binary: boolean;
}

async function infer(
  model: ServedModel,
  { json, binary }: { json: unknown; binary: Uint8Array },
  signal: Departure,
): Promise<V2Reply> {
  if (!model.ready) throw new HttpError(503, `model ${model.name} is not ready (its worker thread is restarting)`);
  if (!isObject(json)) throw badRequest("the request body must be a JSON object");
  const { id, inputs, outputs, parameters } = json;
  if (id !== undefined && typeof id !== "string") throw badRequest("'id' must be a string");
  if (parameters !== undefined && !isObject(parameters)) throw badRequest("'parameters' must be an object");
  if (!Array.isArray(inputs) || inputs.length === 0) throw badRequest("'inputs' must be a non-empty list of tensors");
  const given: Record<string, TensorLike> = {};
  let offset = 0;
  for (const tensor of inputs) {
    if (!isObject(tensor)) throw badRequest("each input must be an object with name, shape, datatype and data");
    const info = model.inputs.find((t) => t.name === tensor.name);
    if (info === undefined)
      throw badRequest(
        `unexpected input ${JSON.stringify(tensor.name)}; the model's inputs are ${names(model.inputs)}`,
      );
    if (Object.hasOwn(given, info.name)) throw badRequest(`input ${JSON.stringify(info.name)} is given twice`);
    const [tensorLike, used] = decodeInput(tensor, info, binary, offset);
    offset += used;
    given[info.name] = tensorLike;
  }
  if (offset !== binary.length)
    throw badRequest(`the binary data has ${binary.length} bytes, the inputs' binary_data_size add up to ${offset}`);
  for (const t of model.inputs)
    if (!Object.hasOwn(given, t.name)) throw badRequest(`input ${JSON.stringify(t.name)} is missing`);
  const binaryByDefault = parameters?.binary_data_output === true;
  const requested = requestedOutputs(model, outputs, binaryByDefault);
  const results = await model.predict(given, signal);
  const chunks: Uint8Array[] = [];
  const body = {
    model_name: model.name,
    model_version: MODEL_VERSION,
    ...(id === undefined ? {} : { id }),
    outputs: requested.map(({ index, binary: asBinary }) => {
      const t = results[index];
      const out = { name: model.outputs[index].name, datatype: DATATYPE[t.dtype], shape: [...t.shape] };
      if (!asBinary) return { ...out, data: Array.from(t.data) };
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      chunks.push(bytes);
      return { ...out, parameters: { binary_data_size: bytes.byteLength } };
    }),
  };
  return { status: 200, body, binary: chunks.length === 0 ? undefined : chunks };
}

function requestedOutputs(model: ServedModel, outputs: unknown, binaryByDefault: boolean): RequestedOutput[] {
  if (outputs === undefined) return model.outputs.map((_, index) => ({ index, binary: binaryByDefault }));
  if (!Array.isArray(outputs)) throw badRequest("'outputs' must be a list of {name, parameters}");
  return outputs.map((o: unknown) => {
    if (!isObject(o) || typeof o.name !== "string") throw badRequest("each requested output needs a 'name'");
    const index = model.outputs.findIndex((t) => t.name === o.name);
    if (index < 0)
      throw badRequest(`unexpected output ${JSON.stringify(o.name)}; the model's outputs are ${names(model.outputs)}`);
    const params = o.parameters;
    if (params !== undefined && !isObject(params)) throw badRequest(`output ${o.name}: 'parameters' must be an object`);
    const flag = params?.binary_data;
    return { index, binary: typeof flag === "boolean" ? flag : binaryByDefault };
  });
}

/** One input tensor as a TensorLike, and how many bytes of the binary data it used. */
function decodeInput(
  tensor: Record<string, unknown>,
  info: TensorInfo,
  binary: Uint8Array,
  offset: number,
): [TensorLike, number] {
  const name = info.name;
  const { shape, datatype, data, parameters } = tensor;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0))
    throw badRequest(`input ${name}: 'shape' must be a list of non-negative integers`);
  if (typeof datatype !== "string" || !ACCEPTED[info.dtype].includes(datatype))
    throw badRequest(
      `input ${name}: datatype ${JSON.stringify(datatype)} does not match the model's ${DATATYPE[info.dtype]}` +
        ` (accepted: ${ACCEPTED[info.dtype].join(", ")})`,
    );
  let size = 1;
  for (const d of shape as number[]) size *= d;
  const binarySize = isObject(parameters) ? parameters.binary_data_size : undefined;
  if (binarySize !== undefined) {
    if (!Number.isInteger(binarySize) || (binarySize as number) !== size * BYTES_PER[datatype])
      throw badRequest(`input ${name}: binary_data_size must be ${size * BYTES_PER[datatype]} for shape [${shape}]`);
    if (offset + (binarySize as number) > binary.length)
      throw badRequest(`input ${name}: the binary data ends before this input's ${binarySize as number} bytes`);
    // A copy in a buffer of its own (the body may be a view into Node's shared pool), aligned for the typed arrays.
    const bytes = new Uint8Array(binarySize as number);
    bytes.set(binary.subarray(offset, offset + (binarySize as number)));
    const view = new DataView(bytes.buffer);
    const values = datatype === "INT64" ? new Float64Array(size) : null;
    if (values !== null) for (let i = 0; i < size; i++) values[i] = Number(view.getBigInt64(i * 8, true));
    const typed =
      datatype === "FP32"
        ? new Float32Array(bytes.buffer)
        : datatype === "INT32"
          ? new Int32Array(bytes.buffer)
          : values!;
    return [{ shape: shape as number[], data: typed }, binarySize as number];
  }
  if (!Array.isArray(data)) throw badRequest(`input ${name}: 'data' must be a list of numbers`);
  const flat = (data as unknown[]).flat(Infinity);
  if (!flat.every((v) => typeof v === "number"))
    throw badRequest(`input ${name}: 'data' holds something that is not a number`);
  if (flat.length !== size)
    throw badRequest(`input ${name}: shape [${shape}] needs ${size} values, 'data' has ${flat.length}`);
  return [{ shape: shape as number[], data: flat as number[] }, 0];
}
