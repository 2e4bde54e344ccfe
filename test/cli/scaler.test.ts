/**
 * --scaler / --inverse-scale against scalers fitted by scikit-learn and Keras' predictions on the
 * scaled data (tools/fixtures/scaler_fixture.py -> test/fixtures/scaler/).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseCsv, resolveColumns, RowReader, Windower } from "../../src/cli/csv.js";
import { mapCsvColumns, parseScaler } from "../../src/cli/scaler.js";
import { KeraslessError } from "../../src/errors.js";
import { ROOT, assertOneErrorLine, cli, readJson, seed, tempDir, type JsonTensor } from "./helpers.js";

const DIR = join(ROOT, "test/fixtures/scaler");
const tmp = tempDir();
after(() => tmp.cleanup());

interface ScalerCase {
  name: string;
  scaler: string;
  features: string[];
  look_back: number;
  stride: number;
  windows: JsonTensor;
  predictions: JsonTensor;
  inverse_scale?: string;
  inverse_predictions?: number[];
  tensor_input?: string;
  tensor_predictions?: JsonTensor;
}

const reference = readJson<{ cases: ScalerCase[]; export_snippet: string }>(join(DIR, "reference.json"));
const CSV = seed("LSTM_sample.csv");

/** The project's tolerance: |got - expected| <= 1e-5 + 1e-4*|expected|. */
function assertParity(got: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const tolerance = 1e-5 + 1e-4 * Math.abs(expected[i]);
    assert.ok(Math.abs(got[i] - expected[i]) <= tolerance, `${what}[${i}]: ${got[i]} vs ${expected[i]}`);
  }
}

function csvOutput(file: string): { rows: number[]; values: number[] } {
  const [header, ...lines] = readFileSync(file, "utf8").trimEnd().split("\n");
  assert.equal(header, "row,dense");
  return { rows: lines.map((l) => Number(l.split(",")[0])), values: lines.map((l) => Number(l.split(",")[1])) };
}

