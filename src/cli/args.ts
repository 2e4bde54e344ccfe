/** Command-line parsing: the commands, their options and help texts, and usage errors. */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export type CommandName = "predict" | "inspect" | "verify" | "stream";

/** A mistake in how the command was called; reported as one line plus a pointer to --help. */
export class UsageError extends Error {
  readonly command: CommandName | undefined;
  constructor(problem: string, command?: CommandName) {
    super(problem);
    this.name = "UsageError";
    this.command = command;
  }

  /** Where to read about the right usage. */
  get hint(): string {
    return this.command === undefined ? "see 'kerasless --help'" : `see 'kerasless ${this.command} --help'`;
  }
}

interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
}

const shared = {
  weights: { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Record<string, OptionSpec>;

const csvOptions = {
  csv: { type: "string" },
  features: { type: "string" },
  "skip-header": { type: "string" },
  delimiter: { type: "string" },
  scaler: { type: "string" },
  "inverse-scale": { type: "string" },
} as const satisfies Record<string, OptionSpec>;

const OPTIONS = {
  predict: {
    ...shared,
    ...csvOptions,
    input: { type: "string", multiple: true },
    output: { type: "string" },
    "look-back": { type: "string" },
    stride: { type: "string" },
    horizon: { type: "string" },
  },
  inspect: { ...shared, json: { type: "boolean" }, kernels: { type: "boolean" } },
  verify: {
    ...shared,
    input: { type: "string", multiple: true },
    expected: { type: "string", multiple: true },
    plot: { type: "string" },
    histogram: { type: "string" },
    html: { type: "string" },
  },
  stream: {
    ...shared,
    ...csvOptions,
    input: { type: "string" },
    output: { type: "string" },
  },
} as const satisfies Record<CommandName, Record<string, OptionSpec>>;

export const COMMANDS = Object.keys(OPTIONS) as CommandName[];

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(OPTIONS, name);
}

/** How to read a CSV file: `file` is "-" for standard input. */
export interface CsvArgs {
  file: string;
  features: string[];
  /** Lines at the top that are not data; the last of them is the header (0: no header). */
  skipHeader: number;
  delimiter: string;
}

/** --csv plus the sliding windows of predict. */
export interface CsvWindowArgs extends CsvArgs {
  lookBack: number;
  stride: number;
  horizon: number;
}

/** --scaler FILE and the --inverse-scale columns (empty: predictions stay scaled). */
export interface ScalerArgs {
  scaler?: string;
  inverseScale: string[];
}

export interface PredictArgs extends ScalerArgs {
  command: "predict";
  model: string;
  weights?: string;
  inputs: string[];
  output?: string;
  csv?: CsvWindowArgs;
}

export interface StreamArgs extends ScalerArgs {
  command: "stream";
  model: string;
  weights?: string;
  input?: string;
  output?: string;
  csv?: CsvArgs;
}

export interface InspectArgs {
  command: "inspect";
  model: string;
  weights?: string;
  json: boolean;
  /** Also list which kernels each layer runs on, and why. */
  kernels: boolean;
}

export interface VerifyArgs {
  command: "verify";
  model: string;
  weights?: string;
  inputs: string[];
  expected: string[];
  plot?: string;
  histogram?: string;
  html?: string;
}

export type CommandArgs = PredictArgs | InspectArgs | VerifyArgs | StreamArgs;

/** Parses the arguments after the command name. */
export function parseCommand(command: CommandName, args: string[]): CommandArgs {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS[command], allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(describeParseError(e), command);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const list = (name: string): string[] => (values[name] as string[] | undefined) ?? [];

  const [model, ...extra] = parsed.positionals;
  if (model === undefined) throw new UsageError("missing the MODEL file argument", command);
  if (extra.length > 0)
    throw new UsageError(`unexpected argument '${extra[0]}' (only one MODEL file is taken)`, command);
  const weights = str("weights");

  switch (command) {
    case "predict": {
      const inputs = list("input");
      const csvFile = str("csv");
      const windowed = ["look-back", "stride", "horizon"];
      let csv: CsvWindowArgs | undefined;
      if (csvFile !== undefined) {
        if (inputs.length > 0) throw new UsageError("give either --input files or --csv, not both", command);
        const lookBack = str("look-back");
        if (lookBack === undefined)
          throw new UsageError("--csv needs --look-back N (the number of rows in each window)", command);
        csv = {
          ...csvArgs(command, csvFile, str),
          lookBack: whole(command, "--look-back", lookBack, 1),
          stride: whole(command, "--stride", str("stride") ?? "1", 1),
          horizon: whole(command, "--horizon", str("horizon") ?? "0", 0),
        };
      } else {
        const stray = [...CSV_ONLY, ...windowed].find((name) => str(name) !== undefined);
        if (stray !== undefined) throw new UsageError(`--${stray} goes with --csv`, command);
        if (inputs.length === 0)
          throw new UsageError("missing --input FILE (or --csv FILE --look-back N --features A,B,C)", command);
      }
      return { command, model, weights, inputs, output: str("output"), csv, ...scalerArgs(command, str) };
    }
    case "stream": {
      const input = str("input");
      const csvFile = str("csv");
      let csv: CsvArgs | undefined;
      if (csvFile !== undefined) {
        if (input !== undefined) throw new UsageError("give either --input FILE or --csv FILE, not both", command);
        if (str("output") !== undefined)
          throw new UsageError(
            "--output goes with --input; with --csv the predictions go to stdout as rows arrive",
            command,
          );
        csv = csvArgs(command, csvFile, str);
      } else {
        const stray = CSV_ONLY.find((name) => str(name) !== undefined);
        if (stray !== undefined) throw new UsageError(`--${stray} goes with --csv`, command);
        if (input === undefined) throw new UsageError("missing --input FILE (or --csv FILE --features A,B,C)", command);
      }
      return { command, model, weights, input, output: str("output"), csv, ...scalerArgs(command, str) };
    }
    case "inspect":
      return { command, model, weights, json: values.json === true, kernels: values.kernels === true };
    case "verify": {
      const inputs = list("input");
      const expected = list("expected");
      if (inputs.length === 0) throw new UsageError("missing --input FILE", command);
      if (expected.length === 0) throw new UsageError("missing --expected FILE", command);
      return {
        command,
        model,
        weights,
        inputs,
        expected,
        plot: str("plot"),
        histogram: str("histogram"),
        html: str("html"),
      };
    }
  }
}

/** Options that only make sense with --csv. */
const CSV_ONLY = ["features", "skip-header", "delimiter"] as const;

/** A whole number option at least `min`. */
function whole(command: CommandName, option: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw new UsageError(
      `${option} must be a ${min === 0 ? "non-negative" : "positive"} whole number, got '${text}'`,
      command,
    );
  }
  return Number(text);
}

