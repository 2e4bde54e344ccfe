/**
 * The code blocks of the docs (README.md, docs/*.md) and the workspace they run in.
 *
 * Every ```ts / ```js block runs in CI. The line before a block may say how:
 *
 *   <!-- snippet: node -->                    Node (the default when nothing is said)
 *   <!-- snippet: deno -->, <!-- snippet: bun -->   that runtime (test/docs/snippets.test.ts)
 *   <!-- snippet: worker -->                  a Workers-style module: its fetch handler gets a Request
 *   <!-- snippet: browser -->                 a module script in Chromium (test/e2e/web.e2e.ts)
 *   <!-- snippet: covered by test/x.test.ts -->   not run itself; that test does the same thing
 *
 * and may add `; prints /regex/`: the block's output must match. Snippets run in a folder holding
 * the seed model as model.keras, model.h5 and model.json + model.weights.h5, LSTM_sample.csv and
 * io.json (the seed windows and Keras' predictions for them);
 * a browser snippet finds the same files under /models/.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;

export type SnippetMode = "node" | "deno" | "bun" | "worker" | "browser" | "covered";

export interface Snippet {
  /** "README.md:42" (the line of the opening fence). */
  where: string;
  lang: string;
  mode: SnippetMode;
  /** For mode "covered": the test file that does what the snippet shows. */
  coveredBy?: string;
  prints?: RegExp;
  code: string;
}

const MARKER =
  /^<!--\s*snippet:\s*(node|deno|bun|worker|browser|covered by\s+(\S+))\s*(?:;\s*prints\s+\/(.+)\/\s*)?-->$/;

/** The markdown files whose snippets must run: README.md and docs/*.md (not the generated API pages). */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs];
}

export function extractSnippets(file: string): Snippet[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w+)\s*$/.exec(lines[i]);
    if (fence === null) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: code block is not closed`);
    const lang = fence[1];
    if (["ts", "js", "typescript", "javascript", "mjs"].includes(lang)) {
      let previous = i - 1;
      while (previous >= 0 && lines[previous].trim() === "") previous--;
      const markerLine = previous >= 0 ? lines[previous].trim() : "";
      const marker = MARKER.exec(markerLine);
      if (marker === null && markerLine.startsWith("<!-- snippet"))
        throw new Error(`${file}:${previous + 1}: cannot read the snippet marker ${markerLine}`);
      const kind = marker?.[1] ?? "node";
      snippets.push({
        where: `${file}:${i + 1}`,
        lang,
        mode: kind.startsWith("covered") ? "covered" : (kind as SnippetMode),
        coveredBy: marker?.[2],
        prints: marker?.[3] === undefined ? undefined : new RegExp(marker[3], "m"),
        code: lines.slice(i + 1, end).join("\n"),
      });
    }
    i = end;
  }
  return snippets;
}

export const allSnippets = (): Snippet[] => docFiles().flatMap(extractSnippets);

/** The files a snippet may use, by the name it uses them under. */
export const WORKSPACE_FILES: Record<string, string> = {
  "model.keras": "examples/seed/model.keras",
  "model.h5": "test/fixtures/seed/model.h5",
  "model.json": "test/fixtures/seed/model.json",
  "model.weights.h5": "test/fixtures/seed/model.weights.h5",
  "LSTM_sample.csv": "examples/seed/LSTM_sample.csv",
  "io.json": "examples/seed/io.json",
};

/** A fresh folder outside the repository with the workspace files in it. */
export function makeWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "kerasless-snippet-"));
  for (const [name, source] of Object.entries(WORKSPACE_FILES)) copyFileSync(join(ROOT, source), join(dir, name));
  return dir;
}

/** Points the snippet's `kerasless` imports (bare or `npm:`) at `target`. */
export function withImport(code: string, target: string): string {
  return code.replace(
    /(from\s+|import\s*\(\s*)(["'])(?:npm:)?kerasless\2/g,
    (_, head: string, quote: string) => `${head}${quote}${target}${quote}`,
  );
}

/** Keras' predictions for the seed windows (examples/seed/io.json) and those windows as nested arrays. */
export function seedReference(): { windows: number[][][]; predictions: number[] } {
  const io = JSON.parse(readFileSync(join(ROOT, "examples/seed/io.json"), "utf8"));
  const [input] = io.inputs as { shape: number[]; data: number[] }[];
  const [n, t, f] = input.shape;
  const windows = Array.from({ length: n }, (_, i) =>
    Array.from({ length: t }, (_, j) => input.data.slice((i * t + j) * f, (i * t + j + 1) * f)),
  );
  return { windows, predictions: io.outputs[0].data };
}