describe("--scaler with scikit-learn scalers", () => {
  test("the export snippet in docs/cli.md is the one that wrote these scaler files", () => {
    const docs = readFileSync(join(ROOT, "docs/cli.md"), "utf8");
    const snippet = /<!-- scaler-export -->\s*```python\n([\s\S]*?)```/.exec(docs)?.[1];
    assert.equal(snippet, reference.export_snippet);
    assert.equal(snippet?.trim().split("\n").length, 3);
  });

  test("reference cases exist for both scaler classes, clipping, names and inverse scaling", () => {
    assert.equal(reference.cases.length, 4);
    const classes = reference.cases.map((c) => readJson<{ class: string }>(join(DIR, c.scaler)).class);
    assert.deepEqual([...new Set(classes)].sort(), ["MinMaxScaler", "StandardScaler"]);
  });

  for (const c of reference.cases) {
    test(`${c.name}: the windows are scikit-learn's, the predictions Keras'`, async () => {
      const base = [
        "predict",
        seed("model.keras"),
        "--csv",
        CSV,
        "--look-back",
        String(c.look_back),
        "--features",
        c.features.join(","),
        "--scaler",
        join(DIR, c.scaler),
      ];
      if (c.stride !== 1) base.push("--stride", String(c.stride));
      const out = tmp.path(`${c.name}.csv`);
      const run = await cli(...base, "--output", out);
      assert.equal(run.code, 0, run.stderr);
      const { rows, values } = csvOutput(out);
      assertParity(values, c.predictions.data, c.name);
      assert.deepEqual(
        rows,
        c.predictions.data.map((_, k) => k * c.stride + c.look_back - 1),
      );

      // The scaled windows themselves equal scikit-learn's transform, rounded once to float32.
      const csv = parseCsv(readFileSync(CSV, "utf8"), CSV);
      const scaler = parseScaler(readFileSync(join(DIR, c.scaler), "utf8"), c.scaler);
      const columns = resolveColumns(csv.header, c.features, CSV);
      const mapping = mapCsvColumns(scaler, csv.header, columns, CSV);
      const reader = new RowReader(csv.header, columns, CSV);
      const windows: number[] = [];
      const windower = new Windower(columns.length, { lookBack: c.look_back, stride: c.stride }, 2, (data, count) => {
        windows.push(...data.subarray(0, count * c.look_back * columns.length));
      });
      const values64 = new Float64Array(columns.length);
      for (const row of csv.rows) {
        reader.read(row.fields, row.line, values64);
        for (let k = 0; k < values64.length; k++)
          values64[k] = scaler.transform(mapping.featureColumns[k], values64[k]);
        windower.push(values64);
      }
      windower.flush();
      assert.deepEqual(windows, c.windows.data);

      if (c.inverse_scale !== undefined) {
        const inverse = await cli(
          ...base,
          "--inverse-scale",
          c.inverse_scale,
          "--output",
          tmp.path(`${c.name}-inv.json`),
        );
        assert.equal(inverse.code, 0, inverse.stderr);
        const [output] = readJson<{ outputs: JsonTensor[] }>(tmp.path(`${c.name}-inv.json`)).outputs;
        assertParity(output.data, c.inverse_predictions ?? [], `${c.name} inverse`);
        // The scaler column can also be given by its 0-based index.
        const names = readJson<{ feature_names_in_?: string[] }>(join(DIR, c.scaler)).feature_names_in_ ?? csv.header;
        const byIndex = await cli(
          ...base,
          "--inverse-scale",
          String(names.indexOf(c.inverse_scale)),
          "--output",
          tmp.path(`${c.name}-idx.json`),
        );
        assert.equal(byIndex.code, 0, byIndex.stderr);
        assert.deepEqual(
          readJson<{ outputs: JsonTensor[] }>(tmp.path(`${c.name}-idx.json`)).outputs[0].data,
          output.data,
        );
      }
    });
  }

  test("tensor input: the scaler applies to the last axis", async () => {
    const c = reference.cases.find((r) => r.tensor_predictions !== undefined) as ScalerCase;
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--input",
      join(DIR, c.tensor_input as string),
      "--scaler",
      join(DIR, c.scaler),
    );
    assert.equal(run.code, 0, run.stderr);
    const [output] = (JSON.parse(run.stdout) as { outputs: JsonTensor[] }).outputs;
    assert.deepEqual(output.shape, c.tensor_predictions?.shape);
    assertParity(output.data, c.tensor_predictions?.data ?? [], "tensor");
  });

  test("a scaler that matches neither the file nor the features, by count or by name", async () => {
    const minmax = join(DIR, "minmax_all_columns.json");
    const missing = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      CSV,
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--scaler",
      tmp.path("none.json"),
    );
    assert.match(assertOneErrorLine(missing.stderr), /none\.json: cannot read the file/);
    const narrow = tmp.path("two-columns.csv");
    writeFileSync(narrow, "A,B\n1,2\n3,4\n5,6\n7,8\n");
    const run = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      narrow,
      "--look-back",
      "4",
      "--features",
      "A,B,A",
      "--scaler",
      join(DIR, "standard_features.json"),
    );
    // Three scaler columns, three features (A, B, A) and a two-column file: the features are its columns.
    assert.equal(run.code, 0, run.stderr);
    const mismatch = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      narrow,
      "--look-back",
      "4",
      "--features",
      "A,B,A",
      "--scaler",
      minmax,
    );
    assert.match(
      assertOneErrorLine(mismatch.stderr),
      /minmax_all_columns\.json: the scaler has 4 columns and no column names; \S+two-columns\.csv has 2 columns/,
    );
    const named = tmp.path("renamed.csv");
    writeFileSync(named, readFileSync(CSV, "utf8").replace("X1,X2,X3,Y", "a,X2,X3,Y"));
    const byName = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      named,
      "--look-back",
      "4",
      "--features",
      "a,X2,X3",
      "--scaler",
      join(DIR, "minmax_clip_named.json"),
    );
    assert.equal(byName.code, 1);
    assert.match(
      assertOneErrorLine(byName.stderr),
      /minmax_clip_named\.json: the scaler was fitted on the columns Y, X3, X1, X2; it has no column "a"/,
    );
    const inverse = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      CSV,
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--scaler",
      minmax,
      "--inverse-scale",
      "Z",
    );
    assert.match(
      assertOneErrorLine(inverse.stderr),
      /--inverse-scale: the scaler has no column "Z" \(its columns: X1, X2, X3, Y/,
    );
    const usage = await cli(
      "predict",
      seed("model.keras"),
      "--csv",
      CSV,
      "--look-back",
      "4",
      "--features",
      "X1,X2,X3",
      "--inverse-scale",
      "Y",
    );
    assert.match(assertOneErrorLine(usage.stderr), /--inverse-scale needs --scaler FILE/);
  });

  test("malformed scaler files are refused with the problem named", () => {
    const bad = (json: unknown): string => {
      try {
        parseScaler(JSON.stringify(json), "s.json");
      } catch (e) {
        assert.ok(e instanceof KeraslessError && e.file === "s.json");
        return e.problem;
      }
      throw new Error("accepted");
    };
    assert.match(bad([1]), /expected a JSON object/);
    assert.match(bad({ class: "RobustScaler" }), /"class" must be "MinMaxScaler" or "StandardScaler"/);
    assert.match(
      bad({ class: "MinMaxScaler", scale_: [1, 2], min_: [0] }),
      /"min_" has 1 values, other fitted attributes have 2/,
    );
    assert.match(
      bad({ class: "MinMaxScaler", scale_: [1, "x"], min_: [0, 0] }),
      /"scale_" must be a non-empty list of finite numbers/,
    );
    assert.match(bad({ class: "MinMaxScaler", params: { clip: true }, scale_: [1], min_: [0] }), /feature_range/);
    assert.match(bad({ class: "StandardScaler", scale_: [1] }), /"mean_" must be/);
    assert.match(bad({ class: "StandardScaler", params: { with_mean: false, with_std: false } }), /does nothing/);
    assert.match(
      bad({ class: "StandardScaler", mean_: [0, 0], scale_: [1, 1], feature_names_in_: ["a"] }),
      /"feature_names_in_" must be a list of 2/,
    );
    // with_mean false: mean_ is ignored (scikit-learn still stores it), only scale_ is used.
    const s = parseScaler(
      JSON.stringify({ class: "StandardScaler", params: { with_mean: false }, mean_: [100], scale_: [2] }),
      "s.json",
    );
    assert.equal(s.transform(0, 3), 1.5);
    assert.equal(s.inverse(0, 1.5), 3);
  });
});
