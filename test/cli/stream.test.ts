/**
 * kerasless stream: --input stacks every step's outputs on axis 1 and equals Keras' predict on
 * sequence outputs (the last step on the others), for every fixture that can stream; --csv
 * prints one prediction per row, as soon as the row has arrived.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadModel } from "../../src/node.js";
import { listFixtures, type Fixture, type FixtureTensor } from "../helpers.js";
import { ROOT, assertOneErrorLine, cli, cliWith, readJson, seed, tempDir, type JsonTensor } from "./helpers.js";

const tmp = tempDir();
after(() => tmp.cleanup());

// The CLI writes NaN and the infinities as the strings "NaN", "Infinity", "-Infinity".
const parity = (value: number | string, expected: number): boolean => {
  const got = Number(value);
  return (
    got === expected ||
    Math.abs(got - expected) <= 1e-5 + 1e-4 * Math.abs(expected) ||
    (Number.isNaN(got) && Number.isNaN(expected))
  );
};

function modelArgs(fixture: Fixture): string[] {
  const format = fixture.formats[0];
  return format.weights === undefined
    ? [join(fixture.dir, format.model)]
    : [join(fixture.dir, format.model), "--weights", join(fixture.dir, format.weights)];
}

/** Output k of a stacked stream output [batch, time, ...] against Keras' predict output. */
function assertStreamMatches(got: JsonTensor, expected: FixtureTensor, time: number, what: string): void {
  const [batch] = expected.shape;
  if (got.shape.length === expected.shape.length) {
    // A sequence output (the others gain a time axis): every step equals Keras' slice of it.
    assert.deepEqual(got.shape, expected.shape, `${what}: shape`);
    got.data.forEach((v, i) =>
      assert.ok(parity(v, expected.data[i]), `${what}[${i}]: ${v} vs Keras ${expected.data[i]}`),
    );
    return;
  }
  // Any other output: stacked on axis 1; its last step is what predict gives for the whole sequence.
  const inner = expected.data.length / batch;
  assert.deepEqual(got.shape, [batch, time, ...expected.shape.slice(1)], `${what}: shape`);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < inner; j++) {
      const v = got.data[(b * time + time - 1) * inner + j];
      assert.ok(
        parity(v, expected.data[b * inner + j]),
        `${what}: sample ${b} value ${j}: ${v} vs Keras ${expected.data[b * inner + j]}`,
      );
    }
  }
}

describe("kerasless stream --input", () => {
  const streamed: string[] = [];
  const refused: string[] = [];
  for (const suite of ["seed", "real-world", "keras3", "keras2"]) {
    for (const fixture of listFixtures(suite)) {
      test(`stacked steps equal Keras: ${fixture.id}`, async () => {
        const model = await loadModel(
          modelArgs(fixture)[0],
          fixture.formats[0].weights === undefined ? {} : { weights: join(fixture.dir, fixture.formats[0].weights) },
        );
        const chunk = fixture.chunks[0];
        const input = tmp.path(`${fixture.id.replace("/", "-")}-in.json`);
        writeFileSync(
          input,
          JSON.stringify({ inputs: chunk.inputs }, (_, v) =>
            typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
          ),
        );
        let streamable = true;
        try {
          model.stream();
        } catch {
          streamable = false;
        }
        const run = await cli("stream", ...modelArgs(fixture), "--input", input);
        if (!streamable) {
          // Refused with one line naming what cannot stream.
          assert.equal(run.code, 1);
          assert.match(
            assertOneErrorLine(run.stderr),
            /cannot stream|needs the whole sequence|reads the sequence from its end|has no time axis/,
          );
          refused.push(fixture.id);
          return;
        }
        assert.equal(run.code, 0, run.stderr);
        streamed.push(fixture.id);
        const outputs = (JSON.parse(run.stdout) as { outputs: JsonTensor[] }).outputs;
        assert.deepEqual(
          outputs.map((o) => o.name),
          model.outputs.map((o) => o.name),
        );
        const time = chunk.inputs[0].shape[1];
        outputs.forEach((o, k) => assertStreamMatches(o, chunk.outputs[k], time, `${fixture.id} output ${o.name}`));
      });
    }
  }

  test("return_sequences models, stacked recurrent layers and causal Conv1D are among the streamed fixtures", () => {
    for (const id of [
      "seed/seed_lstm_sample",
      "keras3/lstm_return_sequences",
      "keras3/lstm_return_state",
      "keras2/simplernn_default",
      "real-world/tfkeras2.4-conv1d-causal-stacked-lstm",
    ]) {
      const exists = listFixtures(id.split("/")[0]).some((f) => f.id === id);
      assert.ok(!exists || streamed.includes(id), `${id} did not stream`);
    }
    assert.ok(refused.includes("keras3/lstm_go_backwards"));
  });

  test(".npy input, .npy and .csv output", async () => {
    const npy = tmp.path("seq.npy");
    const run = await cli("stream", seed("model.keras"), "--input", seed("input_0.npy"), "--output", npy);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `wrote ${npy}: dense [7, 4, 1]\n`);
    const csvOut = tmp.path("seq.csv");
    assert.equal(
      (await cli("stream", seed("model.keras"), "--input", seed("input_0.npy"), "--output", csvOut)).code,
      0,
    );
    const [header, ...lines] = readFileSync(csvOut, "utf8").trimEnd().split("\n");
    assert.equal(header, "dense[0][0],dense[1][0],dense[2][0],dense[3][0]");
    // The last step of each sequence is predict's output (Keras' reference).
    const keras = readJson<{ outputs: JsonTensor[] }>(seed("io.json")).outputs[0].data;
    lines.forEach((line, b) => assert.ok(parity(Number(line.split(",")[3]), keras[b])));
  });
});

