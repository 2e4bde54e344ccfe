/**
 * The package as an npm user receives it: `npm run pack`'s tarball (scripts/pack.ts) is installed
 * into a fresh app outside the repository (from npm's local cache, no network), and there:
 * every TypeScript block of README.md and docs/*.md is type-checked strictly against the installed
 * package under `nodenext` and `bundler` resolution, and run (all but the browser blocks, which
 * test/e2e/web.e2e.ts runs in Chromium); `npx kerasless` runs; CommonJS `require` works. The
 * tarball's file list and package.json are checked too.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pack, type Packed } from "../../scripts/pack.js";
import { ROOT, allSnippets, makeWorkspace, withImport, type Snippet } from "../docs/snippets.js";

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(command: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: "1", npm_config_update_notifier: "false" },
  });
  if (result.error) throw result.error;
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(" ")} exited with ${result.status}:\n${result.stdout}\n${result.stderr}`,
  );
  return { stdout: result.stdout, stderr: result.stderr };
}

/** The snippets, with the file each is written to in the app, by how it is resolved and run. */
const snippets = allSnippets()
  .filter((s) => s.mode !== "covered")
  .map((s, i) => ({ ...s, file: `snippets/s${String(i).padStart(2, "0")}-${s.mode}.mts` }));
const inNode = (s: Snippet): boolean => s.mode === "node" || s.mode === "bun";

/** The runtime globals the Deno and Bun blocks call, declared for tsc and provided from node:fs to run. */
const RUNTIME_TYPES = `declare const Deno: { readFile(path: string): Promise<Uint8Array> };
declare const Bun: { file(path: string): { arrayBuffer(): Promise<ArrayBuffer> } };
`;
const RUNTIME_SHIM = `import { readFile } from "node:fs/promises";
globalThis.Deno = { readFile: async (path) => new Uint8Array(await readFile(path)) };
globalThis.Bun = { file: (path) => ({ arrayBuffer: async () => new Uint8Array(await readFile(path)).buffer }) };
`;
const WORKER_DRIVER = `import { readFile } from "node:fs/promises";
import worker from "./%FILE%";
const windows = JSON.parse(await readFile("io.json", "utf8")).inputs[0];
const env = { ASSETS: { fetch: async (url) => new Response(await readFile("." + new URL(url).pathname)) } };
const body = JSON.stringify({ inputs: [windows.data.slice(0, 12).reduce((rows, v, i) => {
  if (i % 3 === 0) rows.push([]);
  rows[rows.length - 1].push(v);
  return rows;
}, [])] });
const response = await worker.fetch(new Request("https://example.com/", { method: "POST", body }), env);
console.log(response.status, JSON.stringify(await response.json()), windows.shape.length);
`;

// skipLibCheck: our .d.ts files are checked in the nodenext project only (checking @types/node costs seconds).
const strict = { strict: true, target: "ES2022", lib: ["ES2022", "DOM"], types: ["node"], skipLibCheck: true };

