/**
 * A corpus of broken and hostile model files, in every format: truncated, bit-flipped, empty,
 * random, zip bombs, deeply nested, prototype-polluting, code-carrying, unknown layers and
 * shape mismatches. Each must end in a result or a KeraslessError with a one-line message
 * naming the file, through the library and through the CLI (exit 1, one stderr line).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Deflate, unzipSync, zipSync } from "fflate";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { assertOneErrorLine, cli, tempDir } from "../cli/helpers.js";
import { FIXTURES } from "../helpers.js";
import { H5Builder, VLEN_STRING, attribute, vlenRefs } from "../io/hdf5-builder.js";

const seedDir = `${FIXTURES}seed/`;
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));
const seed = {
  keras: read(`${seedDir}model.keras`),
  h5: read(`${seedDir}model.h5`),
  json: readFileSync(`${seedDir}model.json`, "utf8"),
  weights: read(`${seedDir}model.weights.h5`),
};
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const SEED_INPUT = {
  shape: [1, 4, 3],
  data: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]),
};

/** A .keras file with this config.json (and the seed's weights). */
function kerasWith(config: string): Uint8Array {
  const members = unzipSync(seed.keras);
  return zipSync({ ...members, "config.json": encode(config) }, { level: 0 });
}

/** A legacy .h5 file whose model_config attribute is `config` (weights group empty). */
function legacyH5With(config: string): Uint8Array {
  const b = new H5Builder();
  const text = encode(config);
  const heap = b.globalHeap([text, encode("3.15.1")]);
  const weights = b.group([], [attribute("layer_names", VLEN_STRING, [0], [])]);
  const root = b.group(
    [["model_weights", weights]],
    [
      attribute("model_config", VLEN_STRING, [], vlenRefs([[text.length, heap, 1]])),
      attribute("keras_version", VLEN_STRING, [], vlenRefs([[6, heap, 2]])),
    ],
  );
  return b.finish(root);
}

/** Deflate stream of `megabytes` MiB of zeros (one sync-flushed 1 MiB block, repeated). */
function zerosDeflate(megabytes: number): Uint8Array {
  let block = new Uint8Array(0);
  const d = new Deflate({ level: 9 }, (c) => {
    const joined = new Uint8Array(block.length + c.length);
    joined.set(block);
    joined.set(c, block.length);
    block = joined;
  });
  d.push(new Uint8Array(1024 * 1024));
  d.flush(true);
  const out = new Uint8Array(block.length * megabytes + 5);
  for (let i = 0; i < megabytes; i++) out.set(block, i * block.length);
  out.set([0x01, 0x00, 0x00, 0xff, 0xff], block.length * megabytes);
  return out;
}

/** A .keras whose model.weights.h5 member is a deflated bomb declaring `declared` bytes. */
function zipBomb(declared: number): Uint8Array {
  const stream = zerosDeflate(1024);
  const name = encode("model.weights.h5");
  const u16 = (v: number) => [v & 255, (v >> 8) & 255];
  const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
  const local = [
    0x50,
    0x4b,
    3,
    4,
    ...u16(20),
    0,
    0,
    ...u16(8),
    0,
    0,
    0,
    0,
    ...u32(0),
    ...u32(stream.length),
    ...u32(declared),
    ...u16(name.length),
    0,
    0,
    ...name,
  ];
  const central = [
    0x50,
    0x4b,
    1,
    2,
    ...u16(20),
    ...u16(20),
    0,
    0,
    ...u16(8),
    0,
    0,
    0,
    0,
    ...u32(0),
    ...u32(stream.length),
    ...u32(declared),
    ...u16(name.length),
    ...new Array(12).fill(0),
    ...u32(0),
    ...name,
  ];
  const at = local.length + stream.length;
  const end = [0x50, 0x4b, 5, 6, 0, 0, 0, 0, ...u16(1), ...u16(1), ...u32(central.length), ...u32(at), 0, 0];
  const out = new Uint8Array(at + central.length + end.length);
  out.set(local);
  out.set(stream, local.length);
  out.set(central, at);
  out.set(end, at + central.length);
  return out;
}

