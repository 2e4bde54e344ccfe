import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { CsvParser, Windower, csvWindows, parseCsv, parseNumber, type CsvParserOptions } from "../../src/cli/csv.js";
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
    assert.throws(
      () => csvWindows(csv, ["b"], 1, "t.csv"),
      (e: unknown) =>
        isCode("E_INPUT_VALUE")(e) && /line 2, column "b": "x" is not a number/.test((e as Error).message),
    );
    assert.throws(() => csvWindows(parseCsv("a,b\n1,2\n", "t.csv"), ["c"], 1, "t.csv"), isCode("E_INPUT"));
    assert.throws(() => csvWindows(parseCsv("a,b\n1,2\n", "t.csv"), ["2"], 1, "t.csv"), isCode("E_INPUT"));
    assert.throws(() => csvWindows(parseCsv("a,b\n1,2\n", "t.csv"), ["a"], 2, "t.csv"), isCode("E_INPUT"));
  });
});

describe("CsvParser: incremental parsing", () => {
  const records = (text: string, chunks: string[], options: CsvParserOptions = {}): [string[], number][] => {
    const out: [string[], number][] = [];
    const parser = new CsvParser((fields, line) => out.push([fields, line]), "t.csv", options);
    for (const c of chunks) parser.push(c);
    parser.end();
    assert.equal(chunks.join(""), text);
    return out;
  };
  const text = 'a,"b ""q"",\nc",d\r\n\r\n 1 , "2"x ,3\r4,,"",\n"5\r\n6",7\n';

  test("gives the same records and line numbers wherever the text is split", () => {
    const whole = records(text, [text]);
    assert.deepEqual(whole, [
      [["a", 'b "q",\nc', "d"], 1],
      [[" 1 ", " 2x ", "3"], 4],
      [["4", "", "", ""], 5],
      [["5\r\n6", "7"], 6],
    ]);
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 3) {
        assert.deepEqual(
          records(text, [text.slice(0, i), text.slice(i, j), text.slice(j)]),
          whole,
          `split at ${i}, ${j}`,
        );
      }
    }
    // One character at a time.
    assert.deepEqual(records(text, [...text]), whole);
  });

  test("skipLines drops physical lines (quotes in them do not matter), CR/LF/CRLF alike", () => {
    const src = '# "comment\r\n# units\rx,y\n1,2';
    const expected: [string[], number][] = [
      [["x", "y"], 3],
      [["1", "2"], 4],
    ];
    for (let i = 0; i <= src.length; i++)
      assert.deepEqual(records(src, [src.slice(0, i), src.slice(i)], { skipLines: 2 }), expected, `split at ${i}`);
  });

  test("other delimiters; the delimiter must be one plain character", () => {
    assert.deepEqual(records("a;b,c\n1;2", ["a;b,c\n1;2"], { delimiter: ";" }), [
      [["a", "b,c"], 1],
      [["1", "2"], 2],
    ]);
    assert.deepEqual(records("a\tb\n", ["a\tb\n"], { delimiter: "\t" }), [[["a", "b"], 1]]);
    for (const delimiter of ["", ";;", '"', "\n"])
      assert.throws(() => new CsvParser(() => undefined, "t.csv", { delimiter }), KeraslessError);
  });
});

describe("CSV windows: stride, horizon, header rows", () => {
  const csv = parseCsv("a,b\n0,10\n1,11\n2,12\n3,13\n4,14\n5,15\n", "t.csv");

  test("--stride S starts a window every S rows; --horizon H labels each with its last row + H", () => {
    const w = csvWindows(csv, ["a"], { lookBack: 3, stride: 2, horizon: 1 }, "t.csv");
    assert.deepEqual(w.shape, [2, 3, 1]);
    assert.deepEqual(Array.from(w.data), [0, 1, 2, 2, 3, 4]);
    assert.deepEqual(w.targetRows, [3, 5]);
    const every = csvWindows(csv, ["b", "a"], { lookBack: 2 }, "t.csv");
    assert.deepEqual(every.shape, [5, 2, 2]);
    assert.deepEqual(every.targetRows, [1, 2, 3, 4, 5]);
  });

  test("the Windower's ring and batches give the same windows for any batch size", () => {
    const rows = Array.from({ length: 23 }, (_, r) => [r, 100 + r]);
    const collect = (batchSize: number): number[] => {
      const out: number[] = [];
      const w = new Windower(2, { lookBack: 5, stride: 3 }, batchSize, (data, count) =>
        out.push(...data.subarray(0, count * 10)),
      );
      for (const r of rows) w.push(r);
      w.flush();
      return out;
    };
    const expected: number[] = [];
    for (let s = 0; s + 5 <= 23; s += 3) for (let r = s; r < s + 5; r++) expected.push(r, 100 + r);
    for (const size of [1, 2, 5, 100]) assert.deepEqual(collect(size), expected);
  });

  test("skipHeader: lines before the header are dropped; 0 means no header (columns by index)", () => {
    const withPreamble = parseCsv("# exported 2024\nx,y\n1,2\n", "t.csv", { skipHeader: 2 });
    assert.deepEqual(withPreamble.header, ["x", "y"]);
    assert.deepEqual(withPreamble.rows, [{ line: 3, fields: ["1", "2"] }]);
    const none = parseCsv("1,2\n3,4\n", "t.csv", { skipHeader: 0 });
    assert.deepEqual(none.header, ["0", "1"]);
    assert.equal(none.rows.length, 2);
    assert.deepEqual(Array.from(csvWindows(none, ["1"], 2, "t.csv").data), [2, 4]);
    assert.throws(
      () => parseCsv("1,2\n3\n", "t.csv", { skipHeader: 0 }),
      (e: unknown) => isCode("E_FORMAT")(e) && /line 2 has 1 field, the first row has 2/.test((e as Error).message),
    );
  });

  test("numbers as NumPy reads them; no hex, no blanks", () => {
    assert.equal(parseNumber(" 1.5e3 "), 1500);
    assert.equal(parseNumber("-inf"), -Infinity);
    assert.equal(parseNumber("Infinity"), Infinity);
    assert.ok(Number.isNaN(parseNumber("NaN") as number));
    for (const bad of ["", "  ", "0x10", "0b1", "0o7", "1,5", "abc"]) assert.equal(parseNumber(bad), undefined, bad);
  });
});
