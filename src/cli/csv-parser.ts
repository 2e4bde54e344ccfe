/**
 * The incremental RFC 4180 parser behind src/cli/csv.ts: text goes in chunk by chunk, records
 * come out at once, rows are bounded in size. No Node built-ins (the browser demo uses it too).
 */
import { KeraslessError } from "../errors.js";

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

const enum State {
  /** Skipping the lines before the header. */
  Skip,
  /** At the start of a field, or after nothing but spaces and tabs (a quote may still open it). */
  FieldStart,
  Unquoted,
  Quoted,
  /** Just after a quote inside a quoted field: `""` is a literal quote, anything else closes it. */
  QuoteSeen,
}

/**
 * The longest record (row) read, in characters: 4 Mi. Rows are read whole, so this bounds the
 * memory a file without line breaks can take (a 120 MB row would otherwise hold gigabytes of
 * field strings, and a field past the engine's string limit cannot be built at all).
 */
export const MAX_RECORD_CHARS = 1 << 22;

export interface CsvParserOptions {
  /** The field separator, one character (default ","). */
  delimiter?: string;
  /** Physical lines (ended by LF, CR or CRLF) to drop before the first record. */
  skipLines?: number;
}

/** One record with the 1-based line number of the file where it starts. */
export type RecordHandler = (fields: string[], line: number) => void;

/**
 * An incremental RFC 4180 parser: `push()` text as it arrives, `end()` at the end of the input;
 * each complete record goes to `onRecord` at once. Blank lines are skipped. Text after a closing
 * quote is kept (`"a"b` is `ab`), and so are spaces before an opening quote.
 */
export class CsvParser {
  private readonly delimiter: number;
  private readonly onRecord: RecordHandler;
  private readonly file: string;
  private state: State;
  private linesToSkip: number;
  private fields: string[] = [];
  /** The current field's text from earlier chunks (and quoted parts). */
  private field = "";
  /** A CR ended the last record: an LF right after it belongs to the same line end. */
  private pendingLf = false;
  private line = 1;
  private recordLine = 1;
  /** Characters of the current record in `fields` (the open field's are in `field`). */
  private recordChars = 0;

  constructor(onRecord: RecordHandler, file: string, options: CsvParserOptions = {}) {
    const delimiter = options.delimiter ?? ",";
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
      throw new KeraslessError(
        "E_INPUT",
        `the CSV delimiter must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}`,
      );
    }
    this.delimiter = delimiter.charCodeAt(0);
    this.onRecord = onRecord;
    this.file = file;
    this.linesToSkip = options.skipLines ?? 0;
    this.state = this.linesToSkip > 0 ? State.Skip : State.FieldStart;
  }

  /**
   * A line ended with c (CR or LF), read just before i: skips the LF of a CR LF (or, at the end of
   * the chunk, remembers to) and counts the line. Returns where the next line starts.
   */
  private lineEnd(text: string, i: number, c: number): number {
    if (c === CR) {
      if (i < text.length) {
        if (text.charCodeAt(i) === LF) i++;
      } else {
        this.pendingLf = true;
      }
    }
    this.line++;
    this.recordLine = this.line;
    return i;
  }

  /** The 1-based number of the line being read. */
  get currentLine(): number {
    return this.line;
  }

  push(text: string): void {
    const n = text.length;
    const delimiter = this.delimiter;
    let i = 0;
    // Start of the part of the current field that lies in this chunk and is not yet in `field`.
    let start = 0;
    if (this.pendingLf && n > 0) {
      this.pendingLf = false;
      if (text.charCodeAt(0) === LF) i = start = 1;
    }
    while (i < n) {
      const state = this.state;
      if (state === State.Skip) {
        const c = text.charCodeAt(i++);
        if (c !== LF && c !== CR) continue;
        i = this.lineEnd(text, i, c);
        start = i;
        if (--this.linesToSkip === 0) this.state = State.FieldStart;
        continue;
      }
      if (state === State.Quoted) {
        const q = text.indexOf('"', i);
        const end = q < 0 ? n : q;
        for (let k = text.indexOf("\n", i); k >= 0 && k < end; k = text.indexOf("\n", k + 1)) this.line++;
        this.checkSize(end - i);
        this.field += text.slice(i, end);
        if (q < 0) return;
        i = q + 1;
        this.state = State.QuoteSeen;
        continue;
      }
      const c = text.charCodeAt(i);
      if (state === State.QuoteSeen) {
        if (c === QUOTE) {
          this.field += '"';
          i++;
          this.state = State.Quoted;
          continue;
        }
        this.state = State.Unquoted;
        start = i;
      }
      if (c === delimiter) {
        this.checkSize(i - start);
        this.recordChars += this.field.length + i - start;
        this.fields.push(this.field + text.slice(start, i));
        this.field = "";
        this.state = State.FieldStart;
        start = ++i;
      } else if (c === LF || c === CR) {
        this.checkSize(i - start);
        this.fields.push(this.field + text.slice(start, i));
        this.field = "";
        this.endRecord();
        i = this.lineEnd(text, i + 1, c);
        this.state = State.FieldStart;
        start = i;
      } else if (c === QUOTE && this.state === State.FieldStart) {
        this.field += text.slice(start, i);
        this.state = State.Quoted;
        i++;
      } else {
        if (c !== SPACE && c !== TAB) this.state = State.Unquoted;
        i++;
      }
    }
    if (this.state !== State.Skip && this.state !== State.Quoted && this.state !== State.QuoteSeen) {
      this.checkSize(n - start);
      this.field += text.slice(start, n);
    }
  }

  /** Refuses a record that would grow past MAX_RECORD_CHARS with `more` characters. */
  private checkSize(more: number): void {
    if (this.recordChars + this.field.length + more <= MAX_RECORD_CHARS) return;
    throw new KeraslessError(
      "E_LIMIT",
      `line ${this.recordLine}: a row longer than ${MAX_RECORD_CHARS} characters (a CSV row holds one time step's ` +
        `values; is the file a CSV with line breaks?)`,
      { file: this.file },
    );
  }

  /** Ends the input: the last record may lack its line break; an open quote is an error. */
  end(): void {
    if (this.state === State.Quoted) {
      throw new KeraslessError("E_FORMAT", `line ${this.recordLine}: a quoted field is not closed`, {
        file: this.file,
      });
    }
    if (this.state !== State.Skip && (this.field !== "" || this.fields.length > 0 || this.state === State.QuoteSeen)) {
      this.fields.push(this.field);
      this.field = "";
      this.endRecord();
    }
  }

  private endRecord(): void {
    const fields = this.fields;
    this.fields = [];
    this.recordChars = 0;
    if (fields.length === 1 && fields[0].trim() === "") return;
    this.onRecord(fields, this.recordLine);
  }
}
