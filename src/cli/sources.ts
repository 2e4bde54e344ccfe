/**
 * Model inputs read in batches as the files are read: CSV windows from a file or stdin, .npy
 * files a block of samples at a time, JSON tensors (parsed whole) sliced into the same batches.
 * Memory stays bounded by the batch size, whatever the size of the input.
 */
import { open, type FileHandle } from "node:fs/promises";
import { KeraslessError, describeThrown } from "../errors.js";
import { decodeNpyData, isNpy, npyArray, npyDataStart, parseNpyHeader, type NpyHeader } from "../io/npy.js";
import { checkInputShape, type TensorInfo } from "../inputs.js";
import type { Model } from "../node.js";
import { formatShape, sizeOf } from "../tensor.js";
import type { CsvWindowArgs } from "./args.js";
import { CsvTable, RowReader, Windower, resolveColumns } from "./csv.js";
import { readTensors, type FileTensor } from "./files.js";
import { mapCsvColumns, mapTensorColumns, resolveInverseColumns, type Scaler, type ScalerMapping } from "./scaler.js";

/** One model input of a batch. */
export interface BatchTensor {
  shape: number[];
  data: Float32Array | Int32Array;
  /** The file it comes from (for messages). */
  file: string;
}

export type BatchHandler = (inputs: BatchTensor[], count: number, rows: ArrayLike<number> | undefined) => void;

export interface Source {
  /** Samples in all, when known before reading (not for CSV). */
  readonly total: number | undefined;
  /** Bytes to read in all, when known (for the progress bar). */
  readonly totalBytes: number | undefined;
  /** Whether batches come with the data row each sample's prediction is for (CSV windows). */
  readonly rowLabels: boolean;
  /**
   * Reads everything: `onBatch` runs for each batch (synchronously, its buffers are reused), and
   * `afterChunk` is awaited after each chunk of input with the bytes read so far.
   */
  run(onBatch: BatchHandler, afterChunk: (bytesRead: number) => Promise<void>): Promise<void>;
  /** The scaler columns --inverse-scale names (known once the CSV header has been read). */
  inverseColumns(): number[];
}

/** The values a batch holds at most: the batch size adapts to the size of one sample. */
const BATCH_VALUES = 1 << 18;
/** At most this many samples per batch, so that layer activations stay small too. */
const MAX_BATCH = 1024;

export function batchSize(valuesPerSample: number): number {
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(BATCH_VALUES / Math.max(1, valuesPerSample))));
}

/** Whether `shape` fits the model's shape (null = any size). */
export function fits(shape: readonly number[], expected: readonly (number | null)[]): boolean {
  return shape.length === expected.length && shape.every((d, i) => expected[i] === null || expected[i] === d);
}

/**
 * Checks the tensors of the --input files against the model's inputs, in order: one tensor per
 * input, each of a valid shape (checkInputShape) that fits the input's.
 */
export function checkInputFiles(
  inputs: readonly TensorInfo[],
  tensors: readonly { readonly shape: number[]; readonly file: string; readonly where?: string }[],
): void {
  if (tensors.length !== inputs.length) {
    const names = inputs.map((i) => i.name).join(", ");
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${inputs.length} input${inputs.length === 1 ? "" : "s"} (${names}), the --input ` +
        `files hold ${tensors.length} tensor${tensors.length === 1 ? "" : "s"}`,
    );
  }
  tensors.forEach((t, i) => {
    const info = inputs[i];
    const where = t.where === undefined ? "" : `${t.where}: `;
    try {
      checkInputShape(t.shape, `${where}input "${info.name}"`);
    } catch (e) {
      throw e instanceof KeraslessError ? e.inFile(t.file) : e;
    }
    if (!fits(t.shape, info.shape)) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `${where}the model's input "${info.name}" has shape ${formatShape(info.shape)}, this tensor has ` +
          formatShape(t.shape),
        { file: t.file },
      );
    }
  });
}

async function openFile(file: string): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (e) {
    throw new KeraslessError("E_IO", `cannot read the file (${describeThrown(e)})`, { file, cause: e });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeraslessError("E_IO", "cannot read the file (not a regular file)", { file });
    return { handle, size: stat.size };
  } catch (e) {
    await handle.close();
    throw e instanceof KeraslessError
      ? e
      : new KeraslessError("E_IO", `cannot read the file (${describeThrown(e)})`, { file, cause: e });
  }
}