function seededBytes(n: number, seedValue: number): Uint8Array {
  let s = seedValue >>> 0;
  return Uint8Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
}

function flipBits(bytes: Uint8Array, count: number, seedValue: number): Uint8Array {
  const out = bytes.slice();
  const r = seededBytes(count * 4, seedValue);
  for (let i = 0; i < count; i++)
    out[((r[4 * i] << 16) | (r[4 * i + 1] << 8) | r[4 * i + 2]) % out.length] ^= 1 << (r[4 * i + 3] % 8);
  return out;
}

const nested = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const deepConfig = (depth: number): string => {
  const json = JSON.parse(seed.json);
  json.config.layers[1].config.deep = "@@";
  return JSON.stringify(json).replace('"@@"', nested(depth));
};
const withJson = (edit: (json: any) => void): string => {
  const json = JSON.parse(seed.json);
  edit(json);
  return JSON.stringify(json);
};
const hostileKeys = (): string =>
  // Raw text: JSON.stringify cannot write a "__proto__" key from an object literal.
  seed.json
    .replace(
      '{"module": "keras.layers", "class_name": "LSTM", "config": {',
      '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "module": "keras.layers", "class_name": "LSTM", "config": {"__proto__": {"units": 99, "polluted": 3}, "prototype": {"polluted": 4}, ',
    )
    .replace(
      '"class_name": "Sequential", "config": {',
      '"class_name": "Sequential", "__proto__": {"polluted": 5}, "config": {"__proto__": {"layers": []}, ',
    );

interface HostileCase {
  name: string;
  model: Uint8Array;
  file: string;
  weights?: Uint8Array;
  /** The error code expected; undefined when a result is fine too (e.g. flipped weight bits). */
  code?: string;
  pattern?: RegExp;
}

