/**
 * Builds dist/browser/kerasless.min.js (the core, src/index.ts, as one minified ESM file with
 * fflate inside), dist/browser/kerasless-recurrent.min.js (the same for src/recurrent.ts, the
 * layer families of sequence models only), the kernels' `.wasm` files (dist/wasm/) and the web
 * demo's script (examples/web/build/).
 *
 *   node --import tsx scripts/build-browser.ts      (part of `npm run build`)
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { kernelBytes } from "../src/kernels/wasm.js";
import { WASM_KERNELS_BASE64 } from "../src/kernels/wasm-binary.js";
import { WASM_RELAXED_KERNELS_BASE64 } from "../src/kernels/wasm-relaxed-binary.js";
import { WASM_CONV_KERNELS_BASE64 } from "../src/kernels/wasm-conv-binary.js";
import { WASM_CONV_RELAXED_KERNELS_BASE64 } from "../src/kernels/wasm-conv-relaxed-binary.js";

const root = fileURLToPath(new URL("../", import.meta.url));
export const BUNDLE_PATH = join(root, "dist/browser/kerasless.min.js");
/**
 * The size budget of the whole bundle (every layer family, both WebAssembly builds), gzip-compressed.
 * 60 KB held the recurrent slice; with convolutions, op layers and pooling it is 100 KB, the
 * budget issue 14 sets for the bundle with every layer family.
 */
export const BUNDLE_BUDGET_GZIP = 100 * 1024;

export const RECURRENT_BUNDLE_PATH = join(root, "dist/browser/kerasless-recurrent.min.js");
/** Issue 14's budget for the recurrent-only subset (kerasless/recurrent), gzip-compressed. */
export const RECURRENT_BUDGET_GZIP = 60 * 1024;

const common: esbuild.BuildOptions = {
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  target: "es2022",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};

type Bundle = { code: Uint8Array; metafile: esbuild.Metafile };

/** The bundle of one entry point as bytes (nothing written), with esbuild's account of what went in. */
async function buildBundle(entry: string, outfile: string): Promise<Bundle> {
  const result = await esbuild.build({
    ...common,
    entryPoints: [join(root, entry)],
    write: false,
    metafile: true,
    outfile,
  });
  const [output] = result.outputFiles;
  return { code: output.contents, metafile: result.metafile };
}

/** The core bundle (every layer family). */
export const buildCoreBundle = (): Promise<Bundle> => buildBundle("src/index.ts", BUNDLE_PATH);

/** The recurrent-only bundle (kerasless/recurrent). */
export const buildRecurrentBundle = (): Promise<Bundle> => buildBundle("src/recurrent.ts", RECURRENT_BUNDLE_PATH);

/**
 * The kernels as `.wasm` files in `dist/wasm/`, for runtimes that take a compiled module instead of
 * compiling bytes at run time: `dist/workers.js` (the Cloudflare Workers entry) imports the SIMD128
 * ones, and `useKernelModule()` takes any of them. One file per kernel family and build.
 */
export function writeKernelFiles(dist: string): void {
  mkdirSync(join(dist, "wasm"), { recursive: true });
  const files: [string, string][] = [
    ["kernels-simd128.wasm", WASM_KERNELS_BASE64],
    ["kernels-relaxed-simd.wasm", WASM_RELAXED_KERNELS_BASE64],
    ["conv-kernels-simd128.wasm", WASM_CONV_KERNELS_BASE64],
    ["conv-kernels-relaxed-simd.wasm", WASM_CONV_RELAXED_KERNELS_BASE64],
  ];
  for (const [name, text] of files) writeFileSync(join(dist, "wasm", name), kernelBytes(text));
}

export const gzipSize = (code: Uint8Array): number => gzipSync(code, { level: 9 }).length;

/**
 * The demo page's files in examples/web/build/, so that examples/web/ can be served as it is:
 * the page's script (with Chart.js inside), the core bundle it imports, and the seed model and CSV.
 */
async function buildDemo(coreBundle: Uint8Array): Promise<void> {
  const out = join(root, "examples/web/build");
  const coreAsBundle: esbuild.Plugin = {
    name: "core-from-bundle",
    setup(build) {
      // The page runs the shipped bundle, not a second copy of the core inside its own script.
      build.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: "./kerasless.min.js", external: true }));
    },
  };
  mkdirSync(join(out, "seed"), { recursive: true });
  writeFileSync(join(out, "kerasless.min.js"), coreBundle);
  for (const file of ["model.keras", "LSTM_sample.csv"])
    copyFileSync(join(root, "examples/seed", file), join(out, "seed", file));
  await esbuild.build({
    ...common,
    platform: "browser",
    plugins: [coreAsBundle],
    entryPoints: [join(root, "examples/web/demo.ts")],
    outdir: out,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { code } = await buildCoreBundle();
  const recurrent = (await buildRecurrentBundle()).code;
  mkdirSync(dirname(BUNDLE_PATH), { recursive: true });
  writeFileSync(BUNDLE_PATH, code);
  writeFileSync(RECURRENT_BUNDLE_PATH, recurrent);
  writeKernelFiles(join(root, "dist"));
  await buildDemo(code);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  for (const [path, bytes, budget] of [
    [BUNDLE_PATH, code, BUNDLE_BUDGET_GZIP],
    [RECURRENT_BUNDLE_PATH, recurrent, RECURRENT_BUDGET_GZIP],
  ] as const) {
    const name = path.slice(root.length);
    console.log(`${name}: ${kb(bytes.length)}, ${kb(gzipSize(bytes))} gzip (budget ${budget / 1024} KB)`);
  }
}
