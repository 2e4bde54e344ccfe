/**
 * The seed example end to end: load the .keras file Keras saved, predict the look-back windows of
 * LSTM_sample.csv, print the predictions next to Keras' own, and draw the article's scatter plot.
 *
 *   npm run demo
 */
import { writeFileSync } from "node:fs";
import { scatterSvg } from "../../src/cli/plot.js";
import { loadModel } from "../../src/node.js";
import { LOOK_BACK, here, kerasPredictions, seedWindows } from "./windows.js";

const model = await loadModel(`${here}model.keras`);
console.log(`${model.name}: written by Keras ${model.kerasVersion}, inputs ${JSON.stringify(model.inputs[0].shape)}\n`);
model.summary(console.log);

const windows = seedWindows();
const [predicted] = model.predict(windows);
const keras = kerasPredictions();

console.log(`\n${windows.shape[0]} windows of ${LOOK_BACK} rows from LSTM_sample.csv\n`);
console.log("window   Keras          kerasless      |difference|");
let worst = 0;
keras.forEach((expected, i) => {
  const got = predicted.data[i];
  const difference = Math.abs(got - expected);
  worst = Math.max(worst, difference);
  const columns = [String(i).padStart(6), expected.toFixed(8).padStart(11), got.toFixed(8).padStart(11)];
  console.log(`${columns.join("   ")}    ${difference.toExponential(1)}`);
});

const plot = `${here}scatter.svg`;
writeFileSync(
  plot,
  scatterSvg(keras, predicted.data, {
    title: `kerasless vs Keras, max |error| = ${worst.toExponential(2)}`,
    xLabel: "Keras",
    yLabel: "kerasless",
  }),
);
console.log(`\nmax |kerasless - Keras| = ${worst.toExponential(2)}; scatter plot written to examples/seed/scatter.svg`);
if (worst > 1e-5) process.exitCode = 1;