describe("kerasless stream --csv", () => {
  test("one prediction per row: a single sequence; after 4 rows, the seed window's Keras prediction", async () => {
    const run = await cli("stream", seed("model.keras"), "--csv", seed("LSTM_sample.csv"), "--features", "X1,X2,X3");
    assert.equal(run.code, 0, run.stderr);
    const [header, ...lines] = run.stdout.trimEnd().split("\n");
    assert.equal(header, "row,dense");
    assert.deepEqual(
      lines.map((l) => Number(l.split(",")[0])),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const keras = readJson<{ outputs: JsonTensor[] }>(seed("io.json")).outputs[0].data;
    assert.ok(parity(Number(lines[3].split(",")[1]), keras[0]));
    // Each row's value is the stream over rows 0..t, so it equals stream --input on that prefix.
    const prefix = tmp.path("prefix.json");
    const rows = readFileSync(seed("LSTM_sample.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",").slice(0, 3).map(Number));
    writeFileSync(prefix, JSON.stringify({ shape: [1, 10, 3], data: rows.flat() }));
    const stacked = await cli("stream", seed("model.keras"), "--input", prefix);
    const data = (JSON.parse(stacked.stdout) as { outputs: JsonTensor[] }).outputs[0].data;
    lines.forEach((line, t) => assert.equal(Number(line.split(",")[1]), data[t]));
  });

  test("sequence outputs of a return_sequences model, row by row, equal Keras' steps", async () => {
    const fixture = listFixtures("keras3").find((f) => f.id === "keras3/lstm_return_state") as Fixture;
    const x = fixture.inputs[0];
    const [, time, features] = x.shape;
    const file = tmp.path("sequence.csv");
    const names = Array.from({ length: features }, (_, k) => `f${k}`);
    const body = Array.from({ length: time }, (_, t) => x.data.slice(t * features, (t + 1) * features).join(",")).join(
      "\n",
    );
    writeFileSync(file, `${names.join(",")}\n${body}\n`);
    const run = await cli("stream", ...modelArgs(fixture), "--csv", file, "--features", names.join(","));
    assert.equal(run.code, 0, run.stderr);
    const [header, ...lines] = run.stdout.trimEnd().split("\n");
    assert.equal(
      header,
      "row,lstm[0],lstm[1],lstm[2],lstm[3],lstm_1[0],lstm_1[1],lstm_1[2],lstm_1[3]," +
        "lstm_2[0],lstm_2[1],lstm_2[2],lstm_2[3]",
    );
    const [seq, h, c] = fixture.outputs;
    lines.forEach((line, t) => {
      const values = line.split(",").slice(1).map(Number);
      for (let j = 0; j < 4; j++) assert.ok(parity(values[j], seq.data[t * 4 + j]), `step ${t} unit ${j}`);
      if (t === time - 1)
        for (let j = 0; j < 4; j++)
          assert.ok(parity(values[4 + j], h.data[j]) && parity(values[8 + j], c.data[j]), `final state ${j}`);
    });
  });

  test("--scaler, --inverse-scale: the first full window gives Keras' value on sklearn-scaled data", async () => {
    const dir = join(ROOT, "test/fixtures/scaler");
    const c = readJson<{
      cases: { name: string; scaler: string; predictions: JsonTensor; inverse_predictions?: number[] }[];
    }>(join(dir, "reference.json")).cases.find((r) => r.name === "minmax_all_columns");
    assert.ok(c !== undefined && c.inverse_predictions !== undefined);
    const base = [
      "stream",
      seed("model.keras"),
      "--csv",
      seed("LSTM_sample.csv"),
      "--features",
      "X1,X2,X3",
      "--scaler",
      join(dir, c.scaler),
    ];
    const scaled = await cli(...base);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.ok(parity(Number(scaled.stdout.split("\n")[4].split(",")[1]), c.predictions.data[0]));
    const back = await cli(...base, "--inverse-scale", "Y");
    assert.equal(back.code, 0, back.stderr);
    assert.ok(parity(Number(back.stdout.split("\n")[4].split(",")[1]), c.inverse_predictions[0]));
  });

  test("reads standard input and answers each row before the next one is sent", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/run.ts", "stream", seed("model.keras"), "--csv", "-", "--features", "X1,X2,X3"],
      { cwd: ROOT },
    );
    const keras = readJson<{ outputs: JsonTensor[] }>(seed("io.json")).outputs[0].data;
    const rows = readFileSync(seed("LSTM_sample.csv"), "utf8").trim().split("\n");
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const waiters: (() => void)[] = [];
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      waiters.splice(0).forEach((w) => w());
    });
    const lineFor = async (row: number): Promise<string> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const line = stdout.split("\n").find((l) => l.startsWith(`${row},`));
        if (line !== undefined) return line;
        if (Date.now() > deadline) throw new Error(`no output for row ${row} (stdout: ${stdout}, stderr: ${stderr})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    };
    try {
      child.stdin.write(`${rows[0]}\n`);
      for (let r = 0; r < rows.length - 1; r++) {
        child.stdin.write(`${rows[r + 1]}\n`);
        const line = await lineFor(r);
        // Nothing beyond this row has been sent, so nothing beyond it can have been printed.
        assert.ok(!stdout.includes(`\n${r + 1},`));
        if (r === 3) assert.ok(parity(Number(line.split(",")[1]), keras[0]));
      }
      child.stdin.end();
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trimEnd().split("\n").length, rows.length);
    } finally {
      child.kill();
    }
  });

  test("usage and input errors are one line", async () => {
    const base = ["stream", seed("model.keras")];
    const cases: [string[], RegExp][] = [
      [base, /missing --input FILE \(or --csv FILE --features A,B,C\)/],
      [[...base, "--csv", seed("LSTM_sample.csv")], /--csv needs --features/],
      [
        [...base, "--csv", seed("LSTM_sample.csv"), "--features", "X1,X2,X3", "--output", tmp.path("x.json")],
        /--output goes with --input/,
      ],
      [[...base, "--input", seed("input_0.npy"), "--features", "X1"], /--features goes with --csv/],
      [
        [...base, "--csv", seed("LSTM_sample.csv"), "--features", "X1,X2"],
        /each row gives 2 features, a step of the model's input "input_layer" has shape \[None, 3\]/,
      ],
      [
        [...base, "--input", seed("expected_0.npy")],
        /expected_0\.npy: the model's input "input_layer" is streamed as .*\[None, None, 3\], .*\[7, 1\]/,
      ],
    ];
    for (const [argv, pattern] of cases) {
      const run = await cli(...argv);
      assert.equal(run.code, 1, argv.join(" "));
      assert.match(assertOneErrorLine(run.stderr), pattern);
    }
    const empty = await cliWith(
      {
        stdin: (async function* () {
          yield "X1,X2,X3\n";
        })(),
      },
      ...base,
      "--csv",
      "-",
      "--features",
      "X1,X2,X3",
    );
    assert.match(assertOneErrorLine(empty.stderr), /<stdin>: no data rows/);
  });
});
