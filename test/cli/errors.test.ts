import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { assertOneErrorLine, cli, seed, tempDir } from "./helpers.js";

const tmp = tempDir();
after(() => tmp.cleanup());

describe("kerasless errors: exit code 1, one stderr line, no stack trace", () => {
  test("a missing input file", async () => {
    const missing = tmp.path("nope.npy");
    const run = await cli("predict", seed("model.keras"), "--input", missing);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      assertOneErrorLine(run.stderr),
      `kerasless: ${missing}: cannot read the file (ENOENT: no such file or directory, open '${missing}')`,
    );
  });

  test("a missing model file", async () => {
    const run = await cli("inspect", tmp.path("missing.keras"));
    assert.equal(run.code, 1);
    assert.match(assertOneErrorLine(run.stderr), /^kerasless: \S*missing\.keras: cannot read the file \(ENOENT/);
  });

  test("a model file that is not a model", async () => {
    const bad = tmp.path("bad.keras");
    writeFileSync(bad, "this is not a Keras model\n");
    const run = await cli("predict", bad, "--input", seed("input_0.npy"));
    assert.equal(run.code, 1);
    assert.match(
      assertOneErrorLine(run.stderr),
      new RegExp(`^kerasless: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a Keras model file`),
    );
    const zip = tmp.path("truncated.keras");
    writeFileSync(zip, Buffer.from("PK\x03\x04 truncated zip", "latin1"));
    const truncated = await cli("inspect", zip);
    assert.equal(truncated.code, 1);
    assert.match(assertOneErrorLine(truncated.stderr), /truncated\.keras: /);
  });

  test("a malformed .npy input", async () => {
    const bad = tmp.path("lying.npy");
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 4, 3), }".padEnd(117) + "\n";
    writeFileSync(
      bad,
      Buffer.concat([
        Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]),
        Buffer.from(header),
        Buffer.alloc(16),
      ]),
    );
    const run = await cli("predict", seed("model.keras"), "--input", bad);
    assert.equal(run.code, 1);
    assert.match(
      assertOneErrorLine(run.stderr),
      /lying\.npy: the \.npy header's shape \(7, 4, 3\) needs more data than the 16 bytes the file holds$/,
    );
  });

  test("unknown options and missing required options are usage errors pointing to --help", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["predict", seed("model.keras"), "--input", seed("input_0.npy"), "--frobnicate"],
        /^kerasless: unknown option --frobnicate; see 'kerasless predict --help'$/,
      ],
      [["inspect", seed("model.keras"), "-x"], /^kerasless: unknown option -x; see 'kerasless inspect --help'$/],
      [["predict", seed("model.keras")], /^kerasless: missing --input FILE .*--help'$/],
      [["predict", seed("model.keras"), "--input"], /^kerasless: option --input needs a value; see/],
      [
        ["predict", seed("model.keras"), "--csv", seed("LSTM_sample.csv"), "--features", "X1"],
        /^kerasless: --csv needs --look-back N/,
      ],
      [
        ["predict", seed("model.keras"), "--csv", seed("LSTM_sample.csv"), "--look-back", "0", "--features", "X1"],
        /--look-back must be a positive whole number/,
      ],
      [
        ["verify", seed("model.keras"), "--input", seed("input_0.npy")],
        /^kerasless: missing --expected FILE; see 'kerasless verify --help'$/,
      ],
      [["inspect"], /^kerasless: missing the MODEL file argument; see/],
      [["inspect", seed("model.keras"), seed("model.h5")], /^kerasless: unexpected argument/],
      [["frobnicate"], /^kerasless: unknown command 'frobnicate' .*; see 'kerasless --help'$/],
      [["--frobnicate"], /^kerasless: unknown option --frobnicate .*; see 'kerasless --help'$/],
      [[], /^kerasless: missing a command .*--help'$/],
    ];
    for (const [argv, pattern] of cases) {
      const run = await cli(...argv);
      assert.equal(run.code, 1, argv.join(" "));
      assert.equal(run.stdout, "");
      assert.match(assertOneErrorLine(run.stderr), pattern);
    }
  });

  test("--debug adds the stack trace", async () => {
    const run = await cli("predict", seed("model.keras"), "--input", tmp.path("nope.npy"), "--debug");
    assert.equal(run.code, 1);
    const [first, ...rest] = run.stderr.trimEnd().split("\n");
    assert.match(first, /^kerasless: \S+nope\.npy: cannot read the file/);
    assert.ok(
      rest.some((l) => /^\s+at /.test(l)),
      run.stderr,
    );
  });

  test("a model with many unsupported layers: one line naming every missing class, with counts", async () => {
    const json = JSON.parse(readFileSync(seed("model.json"), "utf8"));
    const dense = json.config.layers[2];
    const fake = (className: string, name: string) => ({ ...dense, class_name: className, config: { name } });
    json.config.layers.splice(2, 0, ...Array.from({ length: 58 }, (_, i) => fake("SpectralConv2D", `spectral_${i}`)));
    json.config.layers.splice(60, 0, fake("HolographicPooling2D", "holographic_pool"));
    const file = tmp.path("many.json");
    writeFileSync(file, JSON.stringify(json));
    const run = await cli("inspect", file, "--weights", seed("model.weights.h5"));
    assert.equal(run.code, 1);
    const line = assertOneErrorLine(run.stderr);
    assert.match(line, /the model uses 59 unsupported features: 58 layers \(SpectralConv2D\) "spectral_0", /);
    assert.match(line, /layer "holographic_pool" \(HolographicPooling2D\): layer class "HolographicPooling2D"/);
  });
});

describe("kerasless help and version", () => {
  test("--help, <command> --help and help <command>", async () => {
    const main = await cli("--help");
    assert.equal(main.code, 0);
    assert.match(main.stdout, /kerasless predict MODEL/);
    assert.match(main.stdout, /kerasless inspect MODEL/);
    assert.match(main.stdout, /kerasless verify +MODEL/);
    assert.match(main.stdout, /kerasless stream +MODEL/);
    for (const command of ["predict", "inspect", "verify", "stream"]) {
      const help = await cli(command, "--help");
      assert.equal(help.code, 0);
      assert.equal(help.stderr, "");
      assert.match(help.stdout, new RegExp(`^Usage:\\n {2}kerasless ${command} MODEL`));
      assert.equal((await cli("help", command)).stdout, help.stdout);
      // --help wins over anything else on the line.
      assert.equal((await cli(command, "--bogus", "-h")).code, 0);
    }
    assert.match((await cli("predict", "--help")).stdout, /--look-back N/);
    assert.match((await cli("verify", "--help")).stdout, /--plot FILE\.svg/);
  });

  test("--version prints package.json's version", async () => {
    const { version } = JSON.parse(
      (await import("node:fs")).readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const run = await cli("--version");
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `${version}\n`);
  });
});
