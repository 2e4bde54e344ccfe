/**
 * Fitted scikit-learn MinMaxScaler / StandardScaler parameters (`--scaler FILE`), exported from
 * Python as JSON (format in docs/cli.md). Values are scaled in double precision with the same
 * operations, in the same order, as scikit-learn's transform and inverse_transform.
 */
import { KeraslessError } from "../errors.js";
import { parseJson } from "../io/json.js";

export type ScalerClass = "MinMaxScaler" | "StandardScaler";

export interface Scaler {
  readonly className: ScalerClass;
  /** The number of columns the scaler was fitted on. */
  readonly columns: number;
  /** The column names, when the scaler was fitted on a DataFrame (feature_names_in_). */
  readonly names: readonly string[] | undefined;
  /** The file it was read from. */
  readonly file: string;
  /** Scales value `x` of column `column`, as transform() does. */
  transform(column: number, x: number): number;
  /** Maps a scaled value of column `column` back, as inverse_transform() does. */
  inverse(column: number, x: number): number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a scaler from the text of its JSON file. */
export function parseScaler(text: string, file: string): Scaler {
  const json = parseJson(text, "the scaler file", file, "E_FORMAT");
  const fail = (problem: string): never => {
    throw new KeraslessError("E_FORMAT", problem, { file });
  };
  if (!isObject(json)) return fail('expected a JSON object {"class": "MinMaxScaler" | "StandardScaler", ...}');
  const className = json.class;
  if (className !== "MinMaxScaler" && className !== "StandardScaler") {
    return fail(`"class" must be "MinMaxScaler" or "StandardScaler", got ${JSON.stringify(className)}`);
  }
  const params = json.params ?? {};
  if (!isObject(params)) return fail('"params" must be an object (scaler.get_params())');
  const bool = (name: string): boolean => {
    const v = params[name] ?? true;
    if (typeof v !== "boolean") return fail(`"params"."${name}" must be true or false`);
    return v;
  };
  let columns: number | undefined;
  const vector = (name: string): Float64Array => {
    const v = json[name];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      return fail(`"${name}" must be a non-empty list of finite numbers`);
    }
    if (columns !== undefined && v.length !== columns)
      return fail(`"${name}" has ${v.length} values, other fitted attributes have ${columns}`);
    columns = v.length;
    return Float64Array.from(v as number[]);
  };

  let transform: (column: number, x: number) => number;
  let inverse: (column: number, x: number) => number;
  if (className === "MinMaxScaler") {
    const scale = vector("scale_");
    const min = vector("min_");
    if (scale.some((s) => s === 0)) fail('"scale_" has a zero: the scaler cannot be inverted');
    const clip = params.clip ?? false;
    if (typeof clip !== "boolean") return fail('"params"."clip" must be true or false');
    if (clip) {
      const range = params.feature_range;
      if (
        !Array.isArray(range) ||
        range.length !== 2 ||
        !range.every((x) => typeof x === "number" && Number.isFinite(x)) ||
        !(range[0] < range[1])
      ) {
        return fail('"params"."feature_range" must be [min, max] with min < max (needed with "clip": true)');
      }
      const [lo, hi] = range as [number, number];
      transform = (c, x) => Math.min(hi, Math.max(lo, x * scale[c] + min[c]));
    } else {
      transform = (c, x) => x * scale[c] + min[c];
    }
    inverse = (c, x) => (x - min[c]) / scale[c];
  } else {
    const withMean = bool("with_mean");
    const withStd = bool("with_std");
    if (!withMean && !withStd) fail('"params" has with_mean and with_std both false: the scaler does nothing');
    const mean = withMean ? vector("mean_") : undefined;
    const scale = withStd ? vector("scale_") : undefined;
    if (scale?.some((s) => s === 0)) fail('"scale_" has a zero: the scaler cannot be inverted');
    if (mean !== undefined && scale !== undefined) {
      transform = (c, x) => (x - mean[c]) / scale[c];
      inverse = (c, x) => x * scale[c] + mean[c];
    } else if (mean !== undefined) {
      transform = (c, x) => x - mean[c];
      inverse = (c, x) => x + mean[c];
    } else {
      const s = scale as Float64Array;
      transform = (c, x) => x / s[c];
      inverse = (c, x) => x * s[c];
    }
  }
  const n = columns as number;
  if (json.n_features_in_ !== undefined && json.n_features_in_ !== n)
    fail(`"n_features_in_" is ${JSON.stringify(json.n_features_in_)}, the fitted attributes have ${n} values`);
  let names: string[] | undefined;
  if (json.feature_names_in_ !== undefined) {
    const v = json.feature_names_in_;
    if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === "string"))
      fail(`"feature_names_in_" must be a list of ${n} column names`);
    names = v as string[];
    if (new Set(names).size !== n) fail('"feature_names_in_" names a column twice');
  }
  return { className, columns: n, names, file, transform, inverse };
}

