/** `kerasless predict`: inputs are read, predicted and written batch by batch. */
import { KeraslessError, Tensor, loadModel, type Model } from "../node.js";
import { formatShape } from "../tensor.js";
import type { PredictArgs } from "./args.js";
import { readText } from "./files.js";
import { openWriter, type Output } from "./outputs.js";
import { Progress } from "./progress.js";
import { printable } from "./safe-text.js";
import { parseScaler, type Scaler } from "./scaler.js";
import { csvSource, tensorSource, type BatchTensor } from "./sources.js";

export interface CliIO {
  stdout: Output;
  stderr: Output;
  /** Standard input, for `--csv -` (default: process.stdin). */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** How long a job runs before the progress bar appears (default 1000 ms). */
  progressDelayMs?: number;
}

export async function openModel(args: { model: string; weights?: string }): Promise<Model> {
  try {
    return await loadModel(args.model, args.weights === undefined ? {} : { weights: args.weights });
  } catch (e) {
    // The library's message says what is missing; the command line says which option gives it.
    if (
      e instanceof KeraslessError &&
      e.code === "E_FORMAT" &&
      args.weights === undefined &&
      /model\.json/.test(e.problem)
    )
      throw new KeraslessError("E_FORMAT", `${e.problem} with --weights FILE`, { file: e.file, cause: e });
    throw e;
  }
}

/** Runs predict, naming the input file a value problem is about (e.g. a float in an int32 input). */
export function predictNaming(
  model: Model,
  inputs: readonly { shape: readonly number[]; data: Float32Array | Int32Array; file: string }[],
): Tensor[] {
  try {
    return model.predict(inputs.map((t) => ({ shape: t.shape, data: t.data })));
  } catch (e) {
    if (e instanceof KeraslessError && e.file === undefined) {
      let i = model.inputs.findIndex((info) => e.problem.includes(`input "${info.name}"`));
      if (i < 0 && e.code === "E_INPUT_VALUE" && inputs.length === 1) i = 0;
      if (i >= 0 && inputs[i] !== undefined) throw e.inFile(inputs[i].file);
    }
    throw e;
  }
}

export async function readScaler(file: string | undefined): Promise<Scaler | undefined> {
  return file === undefined ? undefined : parseScaler(await readText(file), file);
}

/**
 * Maps every output value back through the scaler: one column for all values, or one column per
 * value of the output's last axis.
 */
export function inverseScale(
  scaler: Scaler,
  columns: readonly number[],
  outputs: readonly Tensor[],
  names: readonly string[],
): void {
  outputs.forEach((t, i) => {
    const last = t.shape.length > 1 ? t.shape[t.shape.length - 1] : 1;
    if (columns.length !== 1 && columns.length !== last) {
      throw new KeraslessError(
        "E_INPUT",
        `--inverse-scale names ${columns.length} columns, output "${names[i]}" has ${last} ` +
          `value${last === 1 ? "" : "s"} on its last axis (give one column, or one per value)`,
      );
    }
    const data = t.data;
    const n = columns.length;
    for (let k = 0; k < data.length; k++) data[k] = scaler.inverse(columns[n === 1 ? 0 : k % n], data[k]);
  });
}

export async function predict(args: PredictArgs, io: CliIO): Promise<number> {
  const model = await openModel(args);
  const scaler = await readScaler(args.scaler);
  const stdin = io.stdin ?? process.stdin;
  const source =
    args.csv === undefined
      ? await tensorSource(model, args.inputs, scaler, args.inverseScale)
      : await csvSource(model, args.csv, scaler, args.inverseScale, stdin);
  const names = model.outputs.map((o) => o.name);
  const progress = await Progress.create(io.stderr, {
    label: "predict",
    totalBytes: source.totalBytes,
    delayMs: io.progressDelayMs,
  });
  const writer = await openWriter(args.output, io.stdout, { names, total: source.total, rowColumn: source.rowLabels });
  let samples = 0;
  let bytes = 0;
  try {
    await source.run(
      (inputs: BatchTensor[], count, rows) => {
        const outputs = predictNaming(model, inputs);
        if (scaler !== undefined && args.inverseScale.length > 0)
          inverseScale(scaler, source.inverseColumns(), outputs, names);
        writer.add(outputs, rows);
        samples += count;
      },
      async (bytesRead) => {
        bytes = bytesRead;
        await writer.flush();
        progress.update(bytes, samples);
      },
    );
    progress.update(bytes, samples);
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    progress.stop();
  }
  if (args.output !== undefined) {
    io.stdout.write(
      printable(
        `wrote ${args.output}: ${writer.shapes.map((shape, i) => `${names[i]} ${formatShape(shape)}`).join(", ")}`,
      ) + "\n",
    );
  }
  return 0;
}
