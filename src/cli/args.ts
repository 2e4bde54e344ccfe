/** Command-line parsing: the commands, their options and help texts, and usage errors. */
import { parseArgs } from "node:util";

export type CommandName = "predict" | "inspect" | "verify";

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

const OPTIONS = {
  predict: {
    ...shared,
    input: { type: "string", multiple: true },
    output: { type: "string" },
    csv: { type: "string" },
    "look-back": { type: "string" },
    features: { type: "string" },
  },
  inspect: { ...shared, json: { type: "boolean" } },
  verify: {
    ...shared,
    input: { type: "string", multiple: true },
    expected: { type: "string", multiple: true },
    plot: { type: "string" },
  },
} as const satisfies Record<CommandName, Record<string, OptionSpec>>;

export const COMMANDS = Object.keys(OPTIONS) as CommandName[];

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(OPTIONS, name);
}

export interface PredictArgs {
  command: "predict";
  model: string;
  weights?: string;
  inputs: string[];
  output?: string;
  csv?: { file: string; lookBack: number; features: string[] };
}

export interface InspectArgs {
  command: "inspect";
  model: string;
  weights?: string;
  json: boolean;
}

export interface VerifyArgs {
  command: "verify";
  model: string;
  weights?: string;
  inputs: string[];
  expected: string[];
  plot?: string;
}

export type CommandArgs = PredictArgs | InspectArgs | VerifyArgs;

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
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' (only one MODEL file is taken)`, command);
  const weights = str("weights");

  switch (command) {
    case "predict": {
      const inputs = list("input");
      const csvFile = str("csv");
      const lookBack = str("look-back");
      const features = str("features");
      let csv: PredictArgs["csv"];
      if (csvFile !== undefined) {
        if (inputs.length > 0) throw new UsageError("give either --input files or --csv, not both", command);
        if (lookBack === undefined) throw new UsageError("--csv needs --look-back N (the number of rows in each window)", command);
        if (features === undefined) throw new UsageError("--csv needs --features A,B,C (column names or 0-based indices)", command);
        if (!/^\d+$/.test(lookBack) || Number(lookBack) < 1) throw new UsageError(`--look-back must be a positive whole number, got '${lookBack}'`, command);
        const names = features.split(",").map((f) => f.trim());
        if (names.some((f) => f === "")) throw new UsageError(`--features has an empty name in '${features}'`, command);
        csv = { file: csvFile, lookBack: Number(lookBack), features: names };
      } else {
        if (lookBack !== undefined || features !== undefined) throw new UsageError("--look-back and --features go with --csv", command);
        if (inputs.length === 0) throw new UsageError("missing --input FILE (or --csv FILE --look-back N --features A,B,C)", command);
      }
      return { command, model, weights, inputs, output: str("output"), csv };
    }
    case "inspect":
      return { command, model, weights, json: values.json === true };
    case "verify": {
      const inputs = list("input");
      const expected = list("expected");
      if (inputs.length === 0) throw new UsageError("missing --input FILE", command);
      if (expected.length === 0) throw new UsageError("missing --expected FILE", command);
      return { command, model, weights, inputs, expected, plot: str("plot") };
    }
  }
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
      if (/ambiguous/.test(message)) return `option ${option} needs a value (to give one that starts with '-', write ${option}=VALUE)`;
      if (/does not take an argument/.test(message)) return `option ${option} takes no value`;
      break;
  }
  return message.split("\n")[0];
}

export const MAIN_HELP = `kerasless: run Keras models from the files Keras writes (.keras, .h5, model.json + weights).

Usage:
  kerasless predict MODEL --input FILE [--input FILE ...] [--output OUT.json|OUT.npy]
  kerasless predict MODEL --csv FILE --look-back N --features A,B,C [--output FILE]
  kerasless inspect MODEL [--json]
  kerasless verify  MODEL --input FILE [...] --expected FILE [...] [--plot FILE.svg]

Commands:
  predict   run the model on input tensors (or sliding windows of a CSV file)
  inspect   print the model summary, the Keras version and format, inputs and outputs
  verify    compare the model's predictions with reference outputs (e.g. from Keras)

Options for every command:
  --weights FILE   the weights file (required for a model.json architecture)
  --debug          print the stack trace of an error
  -h, --help       help for the command

  kerasless --version   print the version

Run 'kerasless <command> --help' for the options of a command.
`;

const TENSOR_FILES = `Tensor files (--input, --expected):
  .npy    NumPy arrays, little-endian float32/float64/int32/int64, C order
          (float64 is read as float32, int64 as int32)
  .json   {"shape": [...], "dtype": "float32"|"int32", "data": [flat, row-major]}
          or {"inputs": [tensor, ...], "outputs": [tensor, ...]} (an io.json):
          --input takes its "inputs", --expected its "outputs".
  Input files are matched to the model's inputs in order.`;

export const COMMAND_HELP: Record<CommandName, string> = {
  predict: `Usage:
  kerasless predict MODEL [--weights FILE] --input FILE [--input FILE ...] [--output OUT]
  kerasless predict MODEL [--weights FILE] --csv FILE --look-back N --features A,B,C [--output OUT]

Runs the model and writes its outputs.

Options:
  --input FILE      an input tensor (.npy or .json); repeat for a model with several inputs
  --csv FILE        a CSV file with a header row; the model is run on its sliding windows:
                    window i is rows i .. i+N-1 of the chosen columns, giving a
                    [rows-N+1, N, features] input
  --look-back N     the window length N (with --csv)
  --features LIST   comma-separated column names or 0-based column indices (with --csv)
  --output OUT      where to write the outputs: OUT.npy writes a .npy file (single-output
                    models only), anything else JSON; without it the JSON goes to stdout
  --weights FILE    the weights file (required for a model.json architecture)
  --debug           print the stack trace of an error

Output JSON: {"outputs": [{"name", "shape", "dtype", "data": [flat, row-major]}]}, each
number the exact value of the float32 result (non-finite values as "NaN", "Infinity",
"-Infinity").

${TENSOR_FILES}
`,
  inspect: `Usage:
  kerasless inspect MODEL [--weights FILE] [--json]

Prints the model summary table, the Keras version that wrote the file, the file format,
and the model's inputs and outputs (name, shape, dtype).

Options:
  --json            print the same information as JSON
  --weights FILE    the weights file (required for a model.json architecture)
  --debug           print the stack trace of an error
`,
  verify: `Usage:
  kerasless verify MODEL [--weights FILE] --input FILE [--input ...] --expected FILE [--expected ...]
                   [--plot FILE.svg]

Runs the model on the inputs and compares every output value with the expected (reference)
outputs. Prints the max and mean absolute error; exits with 0 when every value is within
1e-5 + 1e-4*|expected|, 1 otherwise.

Options:
  --input FILE      an input tensor (.npy, .json, or an io.json: its "inputs" are used)
  --expected FILE   reference outputs, in the order of the model's outputs (.npy, .json,
                    or an io.json / predict output: all its "outputs" are used)
  --plot FILE.svg   draw the reference (x) against kerasless (y) values as an SVG scatter plot
  --weights FILE    the weights file (required for a model.json architecture)
  --debug           print the stack trace of an error

${TENSOR_FILES}
`,
};