/** Names for delimiters that are awkward to type. */
const DELIMITERS: Record<string, string> = {
  tab: "\t",
  "\\t": "\t",
  comma: ",",
  semicolon: ";",
  space: " ",
  pipe: "|",
};

function csvArgs(command: CommandName, file: string, str: (name: string) => string | undefined): CsvArgs {
  const features = str("features");
  if (features === undefined)
    throw new UsageError("--csv needs --features A,B,C (column names or 0-based indices)", command);
  const names = features.split(",").map((f) => f.trim());
  if (names.some((f) => f === "")) throw new UsageError(`--features has an empty name in '${features}'`, command);
  const given = str("delimiter") ?? ",";
  const delimiter = Object.hasOwn(DELIMITERS, given.toLowerCase()) ? DELIMITERS[given.toLowerCase()] : given;
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    throw new UsageError(
      `--delimiter must be one character other than a quote or a line break (or tab, semicolon, space, pipe), got ` +
        `'${given}'`,
      command,
    );
  }
  return {
    file,
    features: names,
    skipHeader: whole(command, "--skip-header", str("skip-header") ?? "1", 0),
    delimiter,
  };
}

function scalerArgs(command: CommandName, str: (name: string) => string | undefined): ScalerArgs {
  const scaler = str("scaler");
  const inverse = str("inverse-scale");
  if (inverse !== undefined && scaler === undefined)
    throw new UsageError("--inverse-scale needs --scaler FILE", command);
  const inverseScale = inverse === undefined ? [] : inverse.split(",").map((c) => c.trim());
  if (inverseScale.some((c) => c === ""))
    throw new UsageError(`--inverse-scale has an empty column in '${inverse}'`, command);
  return { scaler, inverseScale };
}

