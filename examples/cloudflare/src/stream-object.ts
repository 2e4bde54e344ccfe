/**
 * One Durable Object per stream id: it holds a kerasless stream (every recurrent state of the
 * model) and checkpoints it to its storage after every request, so that when the object is
 * restarted, evicted or moved to another machine, the next request resumes where the last one
 * ended, with the same outputs as if nothing had happened.
 */
import type { ModelStream, StreamState, TensorData } from "kerasless";
import type { DurableObjectState, Env } from "./env.js";
import { errorResponse, getModel, kernels, readJson, tensorJson } from "./model.js";

/** What the storage holds: the states and how many steps led to them. */
interface Checkpoint {
  state: StreamState;
  steps: number;
}

export class StreamObject {
  private stream: ModelStream | null = null;
  private steps = 0;
  /** The step count this instance found in its storage when it started (null: none). */
  private resumedAt: number | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    _env: Env,
  ) {
    // No request reaches the object before its stream is back from storage.
    void ctx.blockConcurrencyWhile(() => this.restore());
  }

  private async restore(): Promise<void> {
    const saved = await this.ctx.storage.get<Checkpoint>("stream");
    if (saved === undefined) return;
    this.stream = (await getModel()).stream({ batch: saved.state.batch });
    this.stream.setState(saved.state);
    this.steps = saved.steps;
    this.resumedAt = saved.steps;
  }

  async fetch(request: Request): Promise<Response> {
    try {
      const step = new URL(request.url).pathname.endsWith("/step");
      if (step && request.method === "POST") return await this.step(request);
      if (!step && request.method === "GET") {
        const model = await getModel();
        const batch = this.stream?.batch ?? null;
        return Response.json({ steps: this.steps, batch, resumedAt: this.resumedAt, kernels: kernels(model) });
      }
      if (!step && request.method === "DELETE") {
        await this.ctx.storage.deleteAll();
        this.stream = null;
        this.steps = 0;
        this.resumedAt = null;
        return new Response(null, { status: 204 });
      }
      return Response.json({ error: `no route ${request.method} ${new URL(request.url).pathname}` }, { status: 404 });
    } catch (e) {
      return errorResponse(e);
    }
  }

  /** Feeds the steps of `{"inputs": [batch, steps, ...features]}`; answers every output at every step. */
  private async step(request: Request): Promise<Response> {
    const body = (await readJson(request)) as { inputs?: unknown } | null;
    const x = body?.inputs;
    const time = Array.isArray(x) && Array.isArray(x[0]) ? x[0].length : 0;
    if (!Array.isArray(x) || time === 0 || !x.every((row) => Array.isArray(row) && row.length === time))
      return Response.json(
        { error: 'the body must be JSON: {"inputs": [batch, steps, ...features]}' },
        { status: 400 },
      );
    const model = await getModel();
    const stream = (this.stream ??= model.stream());
    // A request either takes all its steps or none: a step the model refuses undoes the earlier ones.
    const before = stream.batch === null ? null : stream.getState();
    const perStep: Values[][] = [];
    try {
      for (let t = 0; t < time; t++) {
        const outputs = stream.step(x.map((row: unknown[]) => row[t]) as number[][]);
        // step() reuses its output tensors: keep copies.
        perStep.push(outputs.map((y) => ({ shape: y.shape, data: y.data.slice() })));
      }
    } catch (e) {
      if (before === null) this.stream = null;
      else stream.setState(before);
      throw e;
    }
    this.steps += time;
    // The answer leaves only once this write is durable (the object's output gate), so a client
    // never sees outputs that a restarted object would not continue from.
    await this.ctx.storage.put<Checkpoint>("stream", { state: stream.getState(), steps: this.steps });
    const outputs = model.outputs.map((info, k) => tensorJson(info.name, stackSteps(perStep.map((s) => s[k]))));
    return Response.json({ steps: this.steps, resumedAt: this.resumedAt, outputs });
  }
}

/** A tensor's shape and values. */
interface Values {
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Per-step outputs [batch, ...] stacked along a new time axis: [batch, steps, ...]. */
function stackSteps(steps: Values[]): Values {
  const [batch, ...rest] = steps[0].shape;
  const inner = steps[0].data.length / batch;
  const data = new Float32Array(batch * steps.length * inner);
  steps.forEach((y, t) => {
    for (let b = 0; b < batch; b++)
      data.set(y.data.subarray(b * inner, (b + 1) * inner), (b * steps.length + t) * inner);
  });
  return { shape: [batch, steps.length, ...rest], data };
}
