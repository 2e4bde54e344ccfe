/** The seed article's inputs: look-back windows of X1..X3 from LSTM_sample.csv. */
import { readFileSync } from "node:fs";
import { csvWindows, parseCsv } from "../../src/cli/csv.js";
import { Tensor } from "../../src/node.js";

export const here = new URL(".", import.meta.url).pathname;
export const LOOK_BACK = 4;
export const FEATURES = ["X1", "X2", "X3"];

export function seedWindows(): Tensor {
  const file = `${here}LSTM_sample.csv`;
  const { shape, data } = csvWindows(parseCsv(readFileSync(file, "utf8"), file), FEATURES, LOOK_BACK, file);
  return new Tensor(shape, data);
}

/** The predictions real Keras made for the same windows (computed when the model was saved). */
export function kerasPredictions(): number[] {
  return JSON.parse(readFileSync(`${here}io.json`, "utf8")).outputs[0].data;
}
