import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { csvWindows, parseCsv } from "../../src/cli/csv.js";
import { KeraslessError } from "../../src/errors.js";
import { seed, seedIo } from "./helpers.js";

const isCode = (code: string) => (e: unknown) => e instanceof KeraslessError && e.code === code && e.file === "t.csv";

describe("CSV look-back windows", () => {
  test("LSTM_sample.csv with look-back 4 gives exactly the seed's 7 windows", () => {
    const csv = parseCsv(readFileSync(seed("LSTM_sample.csv"), "utf8"), "LSTM_sample.csv");
    assert.deepEqual(csv.header, ["X1", "X2", "X3", "Y"]);
    const windows = csvWindows(csv, ["X1", "X2", "X3"], 4, "LSTM_sample.csv");
    const reference = seedIo().inputs[0];
    assert.deepEqual(windows.shape, reference.shape);
    assert.deepEqual(Array.from(windows.data), reference.data);
  });

  test("window i is rows i .. i+N-1 of the chosen columns, in the order given", () => {
    const csv = parseCsv("a,b,c\n1,10,100\n2,20,200\n3,30,300\n", "t.csv");
    const w = csvWindows(csv, ["c", "0"], 2, "t.csv");
    assert.deepEqual(w.shape, [2, 2, 2]);
    assert.deepEqual(Array.from(w.data), [100, 1, 200, 2, 200, 2, 300, 3]);
    assert.deepEqual(csvWindows(csv, ["b"], 3, "t.csv").shape, [1, 3, 1]);
  });

  test("quotes, CRLF, a BOM-free header with spaces, blank lines and text columns", () => {
    const csv = parseCsv('date, "x, y" ,z\r\n"2024-01-01","1.5",nan\r\n\r\n2024-01-02,-2e-3,inf\r\n', "t.csv");
    assert.deepEqual(csv.header, ["date", "x, y", "z"]);
    assert.equal(csv.rows.length, 2);
    const w = csvWindows(csv, ["x, y", "z"], 1, "t.csv");
    assert.deepEqual(Array.from(w.data), [1.5, Number.NaN, Math.fround(-2e-3), Infinity]);
    assert.equal(csv.rows[1].line, 4);
  });

  test("refuses ragged rows, non-numbers, unknown columns and too few rows", () => {
    assert.throws(() => parseCsv("a,b\n1,2\n3\n", "t.csv"), isCode("E_FORMAT"));
    assert.throws(() => parseCsv('a,b\n"1,2\n', "t.csv"), isCode("E_FORMAT"));
    assert.throws(() => parseCsv("\n\n", "t.csv"), isCode("E_FORMAT"));
    const csv = parseCsv("a,b\n1,x\n2,\n", "t.csv");
    assert.throws(() => csvWindows(csv, ["b"], 1, "t.csv"), (e: unknown) => isCode("E_INPUT_VALUE")(e) && /line 2, column "b": "x" is not a number/.test((e as Error).message));
    assert.throws(() => csvWindows(parseCsv("a,b\n1,2\n", "t.csv"), ["c"], 1, "t.csv"), isCode("E_INPUT"));
    assert.throws(() => csvWindows(parseCsv("a,b\n1,2\n", "t.csv"), ["2"], 1, "t.csv"), isCode("E_INPUT"));
    assert.throws(() => csvWindows(parseCsv("a,b\n1,2\n", "t.csv"), ["a"], 2, "t.csv"), isCode("E_INPUT"));
  });
});
