/** The inspect and verify commands (predict: predict.ts, stream: stream.ts). */
import { KeraslessError, Tensor, type Model } from "../node.js";
import type { InspectArgs, VerifyArgs } from "./args.js";
import { describeSource, readTensors, writeBytes, type FileTensor } from "./files.js";
import { scatterSvg } from "./plot.js";
import { histogramSvg, reportHtml, type ReportData } from "./report.js";
import { openModel as open, predictNaming, type CliIO } from "./predict.js";
import { printable, printableJson, printableNames } from "./safe-text.js";
import { checkInputFiles } from "./sources.js";
import { formatSummary } from "../summary.js";
import { formatShape } from "../tensor.js";

export type { CliIO } from "./predict.js";
export type { Output } from "./outputs.js";

/** Reads every --input file and matches the tensors to the model's inputs, in order. */
async function readInputs(model: Model, files: readonly string[]): Promise<FileTensor[]> {
  const tensors: FileTensor[] = [];
  for (const file of files) for (const t of await readTensors(file, "inputs", model.inputs.length)) tensors.push(t);
  checkInputFiles(model.inputs, tensors);
  return tensors;
}

function run(model: Model, inputs: readonly FileTensor[]): Tensor[] {
  return predictNaming(model, inputs);
}

const FORMATS: Record<Model["format"], string> = {
  keras: ".keras (Keras 3 zip archive)",
  h5: ".h5 (legacy HDF5 model file)",
  json: "model.json architecture + weights file",
  onnx: ".onnx (ONNX protobuf)",
};

export async function inspect(args: InspectArgs, io: CliIO): Promise<number> {
  const model = await open(args);
  const data = model.summaryData();
  // The table from printable names: a file's name for a layer must not drive the terminal.
  const summary = formatSummary({
    ...data,
    name: printable(data.name),
    className: printable(data.className),
    rows: data.rows.map((r) => ({
      ...r,
      name: printable(r.name),
      className: printable(r.className),
      connectedTo: r.connectedTo.map(printable),
    })),
  });
  const tensorInfo = (t: Model["inputs"][number]) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype });
  if (args.json) {
    const info = {
      file: args.model,
      weights: args.weights ?? null,
      name: model.name,
      className: model.className,
      kerasVersion: model.kerasVersion ?? null,
      kerasMajor: model.kerasMajor,
      format: model.format,
      inputs: model.inputs.map(tensorInfo),
      outputs: model.outputs.map(tensorInfo),
      params: {
        total: data.trainableParams + data.nonTrainableParams,
        trainable: data.trainableParams,
        nonTrainable: data.nonTrainableParams,
      },
      layers: data.rows.map((r) => ({
        name: r.name,
        className: r.className,
        outputShapes: r.outputShapes.map((s) => [...s]),
        params: r.params,
        connectedTo: r.connectedTo,
      })),
      summary,
      ...(args.kernels ? { kernels: model.kernelPlans() } : {}),
    };
    io.stdout.write(printableJson(JSON.stringify(info, null, 2)) + "\n");
    return 0;
  }
  const version = model.kerasVersion === undefined ? "not stated in the file" : model.kerasVersion;
  const table = (tensors: Model["inputs"]): string[] => {
    const list = printableNames(tensors);
    let width = 0;
    let shapeWidth = 0;
    for (const t of list) {
      width = Math.max(width, t.name.length);
      shapeWidth = Math.max(shapeWidth, formatShape(t.shape).length);
    }
    return list.map((t) => `  ${t.name.padEnd(width)}  ${formatShape(t.shape).padEnd(shapeWidth)}  ${t.dtype}`);
  };
  const lines = [
    summary,
    "",
    model.format === "onnx"
      ? `Written by:    ${printable(version)}`
      : `Keras version: ${printable(version)} (run with Keras ${model.kerasMajor} semantics)`,
    `File format:   ${FORMATS[model.format] ?? model.format}`,
    "Inputs:",
    ...table(model.inputs),
    "Outputs:",
    ...table(model.outputs),
    ...(args.kernels ? kernelLines(model) : []),
  ];
  io.stdout.write(lines.join("\n") + "\n");
  return 0;
}

