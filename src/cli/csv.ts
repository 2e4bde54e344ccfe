/** CSV files to the sliding-window input of a sequence model (the seed article's look-back windows). */
import { KeraslessError } from "../errors.js";

export interface Csv {
  header: string[];
  /** Data rows with their 1-based line numbers in the file. */
  rows: { line: number; fields: string[] }[];
}

/** Parses comma-separated text with a header row (RFC 4180 quoting; blank lines are skipped). */
export function parseCsv(text: string, file: string): Csv {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let fieldStarted = false;
  const endField = (): void => {
    fields.push(field);
    field = "";
    fieldStarted = false;
  };
  const endRecord = (): void => {
    endField();
    if (!(fields.length === 1 && fields[0].trim() === "")) records.push({ line: recordLine, fields });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === ",") {
      endField();
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
      if (c !== " " && c !== "\t") fieldStarted = true;
    }
  }
  if (quoted) throw new KeraslessError("E_FORMAT", `line ${recordLine}: a quoted field is not closed`, { file });
  if (field !== "" || fields.length > 0) endRecord();
  if (records.length === 0) throw new KeraslessError("E_FORMAT", "the CSV file is empty (expected a header row)", { file });
  const [head, ...rows] = records;
  const header = head.fields.map((h) => h.trim());
  for (const row of rows) {
    if (row.fields.length !== header.length) {
      throw new KeraslessError("E_FORMAT", `line ${row.line} has ${row.fields.length} fields, the header has ${header.length}`, { file });
    }
  }
  return { header, rows };
}

/** Column indices for `--features`: header names first, else 0-based indices. */
export function resolveColumns(header: readonly string[], features: readonly string[], file: string): number[] {
  return features.map((f) => {
    const byName = header.indexOf(f);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(f) && Number(f) < header.length) return Number(f);
    throw new KeraslessError("E_INPUT", `no column "${f}" (the columns are ${header.join(", ")}; or give 0-based indices)`, { file });
  });
}

const SPECIAL: Record<string, number> = { nan: Number.NaN, inf: Infinity, "+inf": Infinity, "-inf": -Infinity, infinity: Infinity, "+infinity": Infinity, "-infinity": -Infinity };

function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const special = SPECIAL[t.toLowerCase()];
  if (special !== undefined) return special;
  const v = Number(t);
  return Number.isNaN(v) || /^0[xob]/i.test(t) ? undefined : v;
}

export interface Windows {
  shape: [number, number, number];
  data: Float32Array;
}

/**
 * The look-back windows: window i holds rows i .. i+lookBack-1 of the chosen columns, for
 * i = 0 .. rows-lookBack, so the result has shape [rows-lookBack+1, lookBack, features].
 */
export function csvWindows(csv: Csv, features: readonly string[], lookBack: number, file: string): Windows {
  const columns = resolveColumns(csv.header, features, file);
  const rows = csv.rows.length;
  if (rows < lookBack) {
    throw new KeraslessError("E_INPUT", `the file has ${rows} data row${rows === 1 ? "" : "s"}, fewer than --look-back ${lookBack}`, { file });
  }
  const f = columns.length;
  const values = new Float32Array(rows * f);
  csv.rows.forEach((row, r) => {
    columns.forEach((c, k) => {
      const v = parseNumber(row.fields[c]);
      if (v === undefined) {
        throw new KeraslessError("E_INPUT_VALUE", `line ${row.line}, column "${csv.header[c]}": ${JSON.stringify(row.fields[c])} is not a number`, { file });
      }
      values[r * f + k] = v;
    });
  });
  const windows = rows - lookBack + 1;
  const data = new Float32Array(windows * lookBack * f);
  for (let i = 0; i < windows; i++) data.set(values.subarray(i * f, (i + lookBack) * f), i * lookBack * f);
  return { shape: [windows, lookBack, f], data };
}
