/**
 * A Cloudflare Worker that runs a Keras model with kerasless.
 *
 *   GET  /                       the model's inputs and outputs, and the kernels it runs on
 *   POST /predict                {"inputs": [batch, time, features]} -> each output as {name, shape, data}
 *   POST /streams/{id}/step      {"inputs": [batch, steps, features]}: feeds a stream the next steps
 *   GET  /streams/{id}           how many steps the stream has taken
 *   DELETE /streams/{id}         forgets the stream
 *
 * Predictions are stateless and run in whichever isolate gets the request. Each stream id is one
 * Durable Object (src/stream-object.ts), which keeps the stream's recurrent states and checkpoints
 * them to its storage after every request.
 */
import type { PredictInput } from "kerasless";
import type { Env } from "./env.js";
import { errorResponse, getModel, kernels, readJson, tensorJson } from "./model.js";

export { StreamObject } from "./stream-object.js";

const STREAM_PATH = /^\/streams\/([\w.-]{1,64})(\/step)?$/;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const stream = STREAM_PATH.exec(url.pathname);
    if (stream !== null) {
      // The same id always reaches the same object, wherever it runs.
      const object = env.STREAMS.get(env.STREAMS.idFromName(stream[1]));
      return object.fetch(request);
    }
    try {
      const model = await getModel();
      if (url.pathname === "/" && request.method === "GET")
        return Response.json({
          name: model.name,
          inputs: model.inputs,
          outputs: model.outputs,
          kernels: kernels(model),
        });
      if (url.pathname === "/predict" && request.method === "POST") {
        const body = (await readJson(request)) as { inputs?: unknown } | null;
        if (body === null || body.inputs === undefined)
          return Response.json({ error: 'the body must be JSON: {"inputs": [...]}' }, { status: 400 });
        const outputs = model.predict(body.inputs as PredictInput);
        return Response.json({
          outputs: outputs.map((t, i) => tensorJson(model.outputs[i].name, t)),
          kernels: kernels(model),
        });
      }
      return Response.json({ error: `no route ${request.method} ${url.pathname}` }, { status: 404 });
    } catch (e) {
      return errorResponse(e);
    }
  },
};