/** Where each value a row feeds to the model sits among the scaler's columns. */
export interface ScalerMapping {
  /** For each model feature (in --features order), its scaler column. */
  featureColumns: number[];
  /** A name for each scaler column (for --inverse-scale and messages). */
  columnNames: string[];
}

/**
 * Maps the chosen CSV columns onto the scaler's columns: by name when the scaler knows its
 * column names; otherwise the scaler's columns are the CSV file's columns when it has as many,
 * else the chosen features in --features order.
 */
export function mapCsvColumns(
  scaler: Scaler,
  header: readonly string[],
  columns: readonly number[],
  csvFile: string,
): ScalerMapping {
  if (scaler.names !== undefined) {
    const names = scaler.names;
    const featureColumns = columns.map((c) => {
      const i = names.indexOf(header[c]);
      if (i < 0) {
        throw new KeraslessError(
          "E_INPUT",
          `the scaler was fitted on the columns ${names.join(", ")}; it has no column "${header[c]}" (${csvFile})`,
          { file: scaler.file },
        );
      }
      return i;
    });
    return { featureColumns, columnNames: [...names] };
  }
  if (scaler.columns === header.length) return { featureColumns: [...columns], columnNames: [...header] };
  if (scaler.columns === columns.length)
    return { featureColumns: columns.map((_, k) => k), columnNames: columns.map((c) => header[c]) };
  throw new KeraslessError(
    "E_INPUT",
    `the scaler has ${scaler.columns} columns and no column names; ${csvFile} has ${header.length} columns and ` +
      `--features picks ${columns.length}: fit the scaler on the file's columns, on the features, or on a DataFrame ` +
      `(so that it stores their names)`,
    { file: scaler.file },
  );
}

/** For a tensor input, the scaler applies to its last axis, which must have one value per scaler column. */
export function mapTensorColumns(scaler: Scaler, features: number, inputFile: string): ScalerMapping {
  if (features !== scaler.columns) {
    throw new KeraslessError(
      "E_INPUT",
      `the scaler has ${scaler.columns} columns, the last axis of ${inputFile} has ${features} values`,
      { file: scaler.file },
    );
  }
  const featureColumns = Array.from({ length: features }, (_, k) => k);
  return { featureColumns, columnNames: scaler.names !== undefined ? [...scaler.names] : featureColumns.map(String) };
}

/** The scaler columns `--inverse-scale` names: by column name, else by 0-based index. */
export function resolveInverseColumns(scaler: Scaler, mapping: ScalerMapping, wanted: readonly string[]): number[] {
  return wanted.map((w) => {
    const byName = mapping.columnNames.indexOf(w);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(w) && Number(w) < scaler.columns) return Number(w);
    throw new KeraslessError(
      "E_INPUT",
      `--inverse-scale: the scaler has no column "${w}" (its columns: ${mapping.columnNames.join(", ")}; or give a ` +
        `0-based index)`,
      { file: scaler.file },
    );
  });
}
