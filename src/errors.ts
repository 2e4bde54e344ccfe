/**
 * Every failure kerasless reports is a KeraslessError with a stable `code`.
 * Messages name the file (when known), the layer and the problem.
 */
export type ErrorCode =
  | "E_IO" // the file could not be read at all
  | "E_FORMAT" // not a file kerasless recognises
  | "E_ZIP" // broken .keras zip
  | "E_HDF5" // broken or unexpected HDF5 content
  | "E_CONFIG" // the model config is malformed
  | "E_UNSUPPORTED" // a layer, option or object kerasless does not run
  | "E_WEIGHTS_MISSING" // a weight the config needs is not in the file
  | "E_WEIGHTS_SHAPE" // a weight's shape disagrees with the config
  | "E_INPUT" // predict() got something that is not a tensor
  | "E_INPUT_SHAPE" // wrong rank or dimension
  | "E_INPUT_DTYPE" // wrong data type
  | "E_INPUT_VALUE" // a value outside its domain (e.g. a token id outside the vocabulary)
  | "E_LIMIT" // a size or depth beyond what kerasless accepts
  | "E_POOL" // a model pool (Node) that is closed, or whose worker thread failed
  | "E_THREADS"; // kernel threads could not start, or one stopped answering

export interface ErrorDetails {
  file?: string;
  layer?: string;
  cause?: unknown;
}

export class KeraslessError extends Error {
  readonly code: ErrorCode;
  /** The problem alone, without the file prefix. */
  readonly problem: string;
  file: string | undefined;
  readonly layer: string | undefined;

  constructor(code: ErrorCode, problem: string, details: ErrorDetails = {}) {
    const file = details.file === undefined ? undefined : printable(details.file);
    super(formatMessage(file, printable(problem)), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "KeraslessError";
    this.code = code;
    this.problem = printable(problem);
    this.file = file;
    this.layer = details.layer;
  }

  /** Attaches the file name if the error does not name one yet. */
  inFile(file: string | undefined): this {
    if (file !== undefined && this.file === undefined) {
      this.file = printable(file);
      this.message = formatMessage(this.file, this.problem);
    }
    return this;
  }
}

const MAX_MESSAGE = 2000;

/**
 * Escapes control and line-separator characters, so that a message is always one line even
 * when it quotes a file's content (a layer name, a JSON parser's excerpt), and caps its length.
 */
function printable(text: string): string {
  // A file can name a layer with a megabyte of text; a message quotes at most a page of it.
  if (text.length > MAX_MESSAGE)
    text = `${text.slice(0, MAX_MESSAGE)}... (${text.length - MAX_MESSAGE} more characters)`;
  // Matching control characters is the point here.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function formatMessage(file: string | undefined, problem: string): string {
  return file === undefined ? problem : `${file}: ${problem}`;
}

/** Describes any thrown value in one line (libraries sometimes throw strings). */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  return String(thrown);
}

/**
 * The engine's own out-of-memory errors (a typed array too long to allocate) as E_LIMIT; anything
 * else unchanged. Used where sizes come from the caller's inputs rather than from a file.
 */
export function allocationError(thrown: unknown, what: string): unknown {
  if (thrown instanceof RangeError && /allocation failed|Invalid (?:typed )?array length/i.test(thrown.message)) {
    return new KeraslessError(
      "E_LIMIT",
      `${what}: more memory than the JavaScript engine can allocate (${thrown.message})`,
      { cause: thrown },
    );
  }
  return thrown;
}

/** Re-throws KeraslessErrors (tagged with the file) and wraps anything else in `code`. */
export function rethrowAs(code: ErrorCode, context: string, thrown: unknown, file?: string): never {
  if (thrown instanceof KeraslessError) throw thrown.inFile(file);
  throw new KeraslessError(code, `${context}: ${describeThrown(thrown)}`, { file, cause: thrown });
}

/** One unsupported part of a model: a layer (or ONNX node) `name` of class `kind`, and what it uses. */
export interface UnsupportedPart {
  readonly name: string;
  readonly kind: string;
  readonly problem: string;
}

/** How many layer names a summary line quotes before "and N more". */
const NAMES_QUOTED = 3;

/**
 * The one E_UNSUPPORTED error listing every unsupported part of a model, summarised: parts with
 * the same class and problem are written once, with their count and the first names, so that a
 * model with 58 unsupported convolutions still names, within the message's 2,000 characters,
 * the pooling layer it also lacks. `noun` is "layer" or "node".
 */
export function unsupportedError(parts: readonly UnsupportedPart[], noun: string): KeraslessError {
  const groups = new Map<string, { kind: string; problem: string; names: string[] }>();
  for (const part of parts) {
    const key = JSON.stringify([part.kind, part.problem]);
    const group = groups.get(key) ?? { kind: part.kind, problem: part.problem, names: [] };
    group.names.push(part.name);
    groups.set(key, group);
  }
  const lines = [...groups.values()].map(({ kind, problem, names }) => {
    if (names.length === 1) return `${noun} "${names[0]}" (${kind}): ${problem}`;
    const quoted = names.slice(0, NAMES_QUOTED).map((n) => `"${n}"`);
    if (names.length > NAMES_QUOTED) quoted.push(`and ${names.length - NAMES_QUOTED} more`);
    return `${names.length} ${noun}s (${kind}) ${quoted.join(", ")}: ${problem}`;
  });
  const head =
    parts.length === 1 ? "the model uses 1 unsupported feature" : `the model uses ${parts.length} unsupported features`;
  return new KeraslessError("E_UNSUPPORTED", `${head}: ${lines.join("; ")}`, { layer: parts[0]?.name });
}
