/** Structured logs: one JSON object per line on stdout (time, level, msg, then fields). */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Logger = (level: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(min: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return (level, msg, fields = {}) => {
    if (RANK[level] < RANK[min]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}
