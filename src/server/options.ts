/** `kerasless serve` options: defaults, the command line, and the --config file. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, extname, resolve } from "node:path";
import { KeraslessError } from "../errors.js";
import type { LogLevel } from "./log.js";

export interface ServedModelSpec {
  /** The name in URLs: letters, digits, '.', '_', '-'; it is looked up, never turned into a path. */
  name: string;
  path: string;
}

export interface ServeOptions {
  models: ServedModelSpec[];
  host: string;
  port: number;
  /** Threads per model (its worker thread plus the ModelPool's extra ones for large batches). */
  threads: number;
  batchWindowMs: number;
  /** Most rows in one batch; 1 turns dynamic batching off. */
  maxBatchRows: number;
  /** Wait the batch window even when the model is idle (TF Serving's way); by default an idle model starts at once. */
  batchWaitWhenIdle: boolean;
  /** Most requests waiting per model; more get 503 + Retry-After. */
  maxQueue: number;
  /**
   * A batch whose estimated time is below this runs on the event loop instead of the model's
   * thread (only models whose one-row time was measured below it at load); 0: never.
   */
  inlineBelowMs: number;
  bodyLimitBytes: number;
  /** Time to receive a request's headers, then its whole body (408 after). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** When set, every endpoint but health needs `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** The one origin allowed by CORS; none by default. */
  corsOrigin: string | undefined;
  maxSessions: number;
  sessionIdleMs: number;
  /** On SIGTERM: most time to finish accepted requests before exiting anyway. */
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

export const DEFAULTS: Omit<ServeOptions, "models"> = {
  host: "127.0.0.1",
  port: 8501,
  threads: Math.max(1, Math.min(4, availableParallelism())),
  batchWindowMs: 1,
  maxBatchRows: 64,
  batchWaitWhenIdle: false,
  maxQueue: 1024,
  inlineBelowMs: 0.1,
  bodyLimitBytes: 16 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  token: undefined,
  corsOrigin: undefined,
  maxSessions: 1000,
  sessionIdleMs: 300_000,
  shutdownTimeoutMs: 30_000,
  logLevel: "info",
};

export const SERVE_HELP = `kerasless serve MODEL [MODEL ...] [options]

Serves models over TensorFlow Serving's REST API (/v1) and the Open Inference Protocol (/v2),
with stream sessions (/sessions, also over WebSocket) and Prometheus metrics (/metrics).
A MODEL is a .keras/.h5 path, served under its file stem, or NAME=PATH.

  --port N                 port (default 8501; 0 picks a free one)
  --host HOST              address to bind (default 127.0.0.1: this machine only)
  --config FILE            JSON: {"models": {"name": "path", ...}, "port": 8501, ...any option below in camelCase}
  --threads N              threads per model (default: cores, at most 4)
  --batch-window-ms MS     with --batch-wait-when-idle: how long an idle model waits for more requests (default 1)
  --max-batch-rows N       most rows per batch; 1 turns batching off (default 64)
  --no-batching            same as --max-batch-rows 1
  --batch-wait-when-idle   wait the window even when the model is idle (default: an idle model starts at once)
  --max-queue N            most waiting requests per model before 503 (default 1024)
  --inline-below-ms MS     run batches estimated below MS on the event loop, not the model's thread;
                           0: never (default 0.1)
  --body-limit BYTES       largest request body (default 16777216)
  --headers-timeout-ms MS  (default 10000)   --request-timeout-ms MS (default 30000)
  --keep-alive-timeout-ms MS (default 5000)
  --token-file FILE        require "Authorization: Bearer <token>" (the file's first line); or env KERASLESS_TOKEN
  --cors-origin ORIGIN     allow this one origin (no CORS headers otherwise)
  --max-sessions N         most live stream sessions (default 1000)
  --session-idle-s S       a session unused this long is deleted (default 300)
  --shutdown-timeout-ms MS on SIGTERM, most time to finish accepted requests (default 30000)
  --log-level LEVEL        debug, info, warn, error or silent (default info); logs are JSON lines on stdout
`;

const NAME = /^[a-z\d][\w.-]{0,127}$/i;

const invalid = (problem: string): KeraslessError => new KeraslessError("E_INPUT", `serve: ${problem}`);

export function modelSpec(arg: string, base = "."): ServedModelSpec {
  const eq = arg.indexOf("=");
  const path = resolve(base, eq > 0 ? arg.slice(eq + 1) : arg);
  const name = eq > 0 ? arg.slice(0, eq) : basename(path, extname(path));
  if (!NAME.test(name))
    throw invalid(`model name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' (give NAME=PATH)`);
  return { name, path };
}

const NUMERIC: Record<string, keyof ServeOptions> = {
  "--port": "port",
  "--threads": "threads",
  "--batch-window-ms": "batchWindowMs",
  "--max-batch-rows": "maxBatchRows",
  "--max-queue": "maxQueue",
  "--inline-below-ms": "inlineBelowMs",
  "--body-limit": "bodyLimitBytes",
  "--headers-timeout-ms": "headersTimeoutMs",
  "--request-timeout-ms": "requestTimeoutMs",
  "--keep-alive-timeout-ms": "keepAliveTimeoutMs",
  "--max-sessions": "maxSessions",
  "--shutdown-timeout-ms": "shutdownTimeoutMs",
};

/** Parses the arguments after `serve`; `env` supplies KERASLESS_TOKEN. */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const given: Partial<ServeOptions> = {};
  const models: ServedModelSpec[] = [];
  let config: Partial<ServeOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw invalid(`${arg} needs a value`);
      return v;
    };
    if (arg === "--debug") continue;
    else if (arg in NUMERIC) (given as Record<string, unknown>)[NUMERIC[arg]] = Number(value());
    else if (arg === "--session-idle-s") given.sessionIdleMs = Number(value()) * 1000;
    else if (arg === "--no-batching") given.maxBatchRows = 1;
    else if (arg === "--batch-wait-when-idle") given.batchWaitWhenIdle = true;
    else if (arg === "--host") given.host = value();
    else if (arg === "--cors-origin") given.corsOrigin = value();
    else if (arg === "--log-level") given.logLevel = value() as LogLevel;
    else if (arg === "--token-file") given.token = readFileSync(value(), "utf8").split("\n")[0].trim();
    else if (arg === "--config") config = readConfig(value());
    else if (arg.startsWith("-")) throw invalid(`unknown option ${arg} (see kerasless serve --help)`);
    else models.push(modelSpec(arg));
  }
  const options: ServeOptions = {
    ...DEFAULTS,
    token: env.KERASLESS_TOKEN === undefined || env.KERASLESS_TOKEN === "" ? undefined : env.KERASLESS_TOKEN,
    ...config,
    ...given,
    models: [...(config.models ?? []), ...models],
  };
  return validate(options);
}