const cases: HostileCase[] = [
  { name: "empty file", file: "empty.keras", model: new Uint8Array(0), code: "E_FORMAT", pattern: /the file is empty/ },
  { name: "random bytes", file: "random.bin", model: seededBytes(4096, 1), code: "E_FORMAT" },
  {
    name: "random bytes after a zip signature",
    file: "random.keras",
    model: Uint8Array.from([0x50, 0x4b, 3, 4, ...seededBytes(4096, 2)]),
    code: "E_ZIP",
  },
  {
    name: "random bytes after an HDF5 signature",
    file: "random.h5",
    model: Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, ...seededBytes(4096, 3)]),
  },
  {
    name: "honest zip bomb (1 GiB declared)",
    file: "bomb.keras",
    model: zipBomb(2 ** 30),
    code: "E_LIMIT",
    pattern: /decompress to more than/,
  },
  {
    name: "lying zip bomb (1 GiB declared as 4 KiB)",
    file: "liar.keras",
    model: zipBomb(4096),
    code: "E_ZIP",
    pattern: /inflates to more than its declared 4096 bytes/,
  },
  {
    name: "config nested 20,000 deep (model.json)",
    file: "deep.json",
    model: encode(deepConfig(20000)),
    weights: seed.weights,
    code: "E_LIMIT",
    pattern: /nested more than 512 levels/,
  },
  {
    name: "config nested 20,000 deep (.keras)",
    file: "deep.keras",
    model: kerasWith(deepConfig(20000)),
    code: "E_LIMIT",
    pattern: /config\.json is nested more than 512 levels/,
  },
  {
    name: "config nested 20,000 deep (.h5)",
    file: "deep.h5",
    model: legacyH5With(deepConfig(20000)),
    code: "E_LIMIT",
    pattern: /model_config attribute is nested more than 512 levels/,
  },
  {
    name: "metadata nested 20,000 deep (.keras)",
    file: "deepmeta.keras",
    model: zipSync({ ...unzipSync(seed.keras), "metadata.json": encode(nested(20000)) }, { level: 0 }),
    code: "E_LIMIT",
  },
  // 150 nested models fit in the JSON depth limit: they are built (no stack overflow) and then the weights are not where they would be.
  {
    name: "models nested 150 deep",
    file: "nested-models.json",
    model: encode(nestedModels(150)),
    weights: seed.weights,
    code: "E_WEIGHTS_MISSING",
  },
  {
    name: "models nested 200 deep",
    file: "nested-models-200.json",
    model: encode(nestedModels(200)),
    weights: seed.weights,
    code: "E_LIMIT",
    pattern: /nested more than 512 levels/,
  },
  {
    name: "__proto__/constructor/prototype keys in the config (.keras)",
    file: "proto.keras",
    model: kerasWith(hostileKeys()),
  },
  {
    name: "__proto__/constructor/prototype keys in the config (.h5)",
    file: "proto.h5",
    model: legacyH5With(hostileKeys()),
    code: "E_WEIGHTS_MISSING",
  },
  {
    name: "unknown layer class",
    file: "unknown.json",
    model: encode(withJson((j) => (j.config.layers[1].class_name = "QuantumLSTM"))),
    weights: seed.weights,
    code: "E_UNSUPPORTED",
    pattern: /layer "lstm" \(QuantumLSTM\): layer class "QuantumLSTM" is not supported/,
  },
  {
    name: "config units disagree with the weights",
    file: "units.json",
    model: encode(withJson((j) => (j.config.layers[1].config.units = 7))),
    weights: seed.weights,
    code: "E_WEIGHTS_SHAPE",
    pattern: /layer "lstm" \(LSTM\): weight "kernel" has shape \[3, 12\] in the file, but the config implies \[3, 28\]/,
  },
  {
    name: "absurd units (2^31)",
    file: "units-huge.json",
    model: encode(withJson((j) => (j.config.layers[1].config.units = 2 ** 31))),
    weights: seed.weights,
    code: "E_LIMIT",
    pattern:
      /layer "lstm" \(LSTM\): its output shape \[None, 2147483648\] holds 2147483648 values per sample, more than kerasless allows/,
  },
  ...(
    [
      ["RepeatVector", { n: 2 ** 31 }, 2],
      ["UpSampling1D", { size: 2 ** 31 }, 1],
      ["ZeroPadding1D", { padding: [2 ** 31, 0] }, 1],
      ["Conv1DTranspose", { filters: 3, kernel_size: 1, strides: 2 ** 30 }, 1],
    ] as const
  ).map(([className, config, at]): HostileCase => ({
    name: `${className} declaring an output no input could fill`,
    file: `${className}.json`,
    model: encode(
      withJson((j) =>
        j.config.layers.splice(at, 0, {
          module: "keras.layers",
          class_name: className,
          config: { name: "big", ...config },
        }),
      ),
    ),
    weights: seed.weights,
    code: "E_LIMIT",
    pattern: new RegExp(
      `layer "big" \\(${className}\\): its output shape \\[None, \\d+, 3\\] holds \\d+ values per sample, more than kerasless allows \\(134217728\\)`,
    ),
  })),
  {
    name: "negative and fractional units",
    file: "units-bad.json",
    model: encode(withJson((j) => (j.config.layers[2].config.units = -1.5))),
    weights: seed.weights,
    code: "E_CONFIG",
    pattern: /layer "dense" \(Dense\): config "units" should be an integer/,
  },
  {
    name: "input shape of size 2^40",
    file: "shape-huge.json",
    model: encode(withJson((j) => (j.config.layers[0].config.batch_shape = [null, 2 ** 40, 3]))),
    weights: seed.weights,
    code: "E_LIMIT",
    pattern: /values per sample/,
  },
  {
    name: "Keras 3 Lambda (serialized Python bytecode)",
    file: "lambda.json",
    model: encode(
      withJson((j) =>
        j.config.layers.splice(2, 0, {
          module: "keras.layers",
          class_name: "Lambda",
          config: {
            name: "run_me",
            function: {
              class_name: "__lambda__",
              config: {
                code: "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wgAAACXAGQBUwApAk7pAQAAAKkA",
                defaults: null,
                closure: null,
              },
            },
          },
        }),
      ),
    ),
    weights: seed.weights,
    code: "E_UNSUPPORTED",
    pattern: /layer "run_me" \(Lambda\): Lambda layers hold Python code, which kerasless never runs/,
  },
  {
    name: "Keras 2 Lambda (marshal'd function)",
    file: "lambda2.json",
    model: encode(keras2Lambda()),
    weights: read(`${FIXTURES}keras2/lstm_default/weights.h5`),
    code: "E_UNSUPPORTED",
    pattern: /layer "marshalled" \(Lambda\): Lambda layers hold Python code/,
  },
  {
    name: "custom layer class from another module",
    file: "custom.json",
    model: encode(
      withJson(
        (j) => (j.config.layers[1] = { ...j.config.layers[1], module: "evil.layers", registered_name: "Evil>LSTM" }),
      ),
    ),
    weights: seed.weights,
    code: "E_UNSUPPORTED",
    pattern: /custom layer class "Evil>LSTM" is not supported \(custom objects are never executed\)/,
  },
  {
    name: "activation naming a Python builtin",
    file: "eval.json",
    model: encode(
      withJson(
        (j) =>
          (j.config.layers[2].config.activation = {
            module: "builtins",
            class_name: "function",
            config: "eval",
            registered_name: "function",
          }),
      ),
    ),
    weights: seed.weights,
    code: "E_UNSUPPORTED",
    pattern: /activation .*eval.* is not a built-in Keras 3 activation \(custom functions are never executed\)/,
  },
];
for (const fraction of [0, 0.01, 0.3, 0.7, 0.99]) {
  for (const [format, bytes] of [
    ["keras", seed.keras],
    ["h5", seed.h5],
  ] as const) {
    cases.push({
      name: `${format} truncated to ${fraction * 100}%`,
      file: `cut${fraction}.${format}`,
      model: bytes.slice(0, Math.floor(bytes.length * fraction)),
      code: fraction === 0 ? "E_FORMAT" : undefined,
    });
  }
  cases.push({
    name: `weights truncated to ${fraction * 100}%`,
    file: "model.json",
    model: encode(seed.json),
    weights: seed.weights.slice(0, Math.floor(seed.weights.length * fraction)),
  });
}
for (let i = 0; i < 40; i++) {
  cases.push({ name: `keras with 8 flipped bits (#${i})`, file: `flip${i}.keras`, model: flipBits(seed.keras, 8, i) });
  cases.push({ name: `h5 with 8 flipped bits (#${i})`, file: `flip${i}.h5`, model: flipBits(seed.h5, 8, 100 + i) });
}

