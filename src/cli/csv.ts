/**
 * CSV files to the sliding-window input of a sequence model (the seed article's look-back windows).
 * The parser takes text chunk by chunk, so a file of any size can be read in bounded memory; the
 * window builder keeps only the last rows a window needs. No Node built-ins: the browser demo and
 * the examples use this module too.
 */
import { KeraslessError } from "../errors.js";
import { CsvParser, type RecordHandler } from "./csv-parser.js";

export { CsvParser, MAX_RECORD_CHARS, type CsvParserOptions, type RecordHandler } from "./csv-parser.js";

export interface Csv {
  header: string[];
  /** Data rows with their 1-based line numbers in the file. */
  rows: { line: number; fields: string[] }[];
}

export interface CsvFormat {
  /** The field separator (default ","). */
  delimiter?: string;
  /**
   * How many lines at the top of the file are not data (default 1, as numpy.genfromtxt's
   * skip_header): the last of them is the header row naming the columns; 0 means no header.
   */
  skipHeader?: number;
}

/** Parses a whole CSV text: the header (see CsvFormat.skipHeader) and the data rows, all the same width. */
export function parseCsv(text: string, file: string, format: CsvFormat = {}): Csv {
  const rows: Csv["rows"] = [];
  const table = new CsvTable(file, format, (fields, line) => {
    rows.push({ line, fields });
  });
  table.push(text);
  table.end();
  return { header: table.requireHeader(), rows };
}

/**
 * The parser plus the header rules: takes the header row, checks every data row's width against
 * it, and passes data rows on. Without a header (skipHeader 0) the first row sets the width and
 * the columns are named by their 0-based index.
 */
export class CsvTable {
  header: string[] | undefined;
  private readonly parser: CsvParser;
  private readonly file: string;
  private readonly hasHeader: boolean;

  constructor(file: string, format: CsvFormat, onRow: RecordHandler) {
    const skipHeader = format.skipHeader ?? 1;
    this.file = file;
    this.hasHeader = skipHeader > 0;
    this.parser = new CsvParser(
      (fields, line) => {
        const header = this.header;
        if (header === undefined) {
          if (this.hasHeader) {
            // A file without a header would silently lose its first row.
            if (fields.every((h) => parseNumber(h) !== undefined)) {
              throw new KeraslessError(
                "E_FORMAT",
                `line ${line}, the header row, holds only numbers ` +
                  `(${fields.slice(0, 3).join(", ")}${fields.length > 3 ? ", ..." : ""}): for a file without a ` +
                  `header, give --skip-header 0 and name the columns by 0-based index`,
                { file },
              );
            }
            this.header = fields.map((h) => h.trim());
            return;
          }
          this.header = fields.map((_, i) => String(i));
        } else if (fields.length !== header.length) {
          throw new KeraslessError(
            "E_FORMAT",
            `line ${line} has ${fields.length} field${fields.length === 1 ? "" : "s"}, ` +
              `${this.hasHeader ? "the header has" : "the first row has"} ${header.length}`,
            { file },
          );
        }
        onRow(fields, line);
      },
      file,
      { delimiter: format.delimiter, skipLines: Math.max(0, skipHeader - 1) },
    );
  }

  push(text: string): void {
    this.parser.push(text);
  }

  end(): void {
    this.parser.end();
  }

  /** The header after the input has ended; an input without any row is an error. */
  requireHeader(): string[] {
    if (this.header === undefined) {
      throw new KeraslessError(
        "E_FORMAT",
        this.hasHeader ? "the CSV file is empty (expected a header row)" : "the CSV file has no rows",
        { file: this.file },
      );
    }
    return this.header;
  }
}

/** Other separators a one-column header may hide, and the --delimiter name for each. */
const OTHER_DELIMITERS: [string, string][] = [
  [";", "semicolon"],
  ["\t", "tab"],
  ["|", "pipe"],
];

/** For a header read as one column that holds another separator: which --delimiter reads it. */
function delimiterHint(header: readonly string[]): string {
  if (header.length !== 1) return "";
  const found = OTHER_DELIMITERS.find(([c]) => header[0].includes(c));
  return found === undefined
    ? ""
    : `: the header is one column; a file separated by "${found[0] === "\t" ? "\\t" : found[0]}" ` +
        `needs --delimiter ${found[1]}`;
}

/** Column indices for `--features`: header names first, else 0-based indices. */
export function resolveColumns(header: readonly string[], features: readonly string[], file: string): number[] {
  return features.map((f) => {
    const byName = header.indexOf(f);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(f) && Number(f) < header.length) return Number(f);
    throw new KeraslessError(
      "E_INPUT",
      `no column "${f}" (the columns are ${header.join(", ")}; or give 0-based indices)${delimiterHint(header)}`,
      {
        file,
      },
    );
  });
}

/** NumPy's spellings of the non-finite values (a Map: a cell "constructor" must find nothing). */
const SPECIAL = new Map<string, number>([
  ["nan", Number.NaN],
  ["inf", Infinity],
  ["+inf", Infinity],
  ["-inf", -Infinity],
  ["infinity", Infinity],
  ["+infinity", Infinity],
  ["-infinity", -Infinity],
]);

const RADIX_LITERAL = /[box]/i;

/** A CSV number as NumPy reads it (decimal, exponent, nan/inf spellings); undefined if it is not one. */
export function parseNumber(text: string): number | undefined {
  const v = Number(text);
  if (Number.isNaN(v)) return SPECIAL.get(text.trim().toLowerCase());
  // Number() also takes "" and blanks (as 0) and hex/octal/binary literals, which are no CSV numbers.
  if (v === 0 && text.trim() === "") return undefined;
  return RADIX_LITERAL.test(text) ? undefined : v;
}

