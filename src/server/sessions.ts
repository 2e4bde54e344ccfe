/**
 * Stream sessions: stateful step-by-step inference (model.stream()) held in the model's worker
 * thread, addressed by a random id. Sessions expire when idle, their number is bounded, and a
 * session's state can be exported and imported to move it to another server.
 */
import { randomUUID } from "node:crypto";
import { normalizeInputs, type PredictInput, type TensorInfo } from "../inputs.js";
import { Tensor, type NestedArray } from "../tensor.js";
import type { ExecutorReply } from "./executor-protocol.js";
import { HttpError, badRequest, notFound } from "./http-error.js";
import { asRequestError, type ServedModel } from "./served-model.js";

export const STATE_FORMAT = "kerasless-stream-state/1";

/** A session's state as JSON: float32 buffers, little-endian, base64. */
export interface ExportedState {
  format: typeof STATE_FORMAT;
  model: string;
  batch: number;
  buffers: string[];
}

interface Session {
  readonly id: string;
  readonly model: ServedModel;
  readonly batch: number;
  /** The step inputs' infos: [batch, steps, ...features]. */
  readonly stepInputs: readonly TensorInfo[];
  lastUsed: number;
  steps: number;
}

export interface SessionLimits {
  maxSessions: number;
  idleMs: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function encodeState(model: string, batch: number, buffers: readonly Float32Array[]): ExportedState {
  const base64 = (b: Float32Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
  return { format: STATE_FORMAT, model, batch, buffers: buffers.map(base64) };
}

function decodeState(given: unknown): { model: string; batch: number; buffers: Float32Array[] } {
  if (!isObject(given) || given.format !== STATE_FORMAT)
    throw badRequest(`a state must be an object with "format": "${STATE_FORMAT}" (from GET /sessions/{id}/state)`);
  const { model, batch, buffers } = given;
  if (typeof model !== "string" || !Number.isInteger(batch) || (batch as number) < 1 || !Array.isArray(buffers))
    throw badRequest("a state needs 'model', a positive integer 'batch' and a list of base64 'buffers'");
  const decoded = buffers.map((b: unknown, i) => {
    if (typeof b !== "string") throw badRequest(`state buffer ${i} is not a base64 string`);
    const bytes = Buffer.from(b, "base64");
    if (bytes.byteLength % 4 !== 0) throw badRequest(`state buffer ${i} is not a whole number of float32 values`);
    const out = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  });
  return { model, batch: batch as number, buffers: decoded };
}

export class Sessions {
  private readonly live = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly models: ReadonlyMap<string, ServedModel>,
    private readonly limits: SessionLimits,
    private readonly onCount: (count: number) => void,
  ) {
    this.sweeper = setInterval(() => this.expire(), Math.min(10_000, Math.max(50, limits.idleMs / 4)));
    this.sweeper.unref();
  }

  get count(): number {
    return this.live.size;
  }

  /** Opens a session on `modelName` with `batch` rows per step, or from an exported state. */
  async create(modelName: unknown, batch: unknown, state?: unknown): Promise<Session> {
    const restored = state === undefined ? undefined : decodeState(state);
    const name = modelName ?? restored?.model;
    if (typeof name !== "string") throw badRequest("a session needs 'model', the name of a served model");
    const model = this.models.get(name);
    if (model === undefined) throw notFound(`model ${JSON.stringify(name)} is not served here`);
    if (!model.streamable) throw badRequest(`model ${name} cannot be streamed (see model.stream())`);
    const rows = batch ?? restored?.batch ?? 1;
    if (!Number.isInteger(rows) || (rows as number) < 1 || (rows as number) > 65536)
      throw badRequest("'batch' must be an integer from 1 to 65536");
    if (restored !== undefined && restored.batch !== rows)
      throw badRequest(`the state is for batch ${restored.batch}, not ${String(rows)}`);
    if (this.live.size >= this.limits.maxSessions)
      throw new HttpError(429, `too many live sessions (${this.limits.maxSessions}); delete some or retry later`, {
        "Retry-After": "1",
      });
    const id = randomUUID();
    const stepInputs = model.inputs.map((t) => ({ ...t, shape: [rows as number, null, ...t.shape.slice(2)] }));
    const session: Session = { id, model, batch: rows as number, stepInputs, lastUsed: Date.now(), steps: 0 };
    this.live.set(id, session);
    this.onCount(this.live.size);
    try {
      await model.executor.request({ kind: "open", sid: id, batch: rows as number, state: restored?.buffers });
    } catch (e) {
      this.drop(id);
      throw e;
    }
    return session;
  }

  get(id: string): Session {
    const session = this.live.get(id);
    if (session === undefined)
      throw notFound(`session ${JSON.stringify(id)} does not exist (deleted, expired or never made)`);
    session.lastUsed = Date.now();
    return session;
  }

  describe(session: Session): Record<string, unknown> {
    const info = (t: TensorInfo) => ({ name: t.name, dtype: t.dtype, shape: t.shape });
    return {
      id: session.id,
      model: session.model.name,
      batch: session.batch,
      steps: session.steps,
      inputs: session.stepInputs.map(info),
      outputs: session.model.outputs.map(info),
    };
  }

  /** Feeds [batch, steps, ...] per input; returns each output as [batch, steps, ...], keyed by name. */
  async step(id: string, given: unknown): Promise<Record<string, NestedArray>> {
    const session = this.get(id);
    let tensors: Tensor[];
    try {
      tensors = normalizeInputs(given as PredictInput, session.stepInputs);
    } catch (e) {
      asRequestError(e);
    }
    if (tensors[0].shape[1] === 0) throw badRequest("no time steps given");
    const inputs = tensors.map((t) => ({ shape: [...t.shape], data: t.data }));
    const reply = await this.send(session, { kind: "step", sid: id, inputs });
    if (reply.kind !== "done") throw new Error(`kerasless bug: a step got a ${reply.kind} reply`);
    session.steps += tensors[0].shape[1];
    const out: Record<string, NestedArray> = {};
    reply.outputs.forEach((t, k) => (out[session.model.outputs[k].name] = new Tensor(t.shape, t.data).toArray()));
    return out;
  }

  async exportState(id: string): Promise<ExportedState> {
    const session = this.get(id);
    const reply = await this.send(session, { kind: "get-state", sid: id });
    if (reply.kind !== "state") throw new Error(`kerasless bug: get-state got a ${reply.kind} reply`);
    return encodeState(session.model.name, reply.batch, reply.state);
  }

  async importState(id: string, state: unknown): Promise<void> {
    const session = this.get(id);
    const decoded = decodeState(state);
    if (decoded.model !== session.model.name || decoded.batch !== session.batch)
      throw badRequest(
        `the state is for model ${decoded.model}, batch ${decoded.batch};` +
          ` the session is ${session.model.name}, batch ${session.batch}`,
      );
    await this.send(session, { kind: "set-state", sid: id, state: decoded.buffers });
  }

  async reset(id: string): Promise<void> {
    await this.send(this.get(id), { kind: "reset", sid: id });
  }

  async delete(id: string): Promise<void> {
    const session = this.get(id);
    this.drop(id);
    await session.model.executor.request({ kind: "close", sid: id }).catch(() => undefined);
  }

  /** The model's thread was replaced: its sessions' states are gone with it. */
  dropModel(name: string): void {
    for (const s of [...this.live.values()]) if (s.model.name === name) this.drop(s.id);
  }

  private async send(session: Session, job: Parameters<ServedModel["executor"]["request"]>[0]): Promise<ExecutorReply> {
    try {
      return await session.model.executor.request(job);
    } finally {
      session.lastUsed = Date.now();
    }
  }

  private drop(id: string): void {
    if (this.live.delete(id)) this.onCount(this.live.size);
  }

  private expire(): void {
    const cutoff = Date.now() - this.limits.idleMs;
    for (const s of [...this.live.values()]) {
      if (s.lastUsed > cutoff) continue;
      this.drop(s.id);
      s.model.executor.request({ kind: "close", sid: s.id }).catch(() => undefined);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

const SESSION = /^\/sessions\/([0-9a-f-]{36})(\/step|\/state|\/reset)?$/;

export interface SessionRequest {
  method: string;
  path: string;
  body(): Promise<unknown>;
}

/** The HTTP routes under /sessions. */
export async function handleSessions(
  sessions: Sessions,
  req: SessionRequest,
): Promise<{ status: number; body: unknown }> {
  const { method, path } = req;
  if (path === "/sessions" && method === "POST") {
    const body = await req.body();
    if (!isObject(body)) throw badRequest('the request body must be a JSON object: {"model": name, "batch": rows}');
    const session = await sessions.create(body.model, body.batch, body.state);
    return { status: 201, body: sessions.describe(session) };
  }
  const m = SESSION.exec(path);
  if (m === null) throw notFound(`no endpoint ${method} ${path}`);
  const [, id, sub] = m;
  if (sub === undefined && method === "GET") return { status: 200, body: sessions.describe(sessions.get(id)) };
  if (sub === undefined && method === "DELETE") {
    await sessions.delete(id);
    return { status: 200, body: {} };
  }
  if (sub === "/step" && method === "POST") {
    const body = await req.body();
    if (!isObject(body) || !Object.hasOwn(body, "inputs"))
      throw badRequest('the request body must be {"inputs": [batch, steps, ...features] or {name: ...}}');
    return { status: 200, body: { outputs: await sessions.step(id, body.inputs) } };
  }
  if (sub === "/state" && method === "GET") return { status: 200, body: await sessions.exportState(id) };
  if (sub === "/state" && method === "PUT") {
    await sessions.importState(id, await req.body());
    return { status: 200, body: {} };
  }
  if (sub === "/reset" && method === "POST") {
    await sessions.reset(id);
    return { status: 200, body: {} };
  }
  throw new HttpError(405, `${method} is not allowed on ${path}`);
}
