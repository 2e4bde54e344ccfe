/**
 * startServer(): the HTTP server of `kerasless serve` (Node's own http: see docs/decisions.md).
 * Routes /v1 (TensorFlow Serving), /v2 (Open Inference Protocol), /sessions (streams, also over
 * WebSocket) and /metrics; applies the bearer token, CORS, body limit and timeouts; drains on close().
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import type { Departure } from "./batcher.js";
import { parseJson, readBody, splitBinaryBody } from "./body.js";
import { HttpError, notFound } from "./http-error.js";
import { handleV2 } from "./kserve.js";
import { jsonLogger, type Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import type { ServeOptions } from "./options.js";
import { ServedModel } from "./served-model.js";
import { Sessions, handleSessions } from "./sessions.js";
import { handleV1 } from "./tfserving.js";
import { attachWebSockets } from "./websocket.js";

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly models: ReadonlyMap<string, ServedModel>;
  readonly sessions: Sessions;
  readonly metrics: Metrics;
  readonly http: Server;
  /** Stops accepting, answers what was accepted (up to shutdownTimeoutMs), then stops the models' threads. */
  close(): Promise<void>;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return String(pkg.version);
}

interface Reply {
  status: number;
  body: unknown;
  binary?: Uint8Array[];
}

function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  const json = Buffer.from(JSON.stringify(reply.body));
  if (reply.binary === undefined) {
    res.writeHead(reply.status, { "Content-Type": "application/json", "Content-Length": json.length });
    res.end(json);
    return;
  }
  const total = reply.binary.reduce((n, b) => n + b.byteLength, json.length);
  res.writeHead(reply.status, {
    "Content-Type": "application/octet-stream",
    "Content-Length": total,
    "Inference-Header-Content-Length": json.length,
  });
  res.write(json);
  for (const b of reply.binary) res.write(b);
  res.end();
}

/** The protocol a path belongs to, for metrics and routing. */
function protocolOf(path: string): "v1" | "v2" | "sessions" | "metrics" | "other" {
  if (path.startsWith("/v1/") || path === "/v1") return "v1";
  if (path.startsWith("/v2/") || path === "/v2") return "v2";
  if (path.startsWith("/sessions")) return "sessions";
  if (path === "/metrics") return "metrics";
  return "other";
}

const MODEL_IN_PATH = /^\/v[12]\/models\/([^/:]+)/;

