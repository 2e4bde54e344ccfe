// Fails when a hand-written source file passes 500 lines or a line passes 120 columns.
// Generated files (the WebAssembly binaries, *-binary.ts; the web demo's build/) are left out.
// Arguments: folders or files to check instead of the default roots.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const MAX_LINES = 500;
const MAX_COLUMNS = 120;
const roots =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : ["src", "wasm", "test", "scripts", "bench", "bin", "examples"];
const sourceFile = /\.(?:ts|js|mjs|cjs)$/;
const skipped = new Set(["node_modules", "fixtures", "build", ".wrangler"]);
const problems = [];

const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (skipped.has(name)) continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (sourceFile.test(name) && !name.endsWith("-binary.ts")) check(path);
  }
};

const check = (path) => {
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines.length > MAX_LINES) problems.push(`${path}: ${lines.length} lines (limit ${MAX_LINES})`);
  lines.forEach((line, i) => {
    if (line.length > MAX_COLUMNS) problems.push(`${path}:${i + 1}: ${line.length} columns (limit ${MAX_COLUMNS})`);
  });
};

for (const root of roots) {
  if (statSync(root).isDirectory()) walk(root);
  else check(root);
}
if (problems.length > 0) {
  process.stderr.write(problems.join("\n") + `\n${problems.length} problem(s)\n`);
  process.exit(1);
}