/** Turns node:util parseArgs' multi-line messages into one short line. */
function describeParseError(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? "?";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/argument missing/.test(message)) return `option ${option} needs a value`;
      if (/ambiguous/.test(message))
        return `option ${option} needs a value (to give one that starts with '-', write ${option}=VALUE)`;
      if (/does not take an argument/.test(message)) return `option ${option} takes no value`;
      break;
  }
  return message.split("\n")[0];
}

/** docs/cli.md, which the package ships: two folders up from src/cli/ and from dist/cli/. */
export const GUIDE = fileURLToPath(new URL("../../docs/cli.md", import.meta.url));

export const MAIN_HELP = `kerasless: run Keras models from the files Keras writes (.keras, .h5, model.json + weights).

Usage:
  kerasless predict MODEL --input FILE [--input FILE ...] [--output OUT.json|OUT.csv|OUT.npy]
  kerasless predict MODEL --csv FILE --look-back N --features A,B,C [--scaler S.json] [--output FILE]
  kerasless stream  MODEL --input FILE [--output OUT.json]
  kerasless stream  MODEL --csv FILE|- --features A,B,C
  kerasless inspect MODEL [--json] [--kernels]
  kerasless verify  MODEL --input FILE [...] --expected FILE [...] [--plot FILE.svg] [--html FILE.html]
  kerasless serve   MODEL [NAME=MODEL ...] [--port 8501] [--host 127.0.0.1] [--config FILE]

Commands:
  predict   run the model on input tensors (or sliding windows of a CSV file)
  stream    feed the model one time step at a time (a live feed: one prediction per CSV row)
  inspect   print the model summary, the Keras version and format, inputs and outputs
  verify    compare the model's predictions with reference outputs (e.g. from Keras)
  serve     serve models over HTTP: TensorFlow Serving REST, KServe v2, stream sessions (serve --help)

Options for every command:
  --weights FILE   the weights file (required for a model.json architecture)
  --debug          print the stack trace of an error
  -h, --help       help for the command

  kerasless --version   print the version

Run 'kerasless <command> --help' for the options of a command. Full guide: ${GUIDE}
`;

const TENSOR_FILES = `Tensor files (--input, --expected):
  .npy    NumPy arrays, little-endian float32/float64/int32/int64, C order
          (float64 is read as float32, int64 as int32); read in batches, so any size works
  .json   {"shape": [...], "dtype": "float32"|"int32", "data": [flat, row-major]}
          or {"inputs": [tensor, ...], "outputs": [tensor, ...]} (an io.json):
          --input takes its "inputs", --expected its "outputs".
  Input files are matched to the model's inputs in order.`;

const CSV_HELP = `  --csv FILE          a CSV file, or - for standard input
  --features LIST     comma-separated column names or 0-based column indices, in the
                      order the model expects them
  --skip-header N     lines at the top that are not data (default 1: the header row); the
                      last of them is the header naming the columns; 0: no header
  --delimiter D       the field separator (default ","; also tab, semicolon, space, pipe)
  --scaler FILE       scale the features first with a fitted scikit-learn MinMaxScaler or
                      StandardScaler, exported as JSON (see docs/cli.md)
  --inverse-scale COL map the predictions back to the scale of scaler column COL (a name
                      or 0-based index; or one column per value of the output's last axis)`;

const OUTPUT_HELP = `Output formats, by the --output file's extension:
  .json (or none: stdout)  {"outputs": [{"name", "shape", "dtype", "data": [flat, row-major]}]},
                           each number the exact value of the float32 result (non-finite values
                           as "NaN", "Infinity", "-Infinity")
  .csv                     a header, then one line per sample: every output's values side by side
                           (columns "name", or "name[i]", "name[i][j]" for several values)
  .npy                     a NumPy float32 array (single-output models only)`;

