/**
 * The web demo: load a Keras model file and a CSV in the browser, show the model summary, predict
 * the CSV's look-back windows and chart them against the actual values.
 *
 * Built by `npm run build` into examples/web/build/ (the import of the core is served by the
 * browser bundle, dist/browser/kerasless.min.js); served by `npm run web`.
 */
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { csvWindows, parseCsv, type Csv } from "../../src/cli/csv.js";
import { loadModel, type Model, type SummaryData, type Tensor } from "../../src/index.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found as T;
};

const SEED_MODEL = "build/seed/model.keras";
const SEED_CSV = "build/seed/LSTM_sample.csv";
/** Output values per window shown in the table; the chart shows the first. */
const MAX_OUTPUT_COLUMNS = 8;

const FORMAT_NAMES: Record<Model["format"], string> = {
  keras: ".keras file",
  h5: "legacy .h5 file",
  json: "model.json + weights",
  onnx: ".onnx file",
};

const state: { model?: Model; csv?: Csv; csvName?: string; chart?: Chart } = {};

// ---------------------------------------------------------------- messages

function showError(id: string, error: unknown): void {
  const box = element(id);
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError(id: string): void {
  element(id).hidden = true;
}

/** Runs a step of the page; a failure is shown in the section's error line instead of thrown. */
async function guarded(errorId: string, step: () => Promise<void> | void): Promise<void> {
  clearError(errorId);
  try {
    await step();
  } catch (e) {
    showError(errorId, e);
  }
}

// ---------------------------------------------------------------- model

function shapeText(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? "None" : String(d))).join(", ")}${shape.length === 1 ? "," : ""})`;
}

function setRow(row: HTMLTableRowElement, cells: string[], tag: "td" | "th" = "td"): void {
  for (const text of cells) {
    const cell = document.createElement(tag);
    cell.textContent = text;
    row.append(cell);
  }
}

function renderSummary(model: Model): void {
  const data: SummaryData = model.summaryData();
  const functional = data.className === "Functional";
  const table = element<HTMLTableElement>("summary");
  table.tHead!.replaceChildren();
  table.tBodies[0].replaceChildren();
  setRow(
    table.tHead!.insertRow(),
    ["Layer (type)", "Output Shape", "Param #", ...(functional ? ["Connected to"] : [])],
    "th",
  );
  for (const layer of data.rows) {
    const shapes = layer.outputShapes.map(shapeText).join(", ");
    const connected = functional ? [layer.connectedTo.join(", ") || "-"] : [];
    setRow(table.tBodies[0].insertRow(), [
      `${layer.name} (${layer.className})`,
      shapes,
      layer.params.toLocaleString("en-US"),
      ...connected,
    ]);
  }
  const total = data.trainableParams + data.nonTrainableParams;
  element("summary-totals").textContent =
    `Total params: ${total.toLocaleString("en-US")} · trainable: ${data.trainableParams.toLocaleString("en-US")} · ` +
    `non-trainable: ${data.nonTrainableParams.toLocaleString("en-US")}`;
  const io = (list: Model["inputs"]): string =>
    list.map((t) => `${t.name} ${shapeText(t.shape)} ${t.dtype}`).join("; ");
  const keras = `Keras ${model.kerasVersion ?? "(version not recorded)"}`;
  element("model-meta").textContent =
    `"${model.name}" (${model.className}), ${FORMAT_NAMES[model.format]} written by ${keras}. ` +
    `Inputs: ${io(model.inputs)}. Outputs: ${io(model.outputs)}.`;
  element("model-info").hidden = false;
}

async function useModel(load: () => Promise<Model>): Promise<void> {
  await guarded("model-error", async () => {
    element("model-info").hidden = true;
    state.model = undefined;
    const model = await load();
    state.model = model;
    renderSummary(model);
    if (state.csv !== undefined) applyDefaults();
  });
  predict();
}

/** One model file, or a model.json together with its weights file. */
function modelFromFiles(files: File[]): Promise<Model> {
  const architecture = files.find((f) => f.name.toLowerCase().endsWith(".json"));
  if (architecture !== undefined) {
    const weights = files.find((f) => f !== architecture);
    if (weights === undefined)
      throw new Error(`${architecture.name} holds only the architecture: drop it together with its weights file`);
    return loadModel(architecture, { weights });
  }
  if (files.length !== 1) throw new Error("drop one .keras or .h5 file (or a model.json with its weights file)");
  return loadModel(files[0]);
}

// ---------------------------------------------------------------- data

const modelInput = (): Model["inputs"][number] | undefined => state.model?.inputs[0];

function featureBoxes(): HTMLInputElement[] {
  return Array.from(element("feature-columns").querySelectorAll<HTMLInputElement>("input[type=checkbox]"));
}

/** Sensible choices for a new model or CSV: as many leading columns as the model has features. */
function applyDefaults(): void {
  const csv = state.csv!;
  const input = modelInput();
  const featureCount =
    input === undefined ? csv.header.length - 1 : (input.shape[input.shape.length - 1] ?? csv.header.length - 1);
  featureBoxes().forEach((box, i) => (box.checked = i < featureCount));
  const target = element<HTMLSelectElement>("target-column");
  target.value = csv.header.length > featureCount ? csv.header[csv.header.length - 1] : "";
  const lookBack = element<HTMLInputElement>("look-back");
  const sequence = input !== undefined && input.shape.length === 3;
  const steps = sequence ? input.shape[1] : null;
  if (steps !== null && steps !== undefined) lookBack.value = String(steps);
  lookBack.disabled = input !== undefined && !sequence;
  if (lookBack.disabled) lookBack.value = "1";
}

function renderCsvOptions(csv: Csv): void {
  const columns = element("feature-columns");
  columns.replaceChildren();
  csv.header.forEach((name) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    label.append(box, ` ${name}`);
    columns.append(label);
  });
  const target = element<HTMLSelectElement>("target-column");
  target.replaceChildren(new Option("(none)", ""), ...csv.header.map((name) => new Option(name, name)));
  element("csv-options").hidden = false;
  applyDefaults();
}

async function useCsv(name: string, text: () => Promise<string>): Promise<void> {
  await guarded("csv-error", async () => {
    element("csv-options").hidden = true;
    state.csv = undefined;
    const csv = parseCsv(await text(), name);
    state.csv = csv;
    state.csvName = name;
    renderCsvOptions(csv);
  });
  predict();
}

// ---------------------------------------------------------------- predictions

const formatValue = (v: number): string => (Number.isFinite(v) ? v.toPrecision(8) : String(v));

interface Run {
  windows: number;
  lookBack: number;
  output: Tensor;
  /** The target column at each window's last row, as written in the CSV, if a target is chosen. */
  actual: string[] | undefined;
  targetName: string;
  milliseconds: number;
}

function runModel(model: Model, csv: Csv, file: string): Run {
  if (model.inputs.length !== 1) throw new Error(`this page feeds one input; the model has ${model.inputs.length}`);
  const input = model.inputs[0];
  if (input.shape.length !== 2 && input.shape.length !== 3) {
    const shapes = "inputs of shape (batch, features) or (batch, time, features)";
    throw new Error(`this page feeds ${shapes}; the model's is ${shapeText(input.shape)}`);
  }
  const features = featureBoxes()
    .filter((b) => b.checked)
    .map((b) => b.value);
  if (features.length === 0) throw new Error("choose at least one feature column");
  const lookBack = input.shape.length === 2 ? 1 : Number(element<HTMLInputElement>("look-back").value);
  if (!Number.isInteger(lookBack) || lookBack < 1)
    throw new Error("the look-back must be a whole number of rows, at least 1");
  const windows = csvWindows(csv, features, lookBack, file);
  const shape = input.shape.length === 2 ? [windows.shape[0], windows.shape[2]] : windows.shape;
  const started = performance.now();
  const [output] = model.predict({ shape, data: windows.data });
  const milliseconds = performance.now() - started;
  const targetName = element<HTMLSelectElement>("target-column").value;
  const targetIndex = csv.header.indexOf(targetName);
  const actual =
    targetIndex < 0
      ? undefined
      : Array.from({ length: windows.shape[0] }, (_, i) => csv.rows[i + lookBack - 1].fields[targetIndex].trim());
  return { windows: windows.shape[0], lookBack, output, actual, targetName, milliseconds };
}