async function readAt(handle: FileHandle, file: string, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  try {
    while (done < into.length) {
      const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
  } catch (e) {
    throw new KeraslessError("E_IO", `cannot read the file (${describeThrown(e)})`, { file, cause: e });
  }
  if (done < into.length) throw new KeraslessError("E_IO", "the file became shorter while it was read", { file });
}

/** One input tensor: a .npy file read a block of samples at a time, or a tensor held in memory. */
interface InputColumn {
  readonly file: string;
  readonly where?: string;
  readonly shape: number[];
  readonly dtype: "float32" | "int32";
  readonly bytes: number;
  /** Samples [start, start+count) into a buffer reused between calls. */
  read(start: number, count: number): Promise<Float32Array | Int32Array>;
  close(): Promise<void>;
}

class NpyColumn implements InputColumn {
  readonly shape: number[];
  readonly dtype: "float32" | "int32";
  readonly bytes: number;
  private readonly perSample: number;
  private raw: Uint8Array = new Uint8Array(0);
  private values: Float32Array | Int32Array;

  constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    private readonly header: NpyHeader,
  ) {
    this.shape = header.shape;
    this.dtype = header.dtype;
    this.bytes = header.dataStart + header.count * header.itemSize;
    this.perSample = header.shape.slice(1).reduce((a, b) => a * b, 1);
    this.values = npyArray(header, 0);
  }

  async read(start: number, count: number): Promise<Float32Array | Int32Array> {
    const n = count * this.perSample;
    const size = n * this.header.itemSize;
    if (this.raw.length < size) this.raw = new Uint8Array(size);
    if (this.values.length < n) this.values = npyArray(this.header, n);
    const raw = this.raw.subarray(0, size);
    await readAt(this.handle, this.file, raw, this.header.dataStart + start * this.perSample * this.header.itemSize);
    const values = this.values.subarray(0, n);
    decodeNpyData(this.header, raw, values, this.file, start * this.perSample);
    return values;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

class MemoryColumn implements InputColumn {
  readonly file: string;
  readonly where?: string;
  readonly shape: number[];
  readonly dtype: "float32" | "int32";
  readonly bytes = 0;
  private readonly perSample: number;
  private readonly data: Float32Array | Int32Array;

  constructor(t: FileTensor) {
    this.file = t.file;
    this.where = t.where;
    this.shape = t.shape;
    this.dtype = t.dtype;
    this.data = t.data;
    this.perSample = t.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  async read(start: number, count: number): Promise<Float32Array | Int32Array> {
    return this.data.subarray(start * this.perSample, (start + count) * this.perSample);
  }

  async close(): Promise<void> {}
}

async function openColumns(file: string, max: number): Promise<InputColumn[]> {
  const { handle, size } = await openFile(file);
  let keep = false;
  try {
    const head = new Uint8Array(Math.min(size, 12));
    await readAt(handle, file, head, 0);
    if (!isNpy(head)) return (await readTensors(file, "inputs", max)).map((t) => new MemoryColumn(t));
    const headerBytes = new Uint8Array(npyDataStart(head, file, size));
    await readAt(handle, file, headerBytes, 0);
    const header = parseNpyHeader(headerBytes, file, size);
    if (header.shape.length === 0)
      throw new KeraslessError("E_INPUT_SHAPE", "the array is a scalar; a model input has a batch axis first", {
        file,
      });
    keep = true;
    return [new NpyColumn(file, handle, header)];
  } finally {
    if (!keep) await handle.close();
  }
}

/** Applies the scaler to the last axis of float values, in place (double precision, rounded once). */
function scaleLastAxis(scaler: Scaler, mapping: ScalerMapping, data: Float32Array): void {
  const f = mapping.featureColumns.length;
  const columns = mapping.featureColumns;
  for (let i = 0; i < data.length; i++) data[i] = scaler.transform(columns[i % f], data[i]);
}

/** The --input files as a batch source, matched to the model's inputs in order. */
export async function tensorSource(
  model: Model,
  files: readonly string[],
  scaler: Scaler | undefined,
  inverseScale: readonly string[],
): Promise<Source> {
  const columns: InputColumn[] = [];
  try {
    for (const file of files) for (const column of await openColumns(file, model.inputs.length)) columns.push(column);
    checkInputFiles(model.inputs, columns);
    const total = columns[0].shape[0];
    columns.forEach((c, i) => {
      if (c.shape[0] !== total) {
        throw new KeraslessError(
          "E_INPUT_SHAPE",
          `input "${model.inputs[i].name}" has batch size ${c.shape[0]}, input "${model.inputs[0].name}" has ` +
            `${total} (${columns[0].file})`,
          { file: c.file },
        );
      }
    });
    let mapping: ScalerMapping | undefined;
    let inverse: number[] = [];
    if (scaler !== undefined) {
      if (columns.length !== 1) {
        const names = model.inputs.map((i) => i.name).join(", ");
        throw new KeraslessError(
          "E_INPUT",
          `--scaler scales a single input, the model has ${columns.length} (${names})`,
        );
      }
      const c = columns[0];
      if (c.dtype !== "float32")
        throw new KeraslessError("E_INPUT", "--scaler needs float input values, this tensor is int32", {
          file: c.file,
        });
      mapping = mapTensorColumns(scaler, c.shape[c.shape.length - 1], c.file);
      inverse = resolveInverseColumns(scaler, mapping, inverseScale);
    }
    let perSample = 0;
    for (const c of columns) perSample = Math.max(perSample, sizeOf(c.shape.slice(1)));
    // A model with a fixed batch size (e.g. stateful) gets its whole input in one call, and so
    // does an input without values (checkInputShape bounds its extent): there is nothing to batch.
    const whole = perSample === 0 || model.inputs.some((i) => i.shape[0] !== null);
    const size = whole ? Math.max(1, total) : batchSize(perSample);
    const bytesTotal = columns.reduce((sum, c) => sum + c.bytes, 0);
    return {
      total,
      totalBytes: bytesTotal > 0 ? bytesTotal : undefined,
      rowLabels: false,
      inverseColumns: () => inverse,
      async run(onBatch, afterChunk) {
        try {
          let bytesRead = 0;
          // A batch of zero samples still runs once, so that the outputs get their shapes.
          for (let start = 0; start < total || (total === 0 && start === 0); start += size) {
            const count = Math.min(size, total - start);
            const batch: BatchTensor[] = [];
            for (const c of columns) {
              let data = await c.read(start, count);
              if (mapping !== undefined && scaler !== undefined) {
                data = Float32Array.from(data);
                scaleLastAxis(scaler, mapping, data);
              }
              batch.push({ shape: [count, ...c.shape.slice(1)], data, file: c.file });
              bytesRead += c.bytes === 0 ? 0 : (c.bytes * count) / Math.max(1, total);
            }
            onBatch(batch, count, undefined);
            await afterChunk(bytesRead);
            if (total === 0) break;
          }
        } finally {
          for (const c of columns) await c.close();
        }
      },
    };
  } catch (e) {
    for (const c of columns) await c.close();
    throw e;
  }
}

/** Chunks of bytes from a file or from standard input ("-"). */
export interface ByteSource {
  chunks: AsyncIterable<Uint8Array | string>;
  size: number | undefined;
  close(): Promise<void>;
}

const READ_CHUNK = 1 << 16;

export async function openBytes(file: string, stdin: AsyncIterable<Uint8Array | string>): Promise<ByteSource> {
  if (file === "-") return { chunks: stdin, size: undefined, close: async () => {} };
  const { handle, size } = await openFile(file);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const buffer = new Uint8Array(READ_CHUNK);
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, buffer.length, null));
      } catch (e) {
        throw new KeraslessError("E_IO", `cannot read the file (${describeThrown(e)})`, { file, cause: e });
      }
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  }
  return { chunks: chunks(), size, close: () => handle.close() };
}