/** `depth` Sequential models, each the only layer of the next. */
function nestedModels(depth: number): string {
  let model: any = JSON.parse(seed.json);
  for (let i = 0; i < depth; i++) {
    model = {
      module: "keras",
      class_name: "Sequential",
      config: {
        name: `outer_${i}`,
        layers: [
          { module: "keras.layers", class_name: "InputLayer", config: { batch_shape: [null, 4, 3], name: `in_${i}` } },
          model,
        ],
      },
    };
  }
  return JSON.stringify(model);
}

function keras2Lambda(): string {
  const json = JSON.parse(readFileSync(`${FIXTURES}keras2/lstm_default/model.json`, "utf8"));
  json.config.layers.splice(2, 0, {
    class_name: "Lambda",
    config: {
      name: "marshalled",
      trainable: true,
      dtype: "float32",
      function: [
        "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMIAAAAdABkAYMBUwApAk7aAmxzKQHaBGV2YWwpAdoBeKkAcgQAAAD6CDxzdHJpbmc+2gg8bGFtYmRhPgEAAADzAAAAAA==",
        null,
        null,
      ],
      function_type: "lambda",
      module: "__main__",
      output_shape: null,
      output_shape_type: "raw",
      output_shape_module: null,
      arguments: {},
    },
  });
  return JSON.stringify(json);
}

