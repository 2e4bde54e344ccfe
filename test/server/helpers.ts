/** Shared helpers for the server tests: a server on a free port, JSON requests, the fixtures' numbers. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { DEFAULTS, type ServeOptions } from "../../src/server/options.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { Tensor } from "../../src/tensor.js";
import { FIXTURES, assertClose, listFixtures, type FixtureTensor } from "../helpers.js";

export const SEED = listFixtures("seed")[0];
export const MULTI_IO = listFixtures("keras3/multi_io")[0];
export const EMBEDDING = listFixtures("keras3/embedding_lstm")[0];

export const SEED_MODEL = join(FIXTURES, "seed/model.keras");
export const MULTI_IO_MODEL = join(FIXTURES, "keras3/multi_io/model.keras");
export const EMBEDDING_MODEL = join(FIXTURES, "keras3/embedding_lstm/model.keras");

/** A server on 127.0.0.1 and a free port, serving seed (and the others if asked), logging nothing. */
export function serve(options: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return startServer({
    ...DEFAULTS,
    port: 0,
    threads: 1,
    logLevel: "silent",
    models: [{ name: "seed", path: SEED_MODEL }],
    ...options,
  });
}

export const allModels = [
  { name: "seed", path: SEED_MODEL },
  { name: "multi_io", path: MULTI_IO_MODEL },
  { name: "embedding", path: EMBEDDING_MODEL },
];

export interface JsonReply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A request with a JSON body (a string is sent as it is); the reply parsed as JSON. */
export async function request(
  server: RunningServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? undefined : JSON.parse(text) };
}

/** Nested arrays of a fixture tensor, rows first. */
export function nested(t: FixtureTensor): unknown {
  return new Tensor(t.shape, t.dtype === "int32" ? Int32Array.from(t.data) : Float32Array.from(t.data)).toArray();
}

/** Rows [start, end) of a fixture tensor as nested arrays. */
export function rows(t: FixtureTensor, start: number, end: number): unknown[] {
  return (nested(t) as unknown[]).slice(start, end);
}

/** `got` (nested arrays or flat data of `expected`'s shape) equals Keras' `expected` within the tolerance. */
export function assertKeras(got: unknown, expected: FixtureTensor, what: string): void {
  const flat = (got as unknown[]).flat(Infinity) as number[];
  assert.equal(flat.length, expected.data.length, `${what}: ${flat.length} values, expected ${expected.data.length}`);
  assertClose(new Tensor(expected.shape, Float32Array.from(flat)), expected, what);
}

/** Writes raw bytes to the server and reads what comes back until the server closes the connection. */
export function raw(
  server: RunningServer,
  write: (send: (text: string) => void, end: () => void) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    let received = "";
    socket.on("data", (d) => (received += String(d)));
    socket.on("close", () => resolve(received));
    socket.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve(received) : reject(e)));
    socket.on("connect", () =>
      write(
        (text) => socket.write(text),
        () => socket.destroy(),
      ),
    );
  });
}

export function statusAndBody(response: string): [number, unknown] {
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1]);
  const body = response.slice(response.indexOf("\r\n\r\n") + 4);
  return [status, body === "" ? undefined : JSON.parse(body)];
}

/** The seed model still answers Keras' numbers after a fault. */
export async function stillServes(server: RunningServer): Promise<void> {
  const reply = await request(server, "POST", "/v1/models/seed:predict", { instances: nested(SEED.inputs[0]) });
  assert.equal(reply.status, 200);
  assertKeras(reply.body.predictions, SEED.outputs[0], "after the fault");
}
