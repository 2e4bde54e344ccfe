#!/usr/bin/env node
// The kerasless command; its code is in src/cli/, built to dist/cli/ by `npm run build`.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("kerasless: dist/cli/main.js is missing: run 'npm run build' first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
// Output piped into a command that stops reading early (e.g. `| head`) is not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