const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const prototypeIntact = (): void => {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
};

describe("hostile model files, through the library", () => {
  for (const c of cases) {
    test(c.name, () => {
      const start = performance.now();
      try {
        const model = loadModelFromBytes(
          { name: c.file, bytes: c.model },
          c.weights === undefined ? undefined : { name: "weights.h5", bytes: c.weights },
        );
        model.summary();
        model.predict(SEED_INPUT);
        assert.equal(c.code, undefined, `expected ${c.code}, the file loaded and ran`);
      } catch (e) {
        assert.ok(e instanceof KeraslessError, `not a KeraslessError: ${e instanceof Error ? e.stack : String(e)}`);
        if (c.code !== undefined) assert.equal(e.code, c.code, e.message);
        if (c.pattern !== undefined) assert.match(e.message, c.pattern);
        assert.doesNotMatch(e.message, /[\n\r]/);
        // Load errors name the file; predict errors name the input instead.
        assert.ok(e.file !== undefined || e.code.startsWith("E_INPUT"), `no file named: ${e.message}`);
      }
      assert.ok(performance.now() - start < 2000, "took over 2 s");
      prototypeIntact();
    });
  }
});

describe("hostile model files, through the CLI: exit 0, or exit 1 with one stderr line", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const input = tmp.path("input.json");
  writeFileSync(input, JSON.stringify({ shape: SEED_INPUT.shape, data: [...SEED_INPUT.data] }));
  for (const c of cases) {
    test(c.name, async () => {
      const model = tmp.path(c.file);
      writeFileSync(model, c.model);
      const weightArgs = c.weights === undefined ? [] : ["--weights", tmp.path(`${c.file}.weights.h5`)];
      if (c.weights !== undefined) writeFileSync(tmp.path(`${c.file}.weights.h5`), c.weights);
      for (const argv of [
        ["inspect", model, ...weightArgs],
        ["predict", model, ...weightArgs, "--input", input],
      ]) {
        const run = await cli(...argv);
        if (run.code === 0) assert.equal(c.code, undefined, `${argv[0]}: expected ${c.code}, exit 0`);
        else {
          assert.equal(run.code, 1);
          const line = assertOneErrorLine(run.stderr);
          assert.doesNotMatch(line, /internal error/);
          if (c.pattern !== undefined) assert.match(line, c.pattern);
        }
      }
      prototypeIntact();
    });
  }
});

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
      /(?<![.\w])(eval|Function|require)\s*\(|(?<![.\w])import\s*\(\s*(?!["'][\w@/.-]+["']\s*\))|\bsetTimeout\s*\(\s*["'`]/,
      file,
    );
    // WebAssembly is compiled only from the kernels built from wasm/ in this repo: the core's, and
    // the Node kernel team's (whose workers instantiate the module the calling thread compiled).
    const compiled = /\bWebAssembly\.(compile|instantiate|validate)\s*\(|new\s+WebAssembly\.Module\s*\(/.test(code);
    const instantiated = /new\s+WebAssembly\.Instance\s*\(/.test(code);
    if (compiled) {
      const allowed: Record<string, RegExp> = {
        "src/kernels/wasm.ts": /decodeBase64\(WASM_KERNELS_BASE64\)/,
        "src/node/kernel-threads.ts":
          /new WebAssembly\.Module\(Buffer\.from\(WASM_THREADS_KERNELS_BASE64, "base64"\)\)/,
      };
      const rule = Object.entries(allowed).find(([path]) => file.endsWith(path));
      assert.ok(rule !== undefined, `${file} compiles WebAssembly`);
      assert.match(code, rule[1]);
    }
    if (instantiated) {
      assert.ok(
        ["src/kernels/wasm.ts", "src/kernels/gemm/wasm.ts", "src/node/kernel-threads-worker.js"].some((path) =>
          file.endsWith(path),
        ),
        `${file} instantiates WebAssembly`,
      );
    }
  }
});
