#!/usr/bin/env node
// The kerasless command; its code is in src/cli/, built to dist/cli/ by `npm run build`.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("kerasless: dist/cli/main.js is missing: run 'npm run build' first\n");
  process.exit(1);
}
const { runProcess } = await import(entry.href);
await runProcess();
