/**
 * Builds the npm package as users receive it, in a temporary staging folder (dist/ is not touched):
 * a fresh build of src/ (no source maps), the browser bundle, the kernels' .wasm files, bin/, LICENSE,
 * README.md, docs/*.md, and a package.json without the development scripts and dependencies: npm 11 would otherwise
 * list our `prepare` (a build step for this repository) among the install scripts a user must
 * approve. The root package.json refuses `npm publish` for that reason.
 *
 *   npm run pack [-- --out DIR]     writes DIR/kerasless-<version>.tgz (default: the repository)
 *   npm publish kerasless-<version>.tgz
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCoreBundle, buildRecurrentBundle, writeKernelFiles } from "./build-browser.js";

const root = fileURLToPath(new URL("../", import.meta.url));

/** The package.json fields a user's install needs; everything else stays in the repository. */
const PUBLISHED_FIELDS = [
  "name",
  "version",
  "description",
  "keywords",
  "homepage",
  "repository",
  "bugs",
  "type",
  "license",
  "engines",
  "main",
  "types",
  "exports",
  "bin",
  "files",
  "dependencies",
  "optionalDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
] as const;

export function publishedManifest(manifest: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of PUBLISHED_FIELDS) if (manifest[field] !== undefined) out[field] = manifest[field];
  return out;
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

export interface Packed {
  /** The .tgz file. */
  tarball: string;
  /** Its files, as `npm pack` lists them (paths inside the package). */
  files: string[];
  /** The package.json inside it. */
  manifest: Record<string, unknown>;
}

/** Stages and packs the package into `outDir`. */
export async function pack(outDir: string): Promise<Packed> {
  const stage = mkdtempSync(join(tmpdir(), "kerasless-stage-"));
  try {
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const build = ["-p", join(root, "tsconfig.build.json"), "--outDir", join(stage, "dist")];
    run(process.execPath, [tsc, ...build, "--sourceMap", "false", "--declarationMap", "false"], root);
    mkdirSync(join(stage, "dist/browser"), { recursive: true });
    writeFileSync(join(stage, "dist/browser/kerasless.min.js"), (await buildCoreBundle()).code);
    writeFileSync(join(stage, "dist/browser/kerasless-recurrent.min.js"), (await buildRecurrentBundle()).code);
    writeKernelFiles(join(stage, "dist"));
    cpSync(join(root, "bin"), join(stage, "bin"), { recursive: true });
    for (const file of ["LICENSE", "README.md"]) cpSync(join(root, file), join(stage, file));
    mkdirSync(join(stage, "docs"));
    for (const doc of readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")))
      cpSync(join(root, "docs", doc), join(stage, "docs", doc));
    const manifest = publishedManifest(JSON.parse(readFileSync(join(root, "package.json"), "utf8")));
    writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    mkdirSync(outDir, { recursive: true });
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const report = JSON.parse(
      run(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", outDir], stage),
    ) as { filename: string; files: { path: string }[] }[];
    return { tarball: join(outDir, report[0].filename), files: report[0].files.map((f) => f.path).sort(), manifest };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf("--out");
  const packed = await pack(at > 0 ? process.argv[at + 1] : root);
  process.stdout.write(`${packed.tarball} (${packed.files.length} files)\n`);
}