function renderRun(run: Run, model: Model): void {
  const perWindow = run.output.data.length / run.windows;
  const shown = Math.min(perWindow, MAX_OUTPUT_COLUMNS);
  const outputName = model.outputs[0].name;
  const table = element<HTMLTableElement>("predictions");
  table.tHead!.replaceChildren();
  table.tBodies[0].replaceChildren();
  const valueHeads = Array.from({ length: shown }, (_, k) =>
    perWindow === 1 ? `predicted (${outputName})` : `${outputName}[${k}]`,
  );
  setRow(
    table.tHead!.insertRow(),
    ["window", "rows", ...(run.actual ? [`actual (${run.targetName})`] : []), ...valueHeads],
    "th",
  );
  for (let i = 0; i < run.windows; i++) {
    const row = table.tBodies[0].insertRow();
    const values = Array.from({ length: shown }, (_, k) => formatValue(run.output.data[i * perWindow + k]));
    setRow(row, [String(i), `${i + 1}–${i + run.lookBack}`, ...(run.actual ? [run.actual[i]] : []), ...values]);
    row.cells[row.cells.length - shown].classList.add("predicted");
  }
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  element("run-info").textContent =
    `${plural(run.windows, "window")} of ${plural(run.lookBack, "row")} from ${state.csvName}, ` +
    `output shape ${shapeText(run.output.shape)}, predicted in ${run.milliseconds.toFixed(1)} ms.` +
    (perWindow > 1 ? ` The chart shows the first of the ${perWindow} values per window.` : "");
  renderChart(run);
}

