import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { parseNpy, writeNpy } from "../../src/io/npy.js";
import { MULTI_IO, assertOneErrorLine, cli, seed, tempDir } from "./helpers.js";

const tmp = tempDir();
after(() => tmp.cleanup());

describe("kerasless verify", () => {
  test("passes on the seed model against Keras' outputs (.npy and io.json forms)", async () => {
    const npy = await cli(
      "verify",
      seed("model.keras"),
      "--input",
      seed("input_0.npy"),
      "--expected",
      seed("expected_0.npy"),
    );
    assert.equal(npy.code, 0, npy.stderr);
    assert.equal(npy.stderr, "");
    assert.match(npy.stdout, /max abs error: +\S+/);
    assert.match(npy.stdout, /mean abs error: +\S+/);
    assert.match(npy.stdout, /OK: all 7 values within 1e-5 \+ 1e-4\*\|expected\|/);
    const io = await cli("verify", seed("model.h5"), "--input", seed("io.json"), "--expected", seed("io.json"));
    assert.equal(io.code, 0, io.stderr);
    assert.match(io.stdout, /OK: all 7 values/);
  });

  test("the output of predict can serve as --expected", async () => {
    const out = tmp.path("predicted.json");
    assert.equal((await cli("predict", seed("model.keras"), "--input", seed("input_0.npy"), "--output", out)).code, 0);
    const run = await cli(
      "verify",
      seed("model.json"),
      "--weights",
      seed("model.weights.h5"),
      "--input",
      seed("input_0.npy"),
      "--expected",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
  });

  test("values that differ: exit code 2 and one stderr line against a wrong expected file", async () => {
    const expected = parseNpy(readFileSync(seed("expected_0.npy")), "expected_0.npy");
    const wrong = Float32Array.from(expected.data);
    wrong[3] += 0.01;
    wrong[5] -= 0.5;
    const file = tmp.path("wrong.npy");
    writeFileSync(file, writeNpy(expected.shape, wrong));
    const run = await cli("verify", seed("model.keras"), "--input", seed("input_0.npy"), "--expected", file);
    assert.equal(run.code, 2, "values differ: exit 2 (errors exit 1)");
    assert.match(run.stdout, /max abs error: +5\.000e-1/);
    assert.match(
      run.stdout,
      /FAIL: 2 of 7 values outside 1e-5 \+ 1e-4\*\|expected\| \(worst: output "dense" flat index 5/,
    );
    assert.match(assertOneErrorLine(run.stderr), /^kerasless: verification failed: 2 of 7 values/);
  });

  test("an expected tensor of the wrong shape is an error naming the file", async () => {
    const run = await cli(
      "verify",
      seed("model.keras"),
      "--input",
      seed("input_0.npy"),
      "--expected",
      seed("input_0.npy"),
    );
    assert.equal(run.code, 1);
    assert.match(
      assertOneErrorLine(run.stderr),
      /input_0\.npy: output "dense" has shape \[7, 1\], the expected tensor has \[7, 4, 3\]$/,
    );
  });

  test("several outputs: an io.json's outputs, or one --expected per output", async () => {
    const all = await cli(
      "verify",
      `${MULTI_IO}/model.keras`,
      "--input",
      `${MULTI_IO}/io.json`,
      "--expected",
      `${MULTI_IO}/io.json`,
    );
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /output "head_a"[^\n]*\noutput "head_b"/);
    const io = JSON.parse(readFileSync(`${MULTI_IO}/io.json`, "utf8")) as {
      outputs: { shape: number[]; data: number[] }[];
    };
    const files = io.outputs.map((o, i) => {
      const file = tmp.path(`head-${i}.json`);
      writeFileSync(file, JSON.stringify({ shape: o.shape, dtype: "float32", data: o.data }));
      return file;
    });
    const split = await cli(
      "verify",
      `${MULTI_IO}/model.keras`,
      "--input",
      `${MULTI_IO}/io.json`,
      "--expected",
      files[0],
      "--expected",
      files[1],
    );
    assert.equal(split.code, 0, split.stderr);
    const short = await cli(
      "verify",
      `${MULTI_IO}/model.keras`,
      "--input",
      `${MULTI_IO}/io.json`,
      "--expected",
      files[0],
    );
    assert.equal(short.code, 1);
    assert.match(
      assertOneErrorLine(short.stderr),
      /the model has 2 outputs \(head_a, head_b\), the --expected files hold 1 tensor$/,
    );
  });

  test("--plot writes the scatter plot: a dot per value, the diagonal, labels, the error in the title", async () => {
    const svgFile = tmp.path("scatter.svg");
    const run = await cli(
      "verify",
      seed("model.keras"),
      "--input",
      seed("input_0.npy"),
      "--expected",
      seed("expected_0.npy"),
      "--plot",
      svgFile,
    );
    assert.equal(run.code, 0, run.stderr);
    const maxError = /max abs error: +(\S+)/.exec(run.stdout)?.[1];
    assert.ok(maxError !== undefined);
    const svg = readFileSync(svgFile, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    const title = /<title>([^<]*)<\/title>/.exec(svg)?.[1] ?? "";
    assert.ok(title.includes(`max abs error ${maxError}`), `title "${title}" lacks the error ${maxError}`);
    assert.match(svg, /<line id="diagonal"/);
    // The diagonal runs from the bottom-left to the top-right corner of the square plot area.
    const [, x1, y1, x2, y2] =
      /<line id="diagonal"[^>]* x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/.exec(svg) ?? [];
    assert.ok(Number(x2) - Number(x1) > 0 && Math.abs(Number(x2) - Number(x1) - (Number(y1) - Number(y2))) < 0.02);
    assert.equal(svg.match(/<circle /g)?.length, 7);
    assert.match(svg, />Keras<\/text>/);
    assert.match(svg, />kerasless<\/text>/);
    assert.ok(
      (svg.match(/class="tick-labels"/g) ?? []).length === 1 && /<text[^>]*>0\.\d<\/text>/.test(svg),
      "axis tick labels",
    );
    // Every dot sits on the diagonal (the errors are far below a pixel).
    for (const [, cx, cy] of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
      const along = (Number(cx) - Number(x1)) / (Number(x2) - Number(x1));
      assert.ok(Math.abs(Number(y1) + along * (Number(y2) - Number(y1)) - Number(cy)) < 0.02);
    }
  });

  test("--histogram: logarithmic bins from 0 to past the tolerance, counts equal to the values", async () => {
    const svgFile = tmp.path("errors.svg");
    const run = await cli(
      "verify",
      seed("model.keras"),
      "--input",
      seed("input_0.npy"),
      "--expected",
      seed("expected_0.npy"),
      "--histogram",
      svgFile,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /histogram: \S+errors\.svg/);
    const svg = readFileSync(svgFile, "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<title>Absolute errors \(7 values\): max \S+, mean \S+<\/title>/);
    // Every value is in exactly one bar; all within tolerance here.
    const counts = [...svg.matchAll(/<title>[^<]*: (\d+) within tolerance, (\d+) outside<\/title>/g)];
    assert.equal(svg.match(/<rect class="bad"/g), null);
    const unique = new Map(counts.map((m) => [m[0], Number(m[1]) + Number(m[2])]));
    assert.equal(
      [...unique.values()].reduce((a, b) => a + b, 0),
      7,
    );
    assert.match(svg, /<line id="tolerance"/);
    assert.match(svg, />1e-4<\/text>/);
  });

  test("--histogram shows values outside the tolerance in their own colour", async () => {
    const expected = parseNpy(readFileSync(seed("expected_0.npy")), "expected_0.npy");
    const wrong = Float32Array.from(expected.data);
    wrong[0] += 0.02;
    wrong[1] = Number.NaN;
    const file = tmp.path("wrong2.npy");
    writeFileSync(file, writeNpy(expected.shape, wrong));
    const svgFile = tmp.path("errors-bad.svg");
    const run = await cli(
      "verify",
      seed("model.keras"),
      "--input",
      seed("input_0.npy"),
      "--expected",
      file,
      "--histogram",
      svgFile,
    );
    assert.equal(run.code, 2);
    const svg = readFileSync(svgFile, "utf8");
    assert.equal(svg.match(/<rect class="bad"/g)?.length, 2);
    assert.match(svg, /infinite \(NaN or ±Infinity mismatch\): 0 within tolerance, 1 outside/);
    assert.match(svg, /\[1\.0e-2, 3\.2e-2\): 0 within tolerance, 1 outside/);
  });

  test("--html writes one self-contained page: verdict, per-output numbers, both plots, the worst values", async () => {
    const html = tmp.path("report.html");
    const run = await cli(
      "verify",
      `${MULTI_IO}/model.keras`,
      "--input",
      `${MULTI_IO}/io.json`,
      "--expected",
      `${MULTI_IO}/io.json`,
      "--html",
      html,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /report: \S+report\.html/);
    const page = readFileSync(html, "utf8");
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /class="verdict ok"><strong>OK: all 9 values within 1e-5 \+ 1e-4\*\|expected\|/);
    assert.match(page, /<td>head_a<\/td><td>\[3, 2\]<\/td>/);
    assert.match(page, /<td>head_b<\/td><td>\[3, 1\]<\/td>/);
    assert.equal(page.match(/<svg /g)?.length, 2);
    assert.equal(page.match(/<tr><td>head_[ab]<\/td><td>\d+<\/td>/g)?.length, 9);
    // Self-contained: no scripts, nothing loaded from elsewhere.
    assert.doesNotMatch(page, /<script|<link|src=|href=/);
  });
});