/** The name a CSV source goes by in messages. */
export const csvName = (file: string): string => (file === "-" ? "<stdin>" : file);

/**
 * Reads CSV text chunk by chunk and hands each parsed row's chosen values (scaled when a scaler
 * is given) to `onRow`. Returns the rows read. Shared by predict (windows) and stream (one step
 * per row).
 */
export async function readCsvRows(
  bytes: ByteSource,
  csv: { file: string; features: string[]; skipHeader: number; delimiter: string },
  scaler: Scaler | undefined,
  inverseScale: readonly string[],
  onHeader: (inverse: number[]) => void,
  onRow: (values: Float64Array, row: number) => void,
  afterChunk: (bytesRead: number) => Promise<void>,
): Promise<{ rows: number; header: string[] }> {
  const file = csvName(csv.file);
  const values = new Float64Array(csv.features.length);
  let reader: RowReader | undefined;
  let mapping: ScalerMapping | undefined;
  let rows = 0;
  const start = (header: string[]): RowReader => {
    const columns = resolveColumns(header, csv.features, file);
    if (scaler !== undefined) {
      mapping = mapCsvColumns(scaler, header, columns, file);
      onHeader(resolveInverseColumns(scaler, mapping, inverseScale));
    } else {
      onHeader([]);
    }
    return new RowReader(header, columns, file);
  };
  const table = new CsvTable(file, { delimiter: csv.delimiter, skipHeader: csv.skipHeader }, (fields, line) => {
    reader ??= start(table.header as string[]);
    reader.read(fields, line, values);
    if (mapping !== undefined && scaler !== undefined) {
      const map = mapping.featureColumns;
      for (let k = 0; k < values.length; k++) values[k] = scaler.transform(map[k], values[k]);
    }
    onRow(values, rows++);
  });
  const decoder = new TextDecoder("utf-8");
  let bytesRead = 0;
  try {
    for await (const chunk of bytes.chunks) {
      if (typeof chunk === "string") {
        table.push(chunk);
        bytesRead += chunk.length;
      } else {
        table.push(decoder.decode(chunk, { stream: true }));
        bytesRead += chunk.length;
      }
      await afterChunk(bytesRead);
    }
    table.push(decoder.decode());
    table.end();
  } finally {
    await bytes.close();
  }
  const header = table.requireHeader();
  reader ??= start(header);
  return { rows, header };
}

