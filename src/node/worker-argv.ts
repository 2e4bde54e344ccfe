/** Node options for worker threads started from a file. */

/**
 * The calling process's Node options without --input-type, which is for `node -e` / stdin code:
 * a worker started from a file fails with it. `drop` removes more (an option, or one with its value).
 */
export function workerExecArgv(drop: (arg: string, next: string | undefined) => "option" | "with-value" | null = () => null): string[] {
  const given = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < given.length; i++) {
    const arg = given[i];
    if (arg === "--input-type") i++;
    else if (arg.startsWith("--input-type=")) continue;
    else {
      const dropped = drop(arg, given[i + 1]);
      if (dropped === "with-value") i++;
      else if (dropped === null) kept.push(arg);
    }
  }
  return kept;
}