/** A JSON config: {"models": {"name": "path"} or [{"name", "path"}], ...options}; paths are relative to the file. */
export function readConfig(file: string): Partial<ServeOptions> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw invalid(`cannot read the config ${file}: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw invalid(`config ${file} is not a JSON object`);
  const { models, ...rest } = parsed as Record<string, unknown>;
  for (const key of Object.keys(rest))
    if (!Object.hasOwn(DEFAULTS, key)) throw invalid(`config ${file}: unknown option ${JSON.stringify(key)}`);
  const base = dirname(file);
  const specs: ServedModelSpec[] = [];
  if (Array.isArray(models)) {
    for (const m of models as { name?: unknown; path?: unknown }[]) {
      if (typeof m?.path !== "string") throw invalid(`config ${file}: each model needs a "path"`);
      specs.push(modelSpec(typeof m.name === "string" ? `${m.name}=${m.path}` : m.path, base));
    }
  } else if (typeof models === "object" && models !== null) {
    for (const [name, path] of Object.entries(models)) {
      if (typeof path !== "string") throw invalid(`config ${file}: model ${name}'s path is not a string`);
      specs.push(modelSpec(`${name}=${path}`, base));
    }
  } else if (models !== undefined) throw invalid(`config ${file}: "models" must be an object or a list`);
  return { ...(rest as Partial<ServeOptions>), models: specs };
}

function validate(o: ServeOptions): ServeOptions {
  if (o.models.length === 0) throw invalid("give at least one model (kerasless serve model.keras)");
  const names = new Set<string>();
  for (const m of o.models) {
    if (names.has(m.name)) throw invalid(`two models are named ${m.name} (give NAME=PATH)`);
    names.add(m.name);
  }
  const integer = (key: keyof ServeOptions, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = o[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw invalid(`${key} must be an integer from ${min} to ${max}, got ${String(v)}`);
  };
  integer("port", 0, 65535);
  integer("threads", 1, 64);
  integer("maxBatchRows", 1);
  integer("maxQueue", 1);
  integer("bodyLimitBytes", 1);
  integer("headersTimeoutMs", 1);
  integer("requestTimeoutMs", 1);
  integer("keepAliveTimeoutMs", 1);
  integer("maxSessions", 0);
  integer("sessionIdleMs", 1);
  integer("shutdownTimeoutMs", 0);
  if (typeof o.batchWindowMs !== "number" || !(o.batchWindowMs >= 0 && o.batchWindowMs <= 1000))
    throw invalid(`batchWindowMs must be from 0 to 1000, got ${String(o.batchWindowMs)}`);
  if (typeof o.inlineBelowMs !== "number" || !(o.inlineBelowMs >= 0 && o.inlineBelowMs <= 1000))
    throw invalid(`inlineBelowMs must be from 0 to 1000, got ${String(o.inlineBelowMs)}`);
  if (typeof o.batchWaitWhenIdle !== "boolean") throw invalid("batchWaitWhenIdle must be true or false");
  if (typeof o.host !== "string" || o.host === "") throw invalid("host must be a non-empty string");
  if (!["debug", "info", "warn", "error", "silent"].includes(o.logLevel))
    throw invalid(`log level must be debug, info, warn, error or silent, got ${String(o.logLevel)}`);
  return o;
}