/** `inspect --kernels`: each planned layer's backend, then why, indented. */
function kernelLines(model: Model): string[] {
  const plans = model.kernelPlans();
  if (plans.length === 0) return ["Kernels: no layer with a choice of kernels"];
  return [
    "Kernels:",
    ...plans.flatMap((p) => [`  ${p.layer} (${p.className}): ${p.backend}`, ...p.why.map((w) => `      ${w}`)]),
  ];
}

/** Errors in messages: "0" or three decimals in exponent form, e.g. 2.980e-8. */
export function formatError(x: number): string {
  return x === 0 ? "0" : x.toExponential(3);
}

export const TOLERANCE_TEXT = "1e-5 + 1e-4*|expected|";

interface Worst {
  output: string;
  index: number;
  got: number;
  expected: number;
  error: number;
  /** error - tolerance: how far outside (positive) or inside (negative) the tolerance. */
  excess: number;
}

/** verify's exit code when it ran but values differ (errors exit with 1, as every command's). */
export const VALUES_DIFFER = 2;

/** How many of the values furthest from the tolerance the HTML report lists. */
const REPORT_WORST = 10;

export async function verify(args: VerifyArgs, io: CliIO): Promise<number> {
  const model = await open(args);
  const inputs = await readInputs(model, args.inputs);
  const expected: FileTensor[] = [];
  for (const file of args.expected)
    for (const t of await readTensors(file, "outputs", model.outputs.length)) expected.push(t);
  const names = model.outputs.map((o) => printable(o.name));
  if (expected.length !== names.length) {
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${names.length} output${names.length === 1 ? "" : "s"} (${names.join(", ")}), the --expected ` +
        `files hold ${expected.length} tensor${expected.length === 1 ? "" : "s"}`,
    );
  }
  const outputs = run(model, inputs);
  outputs.forEach((t, i) => {
    const e = expected[i];
    if (t.shape.length !== e.shape.length || t.shape.some((d, k) => d !== e.shape[k])) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `${e.where === undefined ? "" : `${e.where}: `}output "${names[i]}" has shape ${formatShape(t.shape)}, ` +
          `the expected tensor has ${formatShape(e.shape)}`,
        { file: e.file },
      );
    }
  });

  const count = outputs.reduce((n, t) => n + t.data.length, 0);
  const errors = new Float64Array(count);
  const within = new Uint8Array(count);
  // The values furthest outside (or least inside) the tolerance, largest excess first.
  const worst: Worst[] = [];
  let bad = 0;
  let sum = 0;
  let max = 0;
  let at = 0;
  const lines: string[] = [];
  const rows: ReportData["outputs"] = [];
  outputs.forEach((t, i) => {
    const want = expected[i].data;
    let outMax = 0;
    let outSum = 0;
    let outBad = 0;
    for (let k = 0; k < t.data.length; k++, at++) {
      const got = t.data[k];
      const ref = want[k];
      const err =
        got === ref || (Number.isNaN(got) && Number.isNaN(ref))
          ? 0
          : Number.isNaN(got - ref)
            ? Infinity
            : Math.abs(got - ref);
      const tolerance = 1e-5 + 1e-4 * Math.abs(ref);
      // Equal values (NaN and NaN too) are within; a NaN or infinite reference otherwise is not.
      const ok = err === 0 || err <= tolerance;
      const excess = ok
        ? Number.isNaN(err - tolerance)
          ? -Infinity
          : err - tolerance
        : Number.isNaN(err - tolerance)
          ? Infinity
          : err - tolerance;
      errors[at] = err;
      if (!ok) outBad++;
      else within[at] = 1;
      if (worst.length < REPORT_WORST || excess > worst[worst.length - 1].excess) {
        worst.push({ output: names[i], index: k, got, expected: ref, error: err, excess });
        worst.sort((a, b) => b.excess - a.excess);
        if (worst.length > REPORT_WORST) worst.pop();
      }
      outMax = Math.max(outMax, err);
      outSum += err;
    }
    const outMean = formatError(t.data.length === 0 ? 0 : outSum / t.data.length);
    lines.push(
      `output "${names[i]}" ${formatShape(t.shape)} vs ${describeSource(expected[i])}: max abs error ` +
        `${formatError(outMax)}, mean abs error ${outMean}, ${t.data.length - outBad}/${t.data.length} within ` +
        `tolerance`,
    );
    rows.push({
      name: names[i],
      shape: formatShape(t.shape),
      source: describeSource(expected[i]),
      maxError: formatError(outMax),
      meanError: outMean,
      within: t.data.length - outBad,
      count: t.data.length,
    });
    bad += outBad;
    sum += outSum;
    max = Math.max(max, outMax);
  });
  const mean = count === 0 ? 0 : sum / count;
  lines.push(`max abs error:  ${formatError(max)}`);
  lines.push(`mean abs error: ${formatError(mean)}`);

  const values = `${count} value${count === 1 ? "" : "s"}`;
  const scatter = (): string => {
    const xs = new Float64Array(count);
    const ys = new Float64Array(count);
    let offset = 0;
    outputs.forEach((t, i) => {
      xs.set(expected[i].data, offset);
      ys.set(t.data, offset);
      offset += t.data.length;
    });
    return scatterSvg(xs, ys, {
      title: `Keras vs kerasless (${values}): max abs error ${formatError(max)}`,
      xLabel: "Keras",
      yLabel: "kerasless",
    });
  };
  const histogram = (): string =>
    histogramSvg({ errors, within }, `Absolute errors (${values}): max ${formatError(max)}, mean ${formatError(mean)}`);
  if (args.plot !== undefined) {
    await writeBytes(args.plot, scatter());
    lines.push(`plot: ${args.plot}`);
  }
  if (args.histogram !== undefined) {
    await writeBytes(args.histogram, histogram());
    lines.push(`histogram: ${args.histogram}`);
  }

  const verdict =
    bad === 0
      ? `OK: all ${count} values within ${TOLERANCE_TEXT}`
      : `FAIL: ${bad} of ${count} values outside ${TOLERANCE_TEXT}`;
  if (args.html !== undefined) {
    const report = reportHtml({
      model: args.weights === undefined ? args.model : `${args.model} + ${args.weights}`,
      kerasVersion: model.kerasVersion ?? "not stated in the file",
      inputs: args.inputs,
      expected: args.expected,
      tolerance: TOLERANCE_TEXT,
      outputs: rows,
      verdict,
      ok: bad === 0,
      worst: worst.map((w) => ({
        output: w.output,
        index: w.index,
        got: w.got,
        expected: w.expected,
        error: formatError(w.error),
        tolerance: formatError(1e-5 + 1e-4 * Math.abs(w.expected)),
      })),
      scatter: scatter(),
      histogram: histogram(),
    });
    await writeBytes(args.html, report);
    lines.push(`report: ${args.html}`);
  }

  if (bad === 0) {
    lines.push(verdict);
    io.stdout.write(lines.join("\n") + "\n");
    return 0;
  }
  const w = worst[0];
  lines.push(
    `${verdict} (worst: output "${w.output}" flat index ${w.index}: kerasless ${w.got}, expected ${w.expected})`,
  );
  io.stdout.write(lines.join("\n") + "\n");
  io.stderr.write(
    `kerasless: verification failed: ${bad} of ${count} values differ from the expected outputs by more than ` +
      `${TOLERANCE_TEXT} (max abs error ${formatError(max)})\n`,
  );
  return VALUES_DIFFER;
}
