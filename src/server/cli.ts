/** `kerasless serve`: starts the server, logs where it listens, and drains on SIGTERM/SIGINT. */
import type { CliIO } from "../cli/commands.js";
import { parseServeArgs, SERVE_HELP } from "./options.js";
import { startServer } from "./server.js";

/** Runs until SIGTERM or SIGINT; returns the exit code. */
export async function serveCommand(argv: readonly string[], io: CliIO): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const server = await startServer(parseServeArgs(argv));
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      void server.close().then(resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  return 0;
}
