/**
 * TensorFlow Serving's REST API (/v1): model status, metadata and :predict, with its row
 * ("instances") and columnar ("inputs") request formats, and errors as {"error": "..."} with the
 * HTTP statuses TF Serving maps its status codes to (INVALID_ARGUMENT 400, NOT_FOUND 404, ...).
 */
import type { InputValue, TensorInfo } from "../inputs.js";
import type { NestedArray, Tensor } from "../tensor.js";
import type { Departure } from "./batcher.js";
import { HttpError, badRequest, notFound } from "./http-error.js";
import { MODEL_VERSION, type ServedModel } from "./served-model.js";

export interface V1Request {
  method: string;
  /** The path without the query string. */
  path: string;
  body(): Promise<unknown>;
  signal: Departure;
}

export interface V1Reply {
  status: number;
  body: unknown;
}

const PREDICT = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?:(predict|classify|regress)$/i;
const STATUS = /^\/v1\/models(?:\/([^/:]+))?(?:\/versions\/(\d+))?$/i;
const METADATA = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+))?\/metadata$/i;
const SIGNATURE = "serving_default";

function find(models: ReadonlyMap<string, ServedModel>, name: string, version: string | undefined): ServedModel {
  const model = models.get(name);
  if (model === undefined || (version !== undefined && Number(version) !== Number(MODEL_VERSION)))
    throw notFound(
      `Servable not found for request: ${version === undefined ? `Latest(${name})` : `Specific(${name}, ${version})`}`,
    );
  if (!model.ready) throw new HttpError(503, `model ${name} is not ready (its worker thread is restarting)`);
  return model;
}

export async function handleV1(models: ReadonlyMap<string, ServedModel>, req: V1Request): Promise<V1Reply> {
  let m: RegExpExecArray | null;
  if (req.method === "POST" && (m = PREDICT.exec(req.path)) !== null) {
    const model = find(models, m[1], m[2]);
    if (m[3].toLowerCase() !== "predict")
      throw new HttpError(501, `${m[3]} needs a classification or regression signature; kerasless serves :predict`);
    return { status: 200, body: await predict(model, await req.body(), req.signal) };
  }
  if (req.method === "GET" && (m = METADATA.exec(req.path)) !== null)
    return { status: 200, body: metadata(find(models, m[1], m[2])) };
  if (req.method === "GET" && (m = STATUS.exec(req.path)) !== null) {
    if (m[1] === undefined) throw badRequest("Missing model name in request.");
    find(models, m[1], m[2]);
    return {
      status: 200,
      body: {
        model_version_status: [
          { version: MODEL_VERSION, state: "AVAILABLE", status: { error_code: "OK", error_message: "" } },
        ],
      },
    };
  }
  throw badRequest(`Malformed request: ${req.method} ${req.path}`);
}

const DTYPES = { float32: "DT_FLOAT", int32: "DT_INT32" } as const;

function signatureTensors(infos: readonly TensorInfo[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of infos) {
    out[t.name] = {
      dtype: DTYPES[t.dtype],
      tensor_shape: { dim: t.shape.map((d) => ({ size: String(d ?? -1), name: "" })), unknown_rank: false },
      name: `${SIGNATURE}_${t.name}:0`,
    };
  }
  return out;
}

function metadata(model: ServedModel): unknown {
  return {
    model_spec: { name: model.name, signature_name: "", version: MODEL_VERSION },
    metadata: {
      signature_def: {
        signature_def: {
          [SIGNATURE]: {
            inputs: signatureTensors(model.inputs),
            outputs: signatureTensors(model.outputs),
            method_name: "tensorflow/serving/predict",
          },
        },
      },
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

async function predict(model: ServedModel, body: unknown, signal: Departure): Promise<unknown> {
  if (!isObject(body)) throw badRequest("the request body must be a JSON object");
  const signature = body.signature_name;
  if (signature !== undefined && signature !== "" && signature !== SIGNATURE)
    throw badRequest(`Serving signature name: ${JSON.stringify(signature)} not found in signature def`);
  const hasRows = Object.hasOwn(body, "instances");
  const hasColumns = Object.hasOwn(body, "inputs");
  if (hasRows === hasColumns)
    throw badRequest(
      hasRows
        ? "the request has both 'instances' and 'inputs'; give one"
        : "Missing 'inputs' or 'instances' key in the request",
    );
  if (hasRows) {
    const outputs = await model.predict(rowsToColumns(model, body.instances), signal);
    return { predictions: columnsToRows(model, outputs) };
  }
  const outputs = await model.predict(columnar(model, body.inputs), signal);
  if (outputs.length === 1) return { outputs: outputs[0].toArray() };
  return { outputs: Object.fromEntries(model.outputs.map((t, k) => [t.name, outputs[k].toArray()])) };
}

/** "inputs": the value of the one input, or an object keyed by input name. */
function columnar(model: ServedModel, inputs: unknown): Record<string, InputValue> {
  if (model.inputs.length === 1 && !isObject(inputs)) return { [model.inputs[0].name]: inputs as NestedArray };
  if (!isObject(inputs))
    throw badRequest(`'inputs' must be an object keyed by the inputs' names (${names(model.inputs)})`);
  return checkNames(model, inputs) as Record<string, InputValue>;
}

function names(infos: readonly TensorInfo[]): string {
  return infos.map((t) => t.name).join(", ");
}

function checkNames(model: ServedModel, given: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(given))
    if (!model.inputs.some((t) => t.name === key))
      throw badRequest(`input ${JSON.stringify(key)} is not one of the model's inputs (${names(model.inputs)})`);
  for (const t of model.inputs)
    if (!Object.hasOwn(given, t.name)) throw badRequest(`input ${JSON.stringify(t.name)} is missing`);
  return given;
}

/** "instances": one entry per row, the row itself (one input) or an object keyed by input name. */
function rowsToColumns(model: ServedModel, instances: unknown): Record<string, InputValue> {
  if (!Array.isArray(instances) || instances.length === 0)
    throw badRequest("'instances' must be a non-empty list, one entry per row");
  const named = isObject(instances[0]);
  if (!named && model.inputs.length > 1)
    throw badRequest(`the model has several inputs (${names(model.inputs)}): each instance must be an object`);
  const columns: Record<string, NestedArray[]> = {};
  for (const t of model.inputs) columns[t.name] = [];
  instances.forEach((row: unknown, i) => {
    if (isObject(row) !== named) throw badRequest(`instance ${i} is not written like instance 0 (named vs unnamed)`);
    if (!named) {
      columns[model.inputs[0].name].push(row as NestedArray);
      return;
    }
    const record = checkNames(model, row as Record<string, unknown>);
    for (const t of model.inputs) columns[t.name].push(record[t.name] as NestedArray);
  });
  return columns;
}

function columnsToRows(model: ServedModel, outputs: Tensor[]): unknown[] {
  const arrays = outputs.map((t) => t.toArray() as NestedArray[]);
  if (arrays.length === 1) return arrays[0];
  return arrays[0].map((_, row) => Object.fromEntries(model.outputs.map((t, k) => [t.name, arrays[k][row]])));
}
