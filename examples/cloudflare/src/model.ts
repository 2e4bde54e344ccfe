/** The model, loaded once per isolate, and the JSON answers the Worker and the Durable Objects share. */
import { KeraslessError, kernelPath, loadModel, type Model, type TensorData } from "kerasless";
import modelFile from "../../seed/model.keras";

let loading: Promise<Model> | undefined;

/** The seed model (`LSTM(3) -> Dense(1)`), parsed on first use; later requests in this isolate reuse it. */
export function getModel(): Promise<Model> {
  loading ??= loadModel(new Uint8Array(modelFile), { name: "model.keras" }).catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

/** Which kernels each layer runs on: WebAssembly SIMD here, through `kerasless/workers`. */
export function kernels(model: Model): { path: string; layers: { layer: string; backend: string }[] } {
  return { path: kernelPath(), layers: model.kernelPlans().map(({ layer, backend }) => ({ layer, backend })) };
}

/** A tensor as JSON: its shape and its values, row-major. */
export function tensorJson(
  name: string,
  t: { readonly shape: readonly number[]; readonly data: TensorData },
): { name: string; shape: number[]; data: number[] } {
  return { name, shape: [...t.shape], data: Array.from(t.data) };
}

/** A request body's JSON, or null when it is not JSON. */
export async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    return null;
  }
}

/** Errors as `{"error": ...}`: 400 for a request the model refuses (a KeraslessError), else 500. */
export function errorResponse(e: unknown): Response {
  if (e instanceof KeraslessError) return Response.json({ error: e.message, code: e.code }, { status: 400 });
  return Response.json({ error: e instanceof Error ? e.message : String(e) }, { status: 500 });
}
