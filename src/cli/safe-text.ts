/**
 * Text that comes from a file (layer, input and output names, a model's name) reaches a terminal
 * and CSV files. On a terminal, control characters are escape sequences (colours, cursor moves,
 * window titles, links), line and paragraph separators break lines, and bidirectional overrides
 * reorder what is shown; all are written as `\u001b`-style escapes. In a CSV file, a cell that
 * starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by spreadsheets;
 * such a cell gets a leading `'` and quotes (OWASP's rule for CSV injection).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, without the C0 controls JSON.stringify escapes itself. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: ReadonlyMap<string, string> = new Map([
  ["\n", "\\n"],
  ["\r", "\\r"],
  ["\t", "\\t"],
]);

const escape = (c: string): string => NAMED.get(c) ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** One line of text safe to print: every control character escaped, line breaks included. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** JSON text (from JSON.stringify) with the characters it leaves raw escaped too; still valid JSON. */
export function printableJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** A text cell for a CSV file: printable, quoted when needed, never a formula. */
export function csvTextCell(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${printable(text)}` : printable(text);
  return safe !== text || /[",]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The same names with every name printable (for tables built from a model's names). */
export function printableNames<T extends { name: string }>(list: readonly T[]): T[] {
  return list.map((item) => ({ ...item, name: printable(item.name) }));
}
