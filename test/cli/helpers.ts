/** Shared helpers for the CLI tests: run main() in-process and capture its output. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const SEED = join(ROOT, "test/fixtures/seed");
export const MULTI_IO = join(ROOT, "test/fixtures/keras3/multi_io");
export const EMBEDDING = join(ROOT, "test/fixtures/keras3/embedding_lstm");

export const seed = (name: string): string => join(SEED, name);

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...argv: string[]): Promise<Run> {
  return cliWith({}, ...argv);
}

/** Like cli(), with standard input, a terminal-like stderr or a progress delay. */
export async function cliWith(
  options: { stdin?: AsyncIterable<Uint8Array | string>; stderrIsTTY?: boolean; progressDelayMs?: number },
  ...argv: string[]
): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: options.stderrIsTTY, columns: 100 },
    stdin: options.stdin ?? (async function* () {})(),
    progressDelayMs: options.progressDelayMs,
  });
  return { code, stdout, stderr };
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "kerasless-cli-"));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface JsonTensor {
  name?: string;
  shape: number[];
  dtype?: string;
  data: number[];
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

export const seedIo = (): { inputs: JsonTensor[]; outputs: JsonTensor[] } => readJson(seed("io.json"));

/** Asserts |actual - expected| <= 1e-5 elementwise, with a readable message. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance))
      throw new Error(`index ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tolerance})`);
  }
}

/** The stderr contract: exactly one line, starting with "kerasless: ", no stack trace. */
export function assertOneErrorLine(stderr: string): string {
  const lines = stderr.split("\n");
  if (lines.length !== 2 || lines[1] !== "") throw new Error(`expected exactly one stderr line, got:\n${stderr}`);
  if (!lines[0].startsWith("kerasless: ")) throw new Error(`stderr does not start with "kerasless: ": ${lines[0]}`);
  if (/\n\s+at /.test(stderr) || /\.ts:\d+/.test(stderr)) throw new Error(`stderr holds a stack trace: ${stderr}`);
  return lines[0];
}
