/**
 * Writing model outputs as they are computed, batch by batch: JSON (the predict format), CSV or
 * .npy, chosen by the file extension. Only a bounded amount of text is buffered; a .npy header is
 * reserved first and rewritten with the final shape at the end.
 */
import { rmSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeraslessError } from "../errors.js";
import { npyData, npyHeader } from "../io/npy.js";
import type { Tensor } from "../node.js";
import { onInterrupt } from "./interrupt.js";
import { FLUSH_AT, TextBuffer, fileTarget, streamTarget, type Output, type Target } from "./output-targets.js";
import { csvTextCell, printableJson } from "./safe-text.js";

export type { Output } from "./output-targets.js";

export type OutputFormat = "json" | "csv" | "npy";

/** The format for `--output FILE`: by extension, .csv and .npy, anything else JSON. */
export function outputFormat(file: string | undefined): OutputFormat {
  if (file === undefined) return "json";
  if (/\.npy$/i.test(file)) return "npy";
  if (/\.csv$/i.test(file)) return "csv";
  return "json";
}

/** A float32/int32 value as JSON: its exact value; non-finite values as strings. */
export function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : `"${v}"`;
}

/** A value in CSV: its exact value, non-finite ones spelled as NumPy writes them. */
function csvNumber(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/** Writes the outputs of one run, batch by batch. */
export interface OutputWriter {
  /**
   * Adds one batch's outputs (one tensor per model output, batch axis first); `rows` labels
   * each sample (CSV windows).
   */
  add(outputs: readonly Tensor[], rows?: ArrayLike<number>): void;
  /** Writes what has been buffered if it is large (always, with `force`). */
  flush(force?: boolean): Promise<void>;
  /** Completes the file. */
  finish(): Promise<void>;
  /** After an error: closes, and deletes the output file (a half-written file is no result). */
  abort(): Promise<void>;
  /** The output shapes written (available after finish). */
  readonly shapes: number[][];
}

export interface WriterOptions {
  /** The output names, in model order. */
  names: readonly string[];
  /** The number of samples, when known before the first batch (JSON then puts "shape" first). */
  total?: number;
  /** CSV: label each line with the row its prediction is for (CSV windows). */
  rowColumn?: boolean;
}

/** Opens the writer for `file` (or stdout when undefined), in the file's format unless `format` is given. */
export async function openWriter(
  file: string | undefined,
  stdout: Output,
  options: WriterOptions,
  format: OutputFormat = outputFormat(file),
): Promise<OutputWriter> {
  if (format === "npy" && options.names.length !== 1) {
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${options.names.length} outputs (${options.names.join(", ")}) and a .npy file holds one array: ` +
        `write JSON instead (--output OUT.json)`,
      { file },
    );
  }
  const target = file === undefined ? streamTarget(stdout) : await fileTarget(file);
  switch (format) {
    case "json":
      return new JsonWriter(target, options);
    case "csv":
      return new CsvWriter(target, options);
    case "npy":
      return new NpyWriter(target, file as string);
  }
}

/** Per-sample shape checks shared by the writers. */
class Shapes {
  readonly perSample: (number[] | undefined)[];
  readonly samples: number[];
  constructor(outputs: number) {
    this.perSample = Array.from({ length: outputs }, () => undefined);
    this.samples = new Array<number>(outputs).fill(0);
  }

  take(i: number, t: Tensor): number[] {
    const rest = t.shape.slice(1);
    const known = this.perSample[i];
    if (known === undefined) this.perSample[i] = rest;
    else if (known.length !== rest.length || known.some((d, k) => d !== rest[k])) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `output ${i} changed shape between batches: [${known.join(", ")}] then [${rest.join(", ")}]`,
      );
    }
    this.samples[i] += t.shape[0];
    return rest;
  }

  full(i: number): number[] {
    return [this.samples[i], ...(this.perSample[i] ?? [])];
  }
}

/**
 * `{"outputs": [{"name", "shape", "dtype", "data"}, ...]}`, one output per line, the keys in that
 * order whatever the input. When the number of samples is known first (tensor inputs), the first
 * output streams straight to the target; otherwise (CSV windows) its shape is known only at the
 * end, so it goes through a temporary file like the further outputs always do.
 */
class JsonWriter implements OutputWriter {
  private readonly buffers: TextBuffer[] = [];
  private readonly shapesSeen: Shapes;
  private readonly written: number[];
  private readonly dtypes: string[];
  /** Whether output 0 is written to the target as it comes. */
  private readonly firstStreams: boolean;
  private started = false;
  private spillReady: Promise<void> | undefined;
  private spillTargets: Target[] = [];
  private spillDir: string | undefined;
  private forgetSpills: (() => void) | undefined;

  constructor(
    private readonly target: Target,
    private readonly options: WriterOptions,
  ) {
    const n = options.names.length;
    this.shapesSeen = new Shapes(n);
    this.written = new Array<number>(n).fill(0);
    this.dtypes = new Array<string>(n).fill("float32");
    this.firstStreams = options.total !== undefined;
    if (this.firstStreams) this.buffers.push(new TextBuffer(target));
  }

  get shapes(): number[][] {
    return this.options.names.map((_, i) => this.shapesSeen.full(i));
  }

  /** The start of output i's object, up to the opening bracket of its data. */
  private head(i: number, shape: readonly number[]): string {
    const name = printableJson(JSON.stringify(this.options.names[i]));
    return `{"name": ${name}, "shape": [${shape.join(", ")}], "dtype": "${this.dtypes[i]}", "data": [`;
  }

  add(outputs: readonly Tensor[], _rows?: ArrayLike<number>): void {
    outputs.forEach((t, i) => {
      const rest = this.shapesSeen.take(i, t);
      this.dtypes[i] = t.dtype;
      if (i === 0 && !this.started) {
        this.started = true;
        if (this.firstStreams)
          this.buffers[0].add(`{"outputs": [\n  ${this.head(0, [this.options.total as number, ...rest])}`);
      }
      const data = t.data;
      if (data.length === 0) return;
      const values = new Array<string>(data.length);
      for (let k = 0; k < data.length; k++) values[k] = jsonNumber(data[k]);
      this.bufferFor(i).add((this.written[i] === 0 ? "" : ", ") + values.join(", "));
      this.written[i] += data.length;
    });
  }

  private bufferFor(i: number): TextBuffer {
    if (this.buffers[i] === undefined) {
      // A spill buffer writes to its temporary file once that file is open (see flush).
      this.buffers[i] = new TextBuffer({
        write: async (chunk) => {
          await this.ensureSpills();
          await this.spillTargets[i].write(chunk);
        },
        close: async () => {},
        discard: async () => {},
      });
    }
    return this.buffers[i];
  }

  private ensureSpills(): Promise<void> {
    this.spillReady ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), "kerasless-out-"));
      this.spillDir = dir;
      this.forgetSpills = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
      for (let i = this.firstStreams ? 1 : 0; i < this.options.names.length; i++)
        this.spillTargets[i] = await fileTarget(join(dir, `output-${i}.txt`));
    })();
    return this.spillReady;
  }

  async flush(force = false): Promise<void> {
    for (const b of this.buffers) if (b !== undefined && (force || b.full)) await b.flush();
  }

  async finish(): Promise<void> {
    const names = this.options.names;
    if (!this.started) throw new KeraslessError("E_INPUT", "no outputs were computed");
    if (this.firstStreams) {
      this.buffers[0].add("]}");
      await this.buffers[0].flush();
    } else {
      await this.target.write('{"outputs": [\n');
    }
    for (let i = this.firstStreams ? 1 : 0; i < names.length; i++) {
      await this.target.write(`${i === 0 ? "" : ",\n"}  ${this.head(i, this.shapesSeen.full(i))}`);
      const buffer = this.buffers[i];
      if (this.spillDir === undefined) {
        // Never spilled: the whole output is still in memory.
        if (buffer !== undefined) await this.target.write(buffer.take());
      } else {
        await buffer?.flush();
        await this.spillTargets[i].close();
        const handle = await open(join(this.spillDir, `output-${i}.txt`), "r");
        try {
          const chunk = new Uint8Array(FLUSH_AT);
          for (;;) {
            const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
            if (bytesRead === 0) break;
            await this.target.write(chunk.slice(0, bytesRead));
          }
        } finally {
          await handle.close();
        }
      }
      await this.target.write("]}");
    }
    await this.target.write("\n]}\n");
    await this.target.close();
    await this.removeSpills();
  }

  private async removeSpills(): Promise<void> {
    if (this.spillDir === undefined) return;
    for (const t of this.spillTargets) await t?.close().catch(() => undefined);
    await rm(this.spillDir, { recursive: true, force: true });
    this.forgetSpills?.();
    this.spillDir = undefined;
  }

  async abort(): Promise<void> {
    await this.target.discard();
    await this.removeSpills();
  }
}

/** Column names of an output: `name` for one value per sample, else `name[i]`, `name[i][j]`, ... */
function columnNames(name: string, perSample: readonly number[]): string[] {
  const size = perSample.reduce((a, b) => a * b, 1);
  if (size === 1) return [name];
  const names: string[] = [];
  const index = new Array<number>(perSample.length).fill(0);
  for (let k = 0; k < size; k++) {
    names.push(`${name}[${index.join("][")}]`);
    for (let axis = perSample.length - 1; axis >= 0; axis--) {
      if (++index[axis] < perSample[axis]) break;
      index[axis] = 0;
    }
  }
  return names;
}

/** One line per sample: (`row`,) then every output's values, flattened, side by side. */
class CsvWriter implements OutputWriter {
  private readonly buffer: TextBuffer;
  private readonly shapesSeen: Shapes;
  private started = false;

  constructor(
    private readonly target: Target,
    private readonly options: WriterOptions,
  ) {
    this.buffer = new TextBuffer(target);
    this.shapesSeen = new Shapes(options.names.length);
  }

  get shapes(): number[][] {
    return this.options.names.map((_, i) => this.shapesSeen.full(i));
  }

  add(outputs: readonly Tensor[], rows?: ArrayLike<number>): void {
    const perSample = outputs.map((t, i) => this.shapesSeen.take(i, t));
    if (!this.started) {
      this.started = true;
      const header = outputs.flatMap((_, i) => columnNames(this.options.names[i], perSample[i]));
      if (this.options.rowColumn === true) header.unshift("row");
      this.buffer.add(header.map(csvTextCell).join(",") + "\n");
    }
    const count = outputs[0]?.shape[0] ?? 0;
    const sizes = outputs.map((t) => (count === 0 ? 0 : t.data.length / count));
    const withRow = this.options.rowColumn === true && rows !== undefined;
    const lines = new Array<string>(count);
    const fields: string[] = [];
    for (let s = 0; s < count; s++) {
      fields.length = 0;
      if (withRow) fields.push(String(rows[s]));
      for (let i = 0; i < outputs.length; i++) {
        const size = sizes[i];
        const data = outputs[i].data;
        for (let k = 0; k < size; k++) fields.push(csvNumber(data[s * size + k]));
      }
      lines[s] = fields.join(",") + "\n";
    }
    this.buffer.add(lines.join(""));
  }

  async flush(force = false): Promise<void> {
    if (force || this.buffer.full) await this.buffer.flush();
  }

  async finish(): Promise<void> {
    if (!this.started) throw new KeraslessError("E_INPUT", "no outputs were computed");
    await this.buffer.flush();
    await this.target.close();
  }

  async abort(): Promise<void> {
    await this.target.discard();
  }
}

/** The largest first dimension a reserved .npy header has room for. */
const NPY_MAX_ROWS = Number.MAX_SAFE_INTEGER;

/** A .npy file of one output: header reserved at the first batch, rewritten with the final shape. */
class NpyWriter implements OutputWriter {
  private perSample: number[] | undefined;
  private rows = 0;
  private headerLength = 0;
  private dtype: "float32" | "int32" = "float32";
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly target: Target,
    private readonly file: string,
  ) {
    if (target.writeAt === undefined)
      throw new KeraslessError("E_INPUT", "a .npy output needs a file (--output OUT.npy)");
  }

  get shapes(): number[][] {
    return [[this.rows, ...(this.perSample ?? [])]];
  }

  add(outputs: readonly Tensor[]): void {
    const t = outputs[0];
    const rest = t.shape.slice(1);
    if (this.perSample === undefined) {
      this.perSample = rest;
      this.dtype = t.dtype;
      // Room for the largest first dimension; the real header is padded to the same length.
      const reserved = npyHeader([NPY_MAX_ROWS, ...rest], this.dtype);
      this.headerLength = reserved.length;
      this.pending.push(reserved);
      this.pendingBytes += reserved.length;
    } else if (this.perSample.length !== rest.length || this.perSample.some((d, k) => d !== rest[k])) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `the output changed shape between batches: [${this.perSample.join(", ")}] then [${rest.join(", ")}]`,
      );
    }
    this.rows += t.shape[0];
    const bytes = npyData(t.data);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
  }

  async flush(force = false): Promise<void> {
    if (this.pendingBytes === 0 || (!force && this.pendingBytes < FLUSH_AT)) return;
    const all = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const p of this.pending) {
      all.set(p, at);
      at += p.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    await this.target.write(all);
  }

  async finish(): Promise<void> {
    if (this.perSample === undefined)
      throw new KeraslessError("E_INPUT", "no outputs were computed", { file: this.file });
    await this.flush(true);
    await this.target.writeAt?.(npyHeader([this.rows, ...this.perSample], this.dtype, this.headerLength), 0);
    await this.target.close();
  }

  async abort(): Promise<void> {
    await this.target.discard();
  }
}