describe("the packed package, installed in a fresh app", { timeout: 480_000 }, () => {
  let packed: Packed;
  let app: string;
  let out: string;

  before(async () => {
    out = makeWorkspace();
    packed = await pack(join(out, "tarball"));
    app = join(out, "app");
    mkdirSync(join(app, "snippets"), { recursive: true });
    for (const name of ["model.keras", "model.h5", "model.json", "model.weights.h5", "LSTM_sample.csv", "io.json"])
      writeFileSync(join(app, name), readFileSync(join(out, name)));
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    // The dependencies (and @types/node for tsc) as tarballs of the copies `npm ci` installed here:
    // the install then needs neither the registry nor cached registry metadata.
    const deps = ["fflate", "@types/node", "undici-types"].map((name) => join(ROOT, "node_modules", name));
    const depsDir = join(out, "deps");
    mkdirSync(depsDir);
    const packedDeps = JSON.parse(
      run(NPM, ["pack", "--json", "--ignore-scripts", "--pack-destination", depsDir, ...deps], ROOT).stdout,
    ) as { filename: string }[];
    const tarballs = [packed.tarball, ...packedDeps.map((d) => join(depsDir, d.filename))];
    run(NPM, ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs], app);
  });

  after(() => rmSync(out, { recursive: true, force: true }));

  test("the tarball: LICENSE, README, docs, dist with types per entry, no source maps, no tests or sources", () => {
    const files = packed.files;
    for (const f of ["LICENSE", "README.md", "package.json", "bin/kerasless.js", "docs/cli.md", "docs/errors.md"])
      assert.ok(files.includes(f), `${f} is in the tarball`);
    assert.deepEqual(
      files.filter((f) => f.endsWith(".map")),
      [],
      "no source maps (they would point at src/)",
    );
    assert.deepEqual(
      files.filter((f) => /^(?:src|test|scripts|bench|tools|wasm|examples)\//.test(f)),
      [],
    );
    for (const f of files.filter((f) => f.endsWith(".js") && f.startsWith("dist/"))) {
      const text = readFileSync(join(app, "node_modules/kerasless", f), "utf8");
      assert.ok(!text.includes("sourceMappingURL"), `${f} names no source map`);
    }
  });

  test("package.json: no scripts (no install script to approve), no dev dependencies, every export present", () => {
    const manifest = packed.manifest;
    assert.equal(manifest.scripts, undefined);
    assert.equal(manifest.devDependencies, undefined);
    assert.deepEqual(Object.keys(manifest.dependencies as object), ["fflate"], "the CLI's progress bar is our own");
    const targets: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === "string") targets.push(v.replace(/^\.\//, ""));
      else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk);
    };
    walk(manifest.exports);
    assert.ok(targets.includes("dist/browser/kerasless.min.js"), "the browser bundle is exported");
    assert.ok(targets.includes("dist/browser/kerasless-recurrent.min.js"), "the recurrent-only bundle is exported");
    assert.ok(targets.includes("dist/recurrent.js"), "kerasless/recurrent is exported");
    assert.ok(targets.includes("dist/node.d.ts"), "the node condition has its own types");
    for (const t of targets) assert.ok(packed.files.includes(t), `export target ${t} is in the tarball`);
  });

  test("every snippet type-checks strictly under nodenext and bundler resolution", () => {
    writeFileSync(join(app, "runtimes.d.ts"), RUNTIME_TYPES);
    for (const s of snippets) writeFileSync(join(app, s.file), withImport(s.code, "kerasless"));
    const project = (name: string, options: object, files: string[]): void => {
      const config = { compilerOptions: { ...strict, ...options }, files: ["runtimes.d.ts", ...files] };
      writeFileSync(join(app, name), JSON.stringify(config, null, 2));
      run(process.execPath, [TSC, "-p", name], app);
    };
    const all = snippets.map((s) => s.file);
    // nodenext: what a Node app compiled by tsc sees (the "node" condition); its output is run below.
    project("tsconfig.nodenext.json", { module: "nodenext", skipLibCheck: false, rootDir: ".", outDir: "out" }, all);
    // bundler: a bundle for Node or Bun resolves the "node" condition, one for browsers and Workers does not.
    const bundler = { module: "esnext", moduleResolution: "bundler", noEmit: true };
    const forNode = snippets.filter(inNode).map((s) => s.file);
    project("tsconfig.bundler-node.json", { ...bundler, customConditions: ["node"] }, forNode);
    writeFileSync(
      join(app, "snippets/browser-entry.mts"),
      'export { loadModel, Tensor } from "kerasless/browser";\n' +
        'export { loadModel as loadRecurrent, supportedLayers } from "kerasless/recurrent";\n' +
        'export { loadModel as loadRecurrentBundle } from "kerasless/browser/recurrent";\n',
    );
    const neutral = [...all.filter((f) => !forNode.includes(f)), "snippets/browser-entry.mts"];
    project("tsconfig.bundler.json", bundler, neutral);
  });

  test("the snippets run against the installed package (Node; Deno and Bun calls from node:fs)", () => {
    assert.ok(existsSync(join(app, "out")), "the nodenext project was compiled");
    writeFileSync(join(app, "runtimes-shim.mjs"), RUNTIME_SHIM);
    for (const s of snippets) {
      if (s.mode === "browser") continue; // needs a page and a server: test/e2e/web.e2e.ts
      const compiled = s.file.replace(/\.mts$/, ".mjs");
      let entry = join("out", compiled);
      if (s.mode === "worker") {
        entry = join("out", "snippets", `driver-${compiled.slice("snippets/".length)}`);
        writeFileSync(join(app, entry), WORKER_DRIVER.replace("%FILE%", compiled.slice("snippets/".length)));
      }
      const { stdout } = run(process.execPath, ["--import", "./runtimes-shim.mjs", entry], app);
      if (s.prints !== undefined) assert.match(stdout, s.prints, `${s.where}: output`);
      if (s.mode === "worker") assert.match(stdout, /^200 \{"shape":\[1,1\],"predictions":\[0\.56\d+\]\} 3\n$/);
    }
  });

  test("kerasless/recurrent and its browser bundle load the seed model, and run no convolution", () => {
    const script = (entry: string): string => `import { readFileSync } from "node:fs";
import { loadModel, supportedLayers } from "${entry}";
const io = JSON.parse(readFileSync("io.json", "utf8"));
const model = await loadModel(new Uint8Array(readFileSync("model.keras")));
const [out] = model.predict(io.inputs.map((t) => ({ shape: t.shape, data: t.data })));
console.log(out.data[0].toFixed(5), supportedLayers().some((d) => d.className === "Conv2D"));
`;
    for (const entry of ["kerasless/recurrent", "kerasless/browser/recurrent"]) {
      const file = `recurrent-${entry.replace(/\//g, "-")}.mjs`;
      writeFileSync(join(app, file), script(entry));
      assert.equal(run(process.execPath, [file], app).stdout, "0.56049 false\n", entry);
    }
  });

  test("npx kerasless runs the installed command", () => {
    const help = run(NPM, ["exec", "--offline", "--", "kerasless", "--help"], app).stdout;
    assert.match(help, /^kerasless: run Keras models/);
    const guide = /Full guide: (\S+)\n$/.exec(help)?.[1] ?? "";
    assert.equal(guide, join(app, "node_modules/kerasless/docs/cli.md"), "--help names the installed guide");
    assert.ok(existsSync(guide));
    const predicted = run(
      NPM,
      ["exec", "--offline", "--", "kerasless", "predict", "model.keras", "--input", "io.json"],
      app,
    );
    assert.deepEqual((JSON.parse(predicted.stdout) as { outputs: { shape: number[] }[] }).outputs[0].shape, [7, 1]);
  });

  test("CommonJS: require() on Node 20.19+; .cts files type-check (nodenext: require, node16: import())", () => {
    const { stdout } = run(process.execPath, ["-e", 'console.log(typeof require("kerasless").loadModelPool)'], app);
    assert.equal(stdout, "function\n");
    writeFileSync(
      join(app, "snippets/commonjs.cts"),
      'import kerasless = require("kerasless");\n' +
        "export const load: typeof kerasless.loadModelPool = kerasless.loadModelPool;\n",
    );
    const config = {
      compilerOptions: { ...strict, module: "nodenext", noEmit: true },
      files: ["snippets/commonjs.cts"],
    };
    writeFileSync(join(app, "tsconfig.cjs.json"), JSON.stringify(config));
    run(process.execPath, [TSC, "-p", "tsconfig.cjs.json"], app);
    // Under module node16 TypeScript refuses require() of an ES module; the README says: import().
    writeFileSync(
      join(app, "snippets/node16.cts"),
      'export const load = async () => (await import("kerasless")).loadModelPool;\n',
    );
    const node16 = { compilerOptions: { ...strict, module: "node16", noEmit: true }, files: ["snippets/node16.cts"] };
    writeFileSync(join(app, "tsconfig.node16.json"), JSON.stringify(node16));
    run(process.execPath, [TSC, "-p", "tsconfig.node16.json"], app);
  });
});
