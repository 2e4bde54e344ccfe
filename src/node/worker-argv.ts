/** Worker threads started from a file: their entry and Node options. */

/** Options that change how a worker loads its modules, which it must share with the calling thread. */
const LOADING = /^--(?:import|require|loader|experimental-loader|conditions)(?:=|$)|^-[rC]$/;

/**
 * The calling process's module-loading options (--import, --require, --loader, --conditions),
 * for a worker's execArgv; `drop` removes some of those too. Everything else is left out: V8 and
 * other process-wide flags apply to workers anyway and Node refuses them in execArgv
 * (ERR_WORKER_INVALID_EXEC_ARGV, e.g. --expose-gc), and --input-type, for `node -e` code, makes a
 * worker started from a file fail.
 */
export function workerExecArgv(drop: (arg: string, value: string | undefined) => boolean = () => false): string[] {
  const given = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < given.length; i++) {
    const arg = given[i];
    if (!LOADING.test(arg)) continue;
    // "--import x" takes the next argument as its value; "--import=x" carries it.
    const value = arg.includes("=") ? undefined : given[i + 1];
    if (value !== undefined) i++;
    if (drop(arg, value)) continue;
    kept.push(arg);
    if (value !== undefined) kept.push(value);
  }
  return kept;
}

/**
 * A worker thread's entry file, `name` next to the module at `moduleUrl` (its import.meta.url),
 * and the execArgv to start it with. Running from the TypeScript sources (tests, the benchmark)
 * the entry is the .ts file, and Node 20 does not apply tsx's `--import tsx` hooks inside worker
 * threads: the worker registers them itself (tsx-hooks.mjs) instead of inheriting them.
 */
export function workerEntry(moduleUrl: string, name: string): { file: URL; execArgv(): string[] } {
  const fromSources = moduleUrl.endsWith(".ts");
  return {
    file: new URL(`./${name}${fromSources ? ".ts" : ".js"}`, moduleUrl),
    execArgv() {
      const kept = workerExecArgv(
        (arg, value) => fromSources && ((arg === "--import" && value === "tsx") || arg === "--import=tsx"),
      );
      if (fromSources) kept.push("--import", new URL("./tsx-hooks.mjs", import.meta.url).href);
      return kept;
    },
  };
}
