/**
 * `kerasless stream`: feeds the model one time step at a time (model.stream()), keeping its
 * recurrent states. `--input` stacks every step's outputs on axis 1; `--csv` prints one
 * prediction per row as soon as the row has arrived.
 */
import { allocationError } from "../errors.js";
import { checkInputShape } from "../inputs.js";
import { KeraslessError, Tensor, type Model } from "../node.js";
import { formatShape, sizeOf } from "../tensor.js";
import type { StreamArgs } from "./args.js";
import { readTensors, type FileTensor } from "./files.js";
import { openWriter } from "./outputs.js";
import { inverseScale, openModel, readScaler, type CliIO } from "./predict.js";
import { mapTensorColumns, resolveInverseColumns, type Scaler } from "./scaler.js";
import { printable } from "./safe-text.js";
import { csvName, fits, openBytes, readCsvRows } from "./sources.js";

type ModelStream = ReturnType<Model["stream"]>;

export async function stream(args: StreamArgs, io: CliIO): Promise<number> {
  const model = await openModel(args);
  const scaler = await readScaler(args.scaler);
  return args.csv === undefined ? streamTensors(model, args, scaler, io) : streamCsv(model, args, scaler, io);
}

/** Reads the --input tensors and checks them against the stream's step inputs ([batch, time, ...features]). */
async function readSequences(s: ModelStream, file: string): Promise<FileTensor[]> {
  const tensors = await readTensors(file, "inputs", s.inputs.length);
  const names = s.inputs.map((i) => i.name).join(", ");
  if (tensors.length !== s.inputs.length) {
    throw new KeraslessError(
      "E_INPUT",
      `the model has ${s.inputs.length} input${s.inputs.length === 1 ? "" : "s"} (${names}), the file holds ` +
        `${tensors.length} tensor${tensors.length === 1 ? "" : "s"}`,
      { file },
    );
  }
  tensors.forEach((t, i) => {
    try {
      checkInputShape(t.shape, `${t.where === undefined ? "" : `${t.where}: `}input "${s.inputs[i].name}"`);
    } catch (e) {
      throw e instanceof KeraslessError ? e.inFile(file) : e;
    }
    const features = s.inputs[i].shape.slice(1) as number[];
    // Any number of steps: a stream is not bound to the time length the model was built with.
    const expected = [null, null, ...features];
    if (!fits(t.shape, expected)) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `${t.where === undefined ? "" : `${t.where}: `}the model's input "${s.inputs[i].name}" is streamed as ` +
          `[batch, time, ...] ${formatShape(expected)}, this tensor has ${formatShape(t.shape)}`,
        { file },
      );
    }
    if (t.shape[0] !== tensors[0].shape[0] || t.shape[1] !== tensors[0].shape[1]) {
      throw new KeraslessError(
        "E_INPUT_SHAPE",
        `the inputs differ in batch or time: ${formatShape(tensors[0].shape)} and ${formatShape(t.shape)}`,
        { file },
      );
    }
  });
  return tensors;
}