export const COMMAND_HELP: Record<CommandName, string> = {
  predict: `Usage:
  kerasless predict MODEL [--weights FILE] --input FILE [--input FILE ...] [--output OUT]
  kerasless predict MODEL [--weights FILE] --csv FILE --look-back N --features A,B,C
                    [--stride S] [--horizon H] [--skip-header N] [--delimiter D]
                    [--scaler FILE [--inverse-scale COL]] [--output OUT]

Runs the model and writes its outputs. Inputs are read and predicted in batches as they
are read, so files larger than memory work; a progress bar appears on stderr when the job
takes more than a second and stderr is a terminal.

Options:
  --input FILE        an input tensor (.npy or .json); repeat for a model with several inputs
  --output OUT        where to write the outputs (format by extension, see below); without
                      it the JSON goes to stdout
${CSV_HELP}
  --look-back N       the window length: the model is run on sliding windows of N rows of the
                      chosen columns, a [windows, N, features] input
  --stride S          rows between the starts of consecutive windows (default 1)
  --horizon H         the prediction of a window is for the row H rows after its last row
                      (default 0); a CSV output's "row" column gives that 0-based data row
  --weights FILE      the weights file (required for a model.json architecture)
  --debug             print the stack trace of an error

${OUTPUT_HELP}

${TENSOR_FILES}
`,
  stream: `Usage:
  kerasless stream MODEL [--weights FILE] --input FILE [--output OUT]
  kerasless stream MODEL [--weights FILE] --csv FILE|- --features A,B,C [--skip-header N]
                   [--delimiter D] [--scaler FILE [--inverse-scale COL]]

Runs the model one time step at a time, keeping its recurrent state between steps (as a
live feed would).

With --input, the input [batch, time, features] is fed step by step, and every step's outputs
are stacked on axis 1: [batch, time, ...], written like predict's (JSON to stdout by default).

With --csv, each CSV row is one time step of a single sequence, and one prediction per row is
printed to stdout as soon as the row arrives (CSV: "row" and the output columns). FILE - reads
standard input, e.g. a sensor feed.

Options:
  --input FILE        the input tensor (.npy or .json)
  --output OUT        where to write the stacked outputs (with --input; format by extension)
${CSV_HELP}
  --weights FILE      the weights file (required for a model.json architecture)
  --debug             print the stack trace of an error

${OUTPUT_HELP}
`,
  inspect: `Usage:
  kerasless inspect MODEL [--weights FILE] [--json] [--kernels]

Prints the model summary table, the Keras version that wrote the file, the file format,
and the model's inputs and outputs (name, shape, dtype).

Options:
  --json            print the same information as JSON
  --kernels         also list the kernels each recurrent, dense and convolutional layer runs on
                    (TypeScript, WebAssembly SIMD, fused steps, threads) and why
  --weights FILE    the weights file (required for a model.json architecture)
  --debug           print the stack trace of an error
`,
  verify: `Usage:
  kerasless verify MODEL [--weights FILE] --input FILE [--input ...] --expected FILE [--expected ...]
                   [--plot FILE.svg] [--histogram FILE.svg] [--html FILE.html]

Runs the model on the inputs and compares every output value with the expected (reference)
outputs. Prints the max and mean absolute error. Exit code: 0 when every value is within
1e-5 + 1e-4*|expected|, 2 when some are not, 1 on an error (a file that cannot be read, ...).

Options:
  --input FILE        an input tensor (.npy, .json, or an io.json: its "inputs" are used)
  --expected FILE     reference outputs, in the order of the model's outputs (.npy, .json,
                      or an io.json / predict output: all its "outputs" are used)
  --plot FILE.svg     draw the reference (x) against kerasless (y) values as an SVG scatter plot
  --histogram FILE.svg  draw a histogram of the absolute errors (logarithmic bins) as SVG
  --html FILE.html    write a self-contained report: the numbers, both plots, the worst values
  --weights FILE      the weights file (required for a model.json architecture)
  --debug             print the stack trace of an error

${TENSOR_FILES}
`,
};