function renderChart(run: Run): void {
  const perWindow = run.output.data.length / run.windows;
  // x: the data row (1-based) each window ends at, the row whose value the model predicts.
  const at = (i: number): number => i + run.lookBack;
  const predicted = Array.from({ length: run.windows }, (_, i) => ({ x: at(i), y: run.output.data[i * perWindow] }));
  const datasets = [
    ...(run.actual
      ? [
          {
            label: `actual (${run.targetName})`,
            data: run.actual.map((text, i) => ({ x: at(i), y: text === "" ? Number.NaN : Number(text) })),
            borderColor: "#1f77b4",
            backgroundColor: "#1f77b4",
          },
        ]
      : []),
    {
      label: "predicted (kerasless)",
      data: predicted,
      borderColor: "#d62728",
      backgroundColor: "#d62728",
      borderDash: [6, 3],
    },
  ];
  state.chart?.destroy();
  state.chart = new Chart(element<HTMLCanvasElement>("chart"), {
    type: "line",
    data: { datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: {
          type: "linear",
          title: { display: true, text: "row (end of the look-back window)" },
          ticks: { stepSize: 1 },
        },
        y: { title: { display: true, text: "value" } },
      },
      plugins: { legend: { position: "top" } },
    },
  });
}

function predict(): void {
  const { model, csv, csvName } = state;
  const section = element("results-section");
  if (model === undefined || csv === undefined || csvName === undefined) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  clearError("run-error");
  try {
    renderRun(runModel(model, csv, csvName), model);
    section.dataset.state = "done";
  } catch (e) {
    element<HTMLTableElement>("predictions").tBodies[0].replaceChildren();
    element("run-info").textContent = "";
    state.chart?.destroy();
    state.chart = undefined;
    showError("run-error", e);
    section.dataset.state = "error";
  }
}

// ---------------------------------------------------------------- wiring

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

function dropZone(zoneId: string, inputId: string, take: (files: File[]) => void): void {
  const zone = element(zoneId);
  const input = element<HTMLInputElement>(inputId);
  input.addEventListener("change", () => {
    if (input.files !== null && input.files.length > 0) take(Array.from(input.files));
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length > 0) take(files);
  });
}

dropZone("model-drop", "model-file", (files) => void useModel(() => modelFromFiles(files)));
dropZone("csv-drop", "csv-file", (files) => void useCsv(files[0].name, () => files[0].text()));
element("seed-model").addEventListener(
  "click",
  () => void useModel(() => loadModel(SEED_MODEL, { name: "model.keras" })),
);
element("seed-csv").addEventListener(
  "click",
  () => void useCsv("LSTM_sample.csv", async () => (await fetchOk(SEED_CSV)).text()),
);
element("csv-options").addEventListener("change", predict);
element("csv-options").addEventListener("submit", (event) => event.preventDefault());
document.body.dataset.ready = "true";
