// Used only when kerasless runs from its TypeScript sources (tests, the benchmark, docs snippets):
// Node 20 does not apply `--import tsx` inside worker threads, so a worker started from its .ts
// entry (ModelPool's, the server's executor: workerEntry() in worker-argv.ts) registers tsx's hooks
// with this module before that entry loads.
import { register } from "tsx/esm/api";

register();
