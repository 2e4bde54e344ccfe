// Prints the test files (test/**/*.test.ts) for `node --test`; Node 20's runner has no glob support.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
const found = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.startsWith(".") || name === "node_modules") continue; // test/server/.venv, installed tools
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".test.ts")) found.push(path);
  }
};
walk(process.argv[2] ?? "test");
process.stdout.write(found.join(" "));