export async function startServer(
  options: ServeOptions,
  log: Logger = jsonLogger(options.logLevel),
): Promise<RunningServer> {
  const models = new Map<string, ServedModel>();
  const metrics = new Metrics(() => [...models.values()].map((m) => [m.name, m.batcher.queued]));
  const sessions = new Sessions(models, { maxSessions: options.maxSessions, idleMs: options.sessionIdleMs }, (n) =>
    metrics.sessions.set(n),
  );
  const hooks = {
    onBatch: (model: string, rows: number, requests: number): void => {
      metrics.batchRows.observe({ model }, rows);
      metrics.batchRequests.observe({ model }, requests);
    },
    onRestart: (model: string): void => {
      metrics.restarts.inc({ model });
      sessions.dropModel(model);
    },
  };
  const batching = {
    windowMs: options.batchWindowMs,
    maxRows: options.maxBatchRows,
    maxQueue: options.maxQueue,
    waitWhenIdle: options.batchWaitWhenIdle,
    inlineBelowMs: options.inlineBelowMs,
  };
  try {
    for (const spec of options.models) {
      const loaded = await ServedModel.load(spec, options.threads, batching, hooks, log);
      models.set(spec.name, loaded);
      log("info", "model loaded", {
        model: spec.name,
        path: spec.path,
        kernels: loaded.kernelPath,
        // Batches of up to this many rows run on the event loop, larger ones in the model's thread.
        inlineRows: loaded.inlineRows,
      });
    }
  } catch (e) {
    sessions.close();
    await Promise.all([...models.values()].map((m) => m.executor.close()));
    throw e;
  }
  const state = { version: packageVersion(), live: true, ready: true };
  const token = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  // Building a log record costs more than some predictions: only when it is written.
  const logRequests = options.logLevel === "debug";
  let active = 0;
  let drained: (() => void) | undefined;

  const authorized = (req: IncomingMessage): boolean => {
    if (token === undefined) return true;
    const given = Buffer.from(req.headers.authorization ?? "");
    return given.length === token.length && timingSafeEqual(given, token);
  };

  async function route(req: IncomingMessage, path: string, signal: Departure): Promise<Reply> {
    const method = req.method ?? "GET";
    const raw = (): Promise<Buffer> => readBody(req, options.bodyLimitBytes, options.requestTimeoutMs);
    const json = async (): Promise<unknown> => parseJson(await raw());
    switch (protocolOf(path)) {
      case "v1":
        return handleV1(models, { method, path, signal, body: json });
      case "v2":
        return handleV2(models, state, {
          method,
          path,
          signal,
          body: async () => splitBinaryBody(await raw(), req.headers["inference-header-content-length"]),
        });
      case "sessions":
        return handleSessions(sessions, { method, path, body: json });
      case "metrics":
        if (method !== "GET") throw new HttpError(405, "GET /metrics only");
        return { status: 200, body: await metrics.registry.metrics() };
      default:
        throw notFound(`no endpoint ${method} ${path}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const protocol = protocolOf(path);
    const named = MODEL_IN_PATH.exec(path)?.[1];
    const model = named !== undefined && models.has(named) ? named : "";
    // Set when the client leaves before its answer: a queued prediction of it is dropped.
    const departure = { aborted: false };
    res.on("close", () => {
      const finished = res.writableFinished;
      if (!finished) departure.aborted = true;
      const seconds = (performance.now() - start) / 1000;
      metrics.requests.inc({ protocol, model, code: String(res.statusCode) });
      metrics.latency.observe({ protocol, model }, seconds);
      if (logRequests)
        log("debug", "request", { method: req.method, path, status: res.statusCode, finished, ms: seconds * 1000 });
    });
    if (!state.ready) res.setHeader("Connection", "close");
    if (options.corsOrigin !== undefined && (options.corsOrigin === "*" || req.headers.origin === options.corsOrigin)) {
      res.setHeader("Access-Control-Allow-Origin", options.corsOrigin);
      res.setHeader("Vary", "Origin");
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
          "Access-Control-Allow-Headers": "Authorization, Content-Type, Inference-Header-Content-Length",
          "Access-Control-Max-Age": "600",
        });
        res.end();
        return;
      }
    }
    try {
      if (!path.startsWith("/v2/health/") && !authorized(req))
        throw new HttpError(401, "missing or wrong bearer token", { "WWW-Authenticate": "Bearer" });
      const reply = await route(req, path, departure);
      if (protocol === "metrics") {
        res.writeHead(200, { "Content-Type": metrics.registry.contentType });
        res.end(reply.body as string);
      } else send(res, reply);
    } catch (e) {
      const error =
        e instanceof HttpError
          ? e
          : new HttpError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      if (error.status >= 500)
        log("error", "request failed", { method: req.method, path, status: error.status, error: error.message });
      // A body left unread (too large, too slow) is not drained: the connection is closed instead.
      if (!req.complete) res.setHeader("Connection", "close");
      send(res, { status: error.status, body: { error: error.message } }, error.headers);
    }
  }

  const http = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      // Node's own limit is the backstop (it answers 408 without a body); readBody's, a little
      // shorter, answers with the protocols' JSON error.
      requestTimeout: options.requestTimeoutMs + 1000,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs),
    },
    (req, res) => {
      active++;
      res.on("close", () => {
        active--;
        if (active === 0) drained?.();
      });
      void handle(req, res);
    },
  );
  const sockets = attachWebSockets(http, sessions, {
    authorized,
    maxPayload: options.bodyLimitBytes,
    log,
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      state.ready = false;
      log("info", "shutting down: not accepting new connections", { active });
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      if (active > 0) {
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownTimeoutMs).unref());
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), timeout]);
      }
      sockets.close();
      http.closeAllConnections();
      await stopped;
      sessions.close();
      await Promise.all([...models.values()].map((m) => m.executor.close()));
      state.live = false;
      log("info", "stopped", {});
    })());
  log("info", "listening", { url: `http://${host}:${port}`, models: [...models.keys()] });
  return { url: `http://${host}:${port}`, port, models, sessions: sessions, metrics, http, close };
}
