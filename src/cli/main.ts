/**
 * The kerasless command line: `main(argv)` runs one command and returns the exit code, so it can
 * be called in-process (tests) as well as from bin/kerasless.js.
 */
import { readFileSync } from "node:fs";
import { KeraslessError } from "../errors.js";
import { COMMAND_HELP, COMMANDS, MAIN_HELP, UsageError, isCommand, parseCommand, type CommandArgs } from "./args.js";
import { inspect, verify, type CliIO } from "./commands.js";
import { handleSignals } from "./interrupt.js";
import { printable } from "./safe-text.js";
import { predict } from "./predict.js";
import { stream } from "./stream.js";

export type { CliIO, Output } from "./commands.js";

/** The version in package.json (two levels up from both src/cli/ and dist/cli/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  return String(pkg.version);
}

/**
 * Runs the command line `argv` (the arguments after the program name) and returns the exit
 * code: 0 on success, 1 on any error (one line on stderr), 2 when verify finds values that differ.
 */
export async function main(
  argv: readonly string[],
  io: CliIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    const [first, ...rest] = argv;
    if (first === undefined) throw new UsageError(`missing a command (${COMMANDS.join(", ")})`);
    if (first === "--help" || first === "-h") {
      io.stdout.write(MAIN_HELP);
      return 0;
    }
    if (first === "--version" || first === "-v") {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (first === "help") {
      const topic = rest[0];
      if (topic === undefined) io.stdout.write(MAIN_HELP);
      else if (isCommand(topic)) io.stdout.write(COMMAND_HELP[topic]);
      else throw new UsageError(`unknown command '${topic}' (commands: ${COMMANDS.join(", ")})`);
      return 0;
    }
    if (first === "serve") return await (await loadServer()).serveCommand(rest, io);
    if (!isCommand(first)) {
      if (first.startsWith("-"))
        throw new UsageError(`unknown option ${first} (a command comes first: ${COMMANDS.join(", ")})`);
      throw new UsageError(`unknown command '${first}' (commands: ${COMMANDS.join(", ")})`);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      io.stdout.write(COMMAND_HELP[first]);
      return 0;
    }
    return await runCommand(parseCommand(first, rest), io);
  } catch (e) {
    io.stderr.write(`${errorLine(e)}\n`);
    if (debug && e instanceof Error && e.stack !== undefined)
      io.stderr.write(`${e.stack.split("\n").map(printable).join("\n")}\n`);
    return 1;
  }
}

/**
 * The command as a process (bin/kerasless.js): this process' arguments and streams, Ctrl-C and
 * SIGTERM handled (src/cli/interrupt.ts), the exit code set.
 */
export async function runProcess(): Promise<void> {
  // `serve` shuts down on SIGINT/SIGTERM itself: it stops accepting and answers what it accepted.
  if (process.argv[2] !== "serve") handleSignals();
  // Output piped into a command that stops reading early (e.g. `| head`) is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}

function runCommand(args: CommandArgs, io: CliIO): Promise<number> {
  switch (args.command) {
    case "predict":
      return predict(args, io);
    case "inspect":
      return inspect(args, io);
    case "verify":
      return verify(args, io);
    case "stream":
      return stream(args, io);
  }
}

/** The one line an error is reported with: `kerasless: <file>: <problem>`. */
export function errorLine(e: unknown): string {
  return printable(describeError(e));
}

function describeError(e: unknown): string {
  // Line breaks (and the blanks around them) become one space; printable() escapes the rest.
  const oneLine = (text: string): string =>
    text
      .split("\n")
      .map((part) => part.trim())
      .filter((part) => part !== "")
      .join(" ");
  if (e instanceof UsageError) return `kerasless: ${oneLine(e.message)}; ${e.hint}`;
  if (e instanceof KeraslessError) {
    return e.file === undefined ? `kerasless: ${oneLine(e.problem)}` : `kerasless: ${e.file}: ${oneLine(e.problem)}`;
  }
  const message = e instanceof Error ? e.message : String(e);
  return `kerasless: internal error: ${oneLine(message)} (run again with --debug for the stack trace)`;
}

/**
 * The server and its two packages (ws, prom-client) load only for `kerasless serve`: they are
 * optional peer dependencies, so library users do not install them.
 */
async function loadServer(): Promise<typeof import("../server/cli.js")> {
  try {
    return await import("../server/cli.js");
  } catch (error) {
    const missing = /Cannot find (?:package|module) '(ws|prom-client)'/.exec(String(error));
    if (missing === null) throw error;
    throw new KeraslessError(
      "E_UNSUPPORTED",
      `kerasless serve needs the optional packages ws and prom-client (${missing[1]} is not installed): ` +
        "npm install ws@8 prom-client@15",
    );
  }
}