export interface WindowOptions {
  /** Rows per window (N). */
  lookBack: number;
  /** Rows between the starts of consecutive windows (default 1). */
  stride?: number;
  /** The row a window's prediction is for lies this many rows after its last row (default 0). */
  horizon?: number;
}

/**
 * Builds look-back windows from rows that arrive one at a time. Window k holds rows
 * k*stride .. k*stride+lookBack-1; its target row is its last row + horizon. Complete windows
 * are copied into a batch buffer of `batchSize` windows, handed to `onBatch` when full (and by
 * `flush()` at the end); the buffers are reused, so `onBatch` must consume them before returning.
 */
export class Windower {
  readonly lookBack: number;
  readonly stride: number;
  readonly horizon: number;
  readonly features: number;
  readonly batchSize: number;
  /** The last `lookBack` rows, as a ring. */
  private readonly ring: Float32Array;
  private readonly batch: Float32Array;
  private readonly targets: Float64Array;
  private inBatch = 0;
  /** Rows pushed so far. */
  rows = 0;
  /** Windows completed so far. */
  windows = 0;
  private readonly onBatch: (data: Float32Array, count: number, targetRows: Float64Array) => void;

  constructor(
    features: number,
    options: WindowOptions,
    batchSize: number,
    onBatch: (data: Float32Array, count: number, targetRows: Float64Array) => void,
  ) {
    this.features = features;
    this.lookBack = options.lookBack;
    this.stride = options.stride ?? 1;
    this.horizon = options.horizon ?? 0;
    this.batchSize = batchSize;
    this.ring = new Float32Array(this.lookBack * features);
    this.batch = new Float32Array(batchSize * this.lookBack * features);
    this.targets = new Float64Array(batchSize);
    this.onBatch = onBatch;
  }

  /** The values of the next row (`features` of them, already scaled). */
  push(values: ArrayLike<number>): void {
    const f = this.features;
    const n = this.lookBack;
    const slot = this.rows % n;
    for (let k = 0; k < f; k++) this.ring[slot * f + k] = values[k];
    const row = this.rows++;
    const first = row - n + 1;
    if (first < 0 || first % this.stride !== 0) return;
    // Copy the ring out in time order: the oldest row is the one after `slot`.
    const out = this.inBatch * n * f;
    const oldest = (slot + 1) % n;
    const tail = (n - oldest) * f;
    this.batch.set(this.ring.subarray(oldest * f), out);
    if (oldest > 0) this.batch.set(this.ring.subarray(0, oldest * f), out + tail);
    this.targets[this.inBatch] = row + this.horizon;
    this.windows++;
    if (++this.inBatch === this.batchSize) this.flush();
  }

  /** Hands over the windows collected since the last batch, if any. */
  flush(): void {
    if (this.inBatch === 0) return;
    const count = this.inBatch;
    this.inBatch = 0;
    this.onBatch(this.batch, count, this.targets);
  }
}

export interface Windows {
  shape: [number, number, number];
  data: Float32Array;
  /** The 0-based data row each window's prediction is for (its last row + horizon). */
  targetRows: number[];
}

/**
 * The look-back windows of a parsed CSV: window i holds rows i*stride .. i*stride+lookBack-1 of
 * the chosen columns, giving shape [windows, lookBack, features]. With the defaults (stride 1)
 * that is the seed article's rows-lookBack+1 windows.
 */
export function csvWindows(
  csv: Csv,
  features: readonly string[],
  lookBack: number | WindowOptions,
  file: string,
): Windows {
  const options = typeof lookBack === "number" ? { lookBack } : lookBack;
  const columns = resolveColumns(csv.header, features, file);
  const rows = csv.rows.length;
  if (rows < options.lookBack) {
    throw new KeraslessError(
      "E_INPUT",
      `the file has ${rows} data row${rows === 1 ? "" : "s"}, fewer than --look-back ${options.lookBack}`,
      { file },
    );
  }
  const stride = options.stride ?? 1;
  const count = Math.floor((rows - options.lookBack) / stride) + 1;
  const f = columns.length;
  const data = new Float32Array(count * options.lookBack * f);
  const targetRows: number[] = [];
  let at = 0;
  const windower = new Windower(f, options, Math.max(1, count), (batch, n, targets) => {
    data.set(batch.subarray(0, n * options.lookBack * f), at);
    at += n * options.lookBack * f;
    for (let i = 0; i < n; i++) targetRows.push(targets[i]);
  });
  const values = new Float64Array(f);
  const reader = new RowReader(csv.header, columns, file);
  for (const row of csv.rows) {
    reader.read(row.fields, row.line, values);
    windower.push(values);
  }
  windower.flush();
  return { shape: [count, options.lookBack, f], data, targetRows };
}

/** Picks and parses the chosen columns of a row, with errors naming the line and column. */
export class RowReader {
  private readonly header: readonly string[];
  private readonly columns: readonly number[];
  private readonly file: string;

  constructor(header: readonly string[], columns: readonly number[], file: string) {
    this.header = header;
    this.columns = columns;
    this.file = file;
  }

  read(fields: readonly string[], line: number, into: Float64Array): void {
    const columns = this.columns;
    for (let k = 0; k < columns.length; k++) {
      const text = fields[columns[k]];
      const v = parseNumber(text);
      if (v === undefined) {
        throw new KeraslessError(
          "E_INPUT_VALUE",
          `line ${line}, column "${this.header[columns[k]]}": ${JSON.stringify(text)} is not a number`,
          { file: this.file },
        );
      }
      into[k] = v;
    }
  }
}
