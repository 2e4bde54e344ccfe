/**
 * Real public Keras model files that the repository does not hold. Each case folder under
 * test/fixtures/real-world-fetched/ has source.json (the repository, commit, path, sha256 and license
 * of the file) and io.json (the outputs of the framework that wrote the file, for seeded inputs).
 * `npm run fixtures:fetch-real-world` brings the model files next to them; the parity test runs
 * the cases whose file is there.
 *
 *   node --import tsx scripts/real-world-files.ts                 # from raw.githubusercontent.com
 *   node --import tsx scripts/real-world-files.ts --git-dir '/mirrors/{owner}+{name}/repo'
 *
 * --git-dir reads each file from a local clone instead (`git show <commit>:<path>`), {owner} and
 * {name} standing for the repository's. Every file is checked against its pinned sha256.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface RealWorldSource {
  /** owner/name on GitHub */
  repo: string;
  commit: string;
  /** the file's path in the repository at `commit` */
  path: string;
  /** the name it is saved under in the case folder: model.h5 or model.keras */
  file: string;
  sha256: string;
  bytes: number;
  /** the repository's license ("none stated" when it has no LICENSE file) */
  license: string;
  /** keras_version as the file records it */
  keras_version: string;
  /** what wrote the file: "Keras 3", "tf.keras", "Keras" (standalone 2.x) */
  written_by: string;
  contains: string;
}

export interface RealWorldCase {
  id: string;
  dir: string;
  source: RealWorldSource;
}

export const FETCHED_ROOT = fileURLToPath(new URL("../test/fixtures/real-world-fetched/", import.meta.url));

export function listRealWorldCases(): RealWorldCase[] {
  return readdirSync(FETCHED_ROOT)
    .sort()
    .filter((id) => existsSync(join(FETCHED_ROOT, id, "source.json")))
    .map((id) => ({
      id,
      dir: join(FETCHED_ROOT, id),
      source: JSON.parse(readFileSync(join(FETCHED_ROOT, id, "source.json"), "utf8")) as RealWorldSource,
    }));
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function rawUrl(source: RealWorldSource): string {
  const path = source.path.split("/").map(encodeURIComponent).join("/");
  return `https://raw.githubusercontent.com/${source.repo}/${source.commit}/${path}`;
}

async function download(source: RealWorldSource, gitDirTemplate: string | undefined): Promise<Uint8Array> {
  if (gitDirTemplate !== undefined) {
    const [owner, name] = source.repo.split("/");
    const gitDir = gitDirTemplate.replaceAll("{owner}", owner).replaceAll("{name}", name);
    return execFileSync("git", ["--git-dir", gitDir, "show", `${source.commit}:${source.path}`], {
      maxBuffer: source.bytes + 1,
    });
  }
  const response = await fetch(rawUrl(source));
  if (!response.ok) throw new Error(`${rawUrl(source)}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function main(args: string[]): Promise<void> {
  const at = args.indexOf("--git-dir");
  const gitDirTemplate = at >= 0 ? args[at + 1] : undefined;
  let failed = 0;
  for (const { id, dir, source } of listRealWorldCases()) {
    const target = join(dir, source.file);
    if (existsSync(target) && sha256(readFileSync(target)) === source.sha256) {
      console.log(`${id}: already here`);
      continue;
    }
    try {
      const bytes = await download(source, gitDirTemplate);
      const digest = sha256(bytes);
      if (digest !== source.sha256) throw new Error(`sha256 ${digest}, pinned ${source.sha256}`);
      writeFileSync(target, bytes);
      console.log(`${id}: ${source.repo}@${source.commit.slice(0, 7)} ${source.path} (${bytes.length} bytes)`);
    } catch (error) {
      failed++;
      console.error(`${id}: not fetched: ${(error as Error).message}`);
    }
  }
  if (failed > 0) process.exit(1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  void main(process.argv.slice(2));
