/**
 * Names a file controls that look like Object.prototype members are ordinary names, and nothing
 * in the library evaluates code or compiles WebAssembly it did not build itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { SEED_INPUT, encode, prototypeIntact, seed } from "./hostile-files.js";

test("layers and inputs named like Object.prototype members load and compute like any other name", () => {
  const reference = loadModelFromBytes(
    { name: "model.json", bytes: encode(seed.json) },
    { name: "w.h5", bytes: seed.weights },
  ).predict(SEED_INPUT)[0];
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "prototype", "valueOf"]) {
    const json = JSON.parse(seed.json);
    json.config.layers[0].config.name = name;
    json.config.layers[1].config.name = `${name}_1`;
    json.config.layers[2].config.name = name === "__proto__" ? "__proto___" : name + "_2";
    const model = loadModelFromBytes(
      { name: "model.json", bytes: encode(JSON.stringify(json)) },
      { name: "w.h5", bytes: seed.weights },
    );
    assert.equal(model.inputs[0].name, name);
    // A record keyed by the input's name (JSON.parse makes "__proto__" an own key).
    const record = JSON.parse(
      `{${JSON.stringify(name)}: ${JSON.stringify({ shape: SEED_INPUT.shape, data: [...SEED_INPUT.data] })}}`,
    );
    assert.deepEqual([...model.predict(record)[0].data], [...reference.data], name);
    assert.deepEqual([...model.predict(SEED_INPUT)[0].data], [...reference.data], name);
    // A plain record without that key is missing the input, whatever its prototype holds.
    assert.throws(
      () => model.predict({} as never),
      (e: unknown) => e instanceof KeraslessError,
    );
  }
  prototypeIntact();
});

test("nothing in the library evaluates code: no eval, Function constructor, computed import or require in src/", () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") || entry.name.endsWith(".js")) files.push(path);
    }
  };
  walk(new URL("../../src/", import.meta.url).pathname);
  assert.ok(files.length > 20);
  for (const file of files) {
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    // A dynamic import of a fixed package name (the CLI's optional progress bar) loads code, not data.
    assert.doesNotMatch(
      code,
      new RegExp(
        /(?<![.\w])(eval|Function|require)\s*\(|(?<![.\w])import\s*\(\s*(?!["'][\w@/.-]+["']\s*\))/.source +
          /|\bsetTimeout\s*\(\s*["'`]/.source,
      ),
      file,
    );
    // WebAssembly is compiled only from the kernels built from wasm/ in this repo: the core's, and
    // the Node kernel team's (whose workers instantiate the module the calling thread compiled).
    const compiled = /\bWebAssembly\.(?:compile|instantiate|validate)\s*\(|new\s+WebAssembly\.Module\s*\(/.test(code);
    const instantiated = /new\s+WebAssembly\.Instance\s*\(/.test(code);
    if (compiled) {
      const allowed: Record<string, RegExp> = {
        // A kernel family's embedded build (CORE_KERNELS, src/kernels/conv/kernels.ts), or the relaxed
        // build an entry provided (the Node entry's embedded constants).
        "src/kernels/wasm.ts":
          /const relaxed = kernelBytes\(relaxedText\);[\s\S]*const simd = kernelBytes\(family\.simd128\);/,
        // The relaxed-SIMD build or the SIMD128 build, both embedded constants.
        "src/node/kernel-threads.ts": new RegExp(
          /\? WASM_THREADS_RELAXED_KERNELS_BASE64 : WASM_THREADS_KERNELS_BASE64;\s+/.source +
            /const module = new WebAssembly\.Module\(kernelBytes\(base64\)\)/.source,
        ),
      };
      const rule = Object.entries(allowed).find(([path]) => file.endsWith(path));
      assert.ok(rule !== undefined, `${file} compiles WebAssembly`);
      assert.match(code, rule[1]);
    }
    if (instantiated) {
      assert.ok(
        [
          "src/kernels/recurrent/wasm-sequence.ts",
          "src/kernels/recurrent/conv-lstm.ts",
          "src/kernels/gemm/wasm.ts",
          "src/kernels/conv/wasm-depthwise.ts",
          "src/node/kernel-threads-worker.js",
        ].some((path) => file.endsWith(path)),
        `${file} instantiates WebAssembly`,
      );
    }
  }
});
