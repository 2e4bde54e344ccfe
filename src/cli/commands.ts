/** The inspect and verify commands (predict: predict.ts, stream: stream.ts). */
import { KeraslessError, Tensor, type Model } from "../node.js";
import type { InspectArgs, VerifyArgs } from "./args.js";
import { describeSource, readTensors, writeBytes, type FileTensor } from "./files.js";
import { scatterSvg } from "./plot.js";
import { openModel as open, predictNaming, shapeText, type CliIO } from "./predict.js";
import { fits } from "./sources.js";

export type { CliIO } from "./predict.js";
export type { Output } from "./outputs.js";

/** Reads every --input file and matches the tensors to the model's inputs, in order. */
async function readInputs(model: Model, files: readonly string[]): Promise<FileTensor[]> {
  const tensors: FileTensor[] = [];
  for (const file of files) tensors.push(...(await readTensors(file, "inputs")));
  const names = model.inputs.map((i) => i.name).join(", ");
  if (tensors.length !== model.inputs.length) {
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${model.inputs.length} input${model.inputs.length === 1 ? "" : "s"} (${names}), the --input files hold ${tensors.length} tensor${tensors.length === 1 ? "" : "s"}`,
    );
  }
  tensors.forEach((t, i) => {
    const info = model.inputs[i];
    if (!fits(t.shape, info.shape)) {
      throw new KeraslessError("E_INPUT_SHAPE", `${t.where === undefined ? "" : `${t.where}: `}the model's input "${info.name}" has shape ${shapeText(info.shape)}, this tensor has ${shapeText(t.shape)}`, { file: t.file });
    }
  });
  return tensors;
}

function run(model: Model, inputs: readonly FileTensor[]): Tensor[] {
  return predictNaming(model, inputs);
}

const FORMATS: Record<Model["format"], string> = {
  keras: ".keras (Keras 3 zip archive)",
  h5: ".h5 (legacy HDF5 model file)",
  json: "model.json architecture + weights file",
};

export async function inspect(args: InspectArgs, io: CliIO): Promise<number> {
  const model = await open(args);
  const summary = model.summary();
  const data = model.summaryData();
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
      params: { total: data.trainableParams + data.nonTrainableParams, trainable: data.trainableParams, nonTrainable: data.nonTrainableParams },
      layers: data.rows.map((r) => ({ name: r.name, className: r.className, outputShapes: r.outputShapes.map((s) => [...s]), params: r.params, connectedTo: r.connectedTo })),
      summary,
    };
    io.stdout.write(JSON.stringify(info, null, 2) + "\n");
    return 0;
  }
  const version = model.kerasVersion === undefined ? "not stated in the file" : model.kerasVersion;
  const table = (list: Model["inputs"]): string[] => {
    const width = Math.max(...list.map((t) => t.name.length));
    const shapeWidth = Math.max(...list.map((t) => shapeText(t.shape).length));
    return list.map((t) => `  ${t.name.padEnd(width)}  ${shapeText(t.shape).padEnd(shapeWidth)}  ${t.dtype}`);
  };
  const lines = [
    summary,
    "",
    `Keras version: ${version} (run with Keras ${model.kerasMajor} semantics)`,
    `File format:   ${FORMATS[model.format] ?? model.format}`,
    "Inputs:",
    ...table(model.inputs),
    "Outputs:",
    ...table(model.outputs),
  ];
  io.stdout.write(lines.join("\n") + "\n");
  return 0;
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
}

export async function verify(args: VerifyArgs, io: CliIO): Promise<number> {
  const model = await open(args);
  const inputs = await readInputs(model, args.inputs);
  const expected: FileTensor[] = [];
  for (const file of args.expected) expected.push(...(await readTensors(file, "outputs")));
  const names = model.outputs.map((o) => o.name);
  if (expected.length !== names.length) {
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${names.length} output${names.length === 1 ? "" : "s"} (${names.join(", ")}), the --expected files hold ${expected.length} tensor${expected.length === 1 ? "" : "s"}`,
    );
  }
  const outputs = run(model, inputs);
  outputs.forEach((t, i) => {
    const e = expected[i];
    if (t.shape.length !== e.shape.length || t.shape.some((d, k) => d !== e.shape[k])) {
      throw new KeraslessError("E_INPUT_SHAPE", `${e.where === undefined ? "" : `${e.where}: `}output "${names[i]}" has shape ${shapeText(t.shape)}, the expected tensor has ${shapeText(e.shape)}`, { file: e.file });
    }
  });

  let count = 0;
  let bad = 0;
  let sum = 0;
  let max = 0;
  let worst: Worst | undefined;
  let worstExcess = -Infinity;
  const lines: string[] = [];
  outputs.forEach((t, i) => {
    const want = expected[i].data;
    let outMax = 0;
    let outSum = 0;
    let outBad = 0;
    for (let k = 0; k < t.data.length; k++) {
      const got = t.data[k];
      const ref = want[k];
      const err = got === ref || (Number.isNaN(got) && Number.isNaN(ref)) ? 0 : Number.isNaN(got - ref) ? Infinity : Math.abs(got - ref);
      const excess = err - (1e-5 + 1e-4 * Math.abs(ref));
      if (excess > 0) outBad++;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = { output: names[i], index: k, got, expected: ref };
      }
      outMax = Math.max(outMax, err);
      outSum += err;
    }
    lines.push(
      `output "${names[i]}" ${shapeText(t.shape)} vs ${describeSource(expected[i])}: max abs error ${formatError(outMax)}, mean abs error ${formatError(t.data.length === 0 ? 0 : outSum / t.data.length)}, ${t.data.length - outBad}/${t.data.length} within tolerance`,
    );
    count += t.data.length;
    bad += outBad;
    sum += outSum;
    max = Math.max(max, outMax);
  });
  const mean = count === 0 ? 0 : sum / count;
  lines.push(`max abs error:  ${formatError(max)}`);
  lines.push(`mean abs error: ${formatError(mean)}`);

  if (args.plot !== undefined) {
    const xs = new Float64Array(count);
    const ys = new Float64Array(count);
    let at = 0;
    outputs.forEach((t, i) => {
      xs.set(expected[i].data, at);
      ys.set(t.data, at);
      at += t.data.length;
    });
    const title = `Keras vs kerasless (${count} value${count === 1 ? "" : "s"}): max abs error ${formatError(max)}`;
    await writeBytes(args.plot, scatterSvg(xs, ys, { title, xLabel: "Keras", yLabel: "kerasless" }));
    lines.push(`plot: ${args.plot}`);
  }

  if (bad === 0) {
    lines.push(`OK: all ${count} values within ${TOLERANCE_TEXT}`);
    io.stdout.write(lines.join("\n") + "\n");
    return 0;
  }
  const w = worst as Worst;
  lines.push(`FAIL: ${bad} of ${count} values outside ${TOLERANCE_TEXT} (worst: output "${w.output}" flat index ${w.index}: kerasless ${w.got}, expected ${w.expected})`);
  io.stdout.write(lines.join("\n") + "\n");
  io.stderr.write(`kerasless: verification failed: ${bad} of ${count} values differ from the expected outputs by more than ${TOLERANCE_TEXT} (max abs error ${formatError(max)})\n`);
  return 1;
}