async function streamTensors(model: Model, args: StreamArgs, scaler: Scaler | undefined, io: CliIO): Promise<number> {
  const file = args.input as string;
  const s = model.stream();
  const inputs = await readSequences(s, file);
  const [batch, time] = inputs[0].shape;
  let inverse: number[] = [];
  if (scaler !== undefined) {
    if (inputs.length !== 1)
      throw new KeraslessError("E_INPUT", `--scaler scales a single input, the model has ${inputs.length}`);
    const x = inputs[0];
    if (x.dtype !== "float32")
      throw new KeraslessError("E_INPUT", "--scaler needs float input values, this tensor is int32", { file });
    const mapping = mapTensorColumns(scaler, x.shape[x.shape.length - 1], file);
    inverse = resolveInverseColumns(scaler, mapping, args.inverseScale);
    const f = mapping.featureColumns.length;
    for (let i = 0; i < x.data.length; i++) x.data[i] = scaler.transform(mapping.featureColumns[i % f], x.data[i]);
  }
  // One reusable step tensor per input: [batch, ...features], filled from x[:, t].
  const steps = inputs.map((x) => {
    const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
    const data = x.dtype === "int32" ? new Int32Array(batch * inner) : new Float32Array(batch * inner);
    return { x, inner, tensor: new Tensor([batch, ...x.shape.slice(2)], data) };
  });
  const names = model.outputs.map((o) => o.name);
  let stacked: { data: Float32Array; inner: number; rest: number[] }[] = [];
  if (time === 0) throw new KeraslessError("E_INPUT_SHAPE", "the input has no time steps", { file });
  // An empty batch has nothing to compute: one step gives the outputs' shapes.
  const stepsToRun = batch === 0 ? 1 : time;
  for (let t = 0; t < stepsToRun; t++) {
    for (const { x, inner, tensor } of steps) {
      for (let b = 0; b < batch; b++)
        tensor.data.set(x.data.subarray((b * time + t) * inner, (b * time + t + 1) * inner), b * inner);
    }
    let outputs: Tensor[];
    try {
      outputs = s.step(steps.map((st) => st.tensor));
    } catch (e) {
      throw e instanceof KeraslessError ? e.inFile(file) : e;
    }
    if (t === 0) {
      try {
        stacked = outputs.map((o) => {
          const inner = sizeOf(o.shape.slice(1));
          return { data: new Float32Array(batch * time * inner), inner, rest: o.shape.slice(1) };
        });
      } catch (e) {
        throw allocationError(e, `the stacked outputs of ${batch} x ${time} steps need`);
      }
    }
    outputs.forEach((o, k) => {
      const { data, inner } = stacked[k];
      for (let b = 0; b < batch; b++) data.set(o.data.subarray(b * inner, (b + 1) * inner), (b * time + t) * inner);
    });
  }
  const results = stacked.map((o) => new Tensor([batch, time, ...o.rest], o.data));
  if (scaler !== undefined && args.inverseScale.length > 0) inverseScale(scaler, inverse, results, names);
  const writer = await openWriter(args.output, io.stdout, { names, total: batch });
  try {
    writer.add(results);
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  if (args.output !== undefined)
    io.stdout.write(
      printable(`wrote ${args.output}: ${results.map((r, i) => `${names[i]} ${formatShape(r.shape)}`).join(", ")}`) +
        "\n",
    );
  return 0;
}

/** One step per CSV row (a single sequence, batch 1); each prediction is written when its row has arrived. */
async function streamCsv(model: Model, args: StreamArgs, scaler: Scaler | undefined, io: CliIO): Promise<number> {
  const csv = args.csv as NonNullable<StreamArgs["csv"]>;
  const file = csvName(csv.file);
  const s = model.stream({ batch: 1 });
  if (s.inputs.length !== 1) {
    throw new KeraslessError(
      "E_INPUT",
      `--csv feeds a single input, the model has ${s.inputs.length} (${s.inputs.map((i) => i.name).join(", ")}): ` +
        `use --input`,
    );
  }
  const info = s.inputs[0];
  const f = csv.features.length;
  if (info.shape.length !== 2 || info.shape[1] !== f || info.dtype !== "float32") {
    throw new KeraslessError(
      "E_INPUT_SHAPE",
      `each row gives ${f} feature${f === 1 ? "" : "s"}, a step of the model's input "${info.name}" ` +
        `has shape ${formatShape(info.shape)}` +
        (info.dtype === "float32" ? "" : ` and dtype ${info.dtype}`),
      { file },
    );
  }
  const step = new Tensor([1, f], new Float32Array(f));
  const names = model.outputs.map((o) => o.name);
  const writer = await openWriter(undefined, io.stdout, { names, rowColumn: true }, "csv");
  const bytes = await openBytes(csv.file, io.stdin ?? process.stdin);
  let inverse: number[] = [];
  const row = [0];
  try {
    const { rows } = await readCsvRows(
      bytes,
      csv,
      scaler,
      args.inverseScale,
      (columns) => {
        inverse = columns;
      },
      (values, index) => {
        step.data.set(values);
        const outputs = s.step(step);
        // The stream reuses its output tensors: copy before scaling or keeping them.
        const copies = outputs.map((o) => new Tensor(o.shape, Float32Array.from(o.data)));
        if (scaler !== undefined && args.inverseScale.length > 0) inverseScale(scaler, inverse, copies, names);
        row[0] = index;
        writer.add(copies, row);
      },
      // Everything that arrived has been predicted: write it now, not when a buffer fills.
      () => writer.flush(true),
    );
    if (rows === 0) throw new KeraslessError("E_INPUT", "no data rows", { file });
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return 0;
}
