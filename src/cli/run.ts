/** Runs the command line with this process' arguments (what bin/kerasless.js does with dist/). */
import { main } from "./main.js";

// Output piped into a command that stops reading early (e.g. `| head`) is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
