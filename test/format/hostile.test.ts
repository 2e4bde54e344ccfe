/**
 * A corpus of broken and hostile model files, in every format: truncated, bit-flipped, empty,
 * random, zip bombs, deeply nested, prototype-polluting, code-carrying, unknown layers and
 * shape mismatches. Each must end in a result or a KeraslessError with a one-line message
 * naming the file, through the library and through the CLI (exit 1, one stderr line).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { unzipSync, zipSync } from "fflate";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { assertOneErrorLine, cli, tempDir } from "../cli/helpers.js";
import { sharedKernelFile } from "../fuzz/structures/weights.js";
import { FIXTURES } from "../helpers.js";
import {
  SEED_INPUT,
  deepConfig,
  encode,
  flipBits,
  hostileKeys,
  keras2Lambda,
  kerasWith,
  legacyH5With,
  nested,
  nestedModels,
  prototypeIntact,
  read,
  seed,
  seededBytes,
  withJson,
  zipBomb,
} from "./hostile-files.js";

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
  {
    // Issue 18 (test/format/weights-budgets.test.ts has the shared-kernel case, which spends its
    // whole 16 MiB budget inflating and takes ~1 s).
    name: "legacy .h5 whose weight_names list one weight twice",
    file: "repeated-weight.h5",
    model: sharedKernelFile(1, 2048, ["kernel", "kernel"]),
    code: "E_HDF5",
    pattern: /list one weight twice/,
  },
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
  // 150 nested models fit in the JSON depth limit: they are built (no stack overflow) and then
  // the weights are not where they would be.
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
    // Keys a layer does not know are refused (as Keras refuses unknown keyword arguments), and
    // named as plain keys: nothing is polluted on the way.
    name: "__proto__/constructor/prototype keys in the config (.keras)",
    file: "proto.keras",
    model: kerasWith(hostileKeys()),
    code: "E_UNSUPPORTED",
    pattern: /layer "lstm" \(LSTM\): config keys "__proto__", "prototype" are not options/,
  },
  {
    name: "__proto__/constructor/prototype keys in the config (.h5)",
    file: "proto.h5",
    model: legacyH5With(hostileKeys()),
    code: "E_UNSUPPORTED",
    pattern: /layer "lstm" \(LSTM\): config keys "__proto__", "prototype" are not options/,
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
    pattern: new RegExp(
      /layer "lstm" \(LSTM\): its output shape \[None, 2147483648\] /.source +
        /holds 2147483648 values per sample, more than kerasless allows/.source,
    ),
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
      `layer "big" \\(${className}\\): its output shape \\[None, \\d+, 3\\] holds \\d+ values ` +
        `per sample, more than kerasless allows \\(134217728\\)`,
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