/** Sliding windows of a CSV file (or stdin) as a batch source. */
export async function csvSource(
  model: Model,
  csv: CsvWindowArgs,
  scaler: Scaler | undefined,
  inverseScale: readonly string[],
  stdin: AsyncIterable<Uint8Array | string>,
): Promise<Source> {
  const file = csvName(csv.file);
  if (model.inputs.length !== 1) {
    throw new KeraslessError(
      "E_INPUT",
      `--csv feeds a single input, the model has ${model.inputs.length} ` +
        `(${model.inputs.map((i) => i.name).join(", ")}): use --input files`,
    );
  }
  const info = model.inputs[0];
  const f = csv.features.length;
  if (!fits([info.shape[0] ?? 1, csv.lookBack, f], info.shape) || info.dtype !== "float32") {
    throw new KeraslessError(
      "E_INPUT_SHAPE",
      `the windows have shape [None, ${csv.lookBack}, ${f}] (look-back ${csv.lookBack}, ` +
        `${f} feature${f === 1 ? "" : "s"}), the model's input "${info.name}" has shape ${formatShape(info.shape)}` +
        (info.dtype === "float32" ? "" : ` and dtype ${info.dtype}`),
      { file },
    );
  }
  const bytes = await openBytes(csv.file, stdin);
  let inverse: number[] = [];
  return {
    total: undefined,
    totalBytes: bytes.size,
    rowLabels: true,
    inverseColumns: () => inverse,
    async run(onBatch, afterChunk) {
      // A model with a fixed batch size (e.g. stateful) is fed batches of exactly that size, as
      // Keras' predict(batch_size=...) would feed it; states then carry from batch to batch.
      const size = info.shape[0] ?? batchSize(csv.lookBack * f);
      const windower = new Windower(f, csv, size, (data, count, targets) => {
        onBatch(
          [{ shape: [count, csv.lookBack, f], data: data.subarray(0, count * csv.lookBack * f), file }],
          count,
          targets,
        );
      });
      const { rows } = await readCsvRows(
        bytes,
        csv,
        scaler,
        inverseScale,
        (columns) => {
          inverse = columns;
        },
        (values) => windower.push(values),
        afterChunk,
      );
      windower.flush();
      if (windower.windows === 0) {
        throw new KeraslessError(
          "E_INPUT",
          `the file has ${rows} data row${rows === 1 ? "" : "s"}, fewer than --look-back ${csv.lookBack}`,
          { file },
        );
      }
    },
  };
}
