// Used only when kerasless runs from its TypeScript sources (tests, the benchmark, docs snippets):
// Node 20 does not apply `--import tsx` inside worker threads, so a ModelPool worker started from
// src/node/pool.ts registers tsx's hooks with this module before its .ts entry loads.
import { register } from "tsx/esm/api";

register();
