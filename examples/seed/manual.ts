/**
 * The seed article, by hand: take the weights out of the loaded model, split the LSTM kernels
 * into the i/f/c/o gates, replay the cell step by step, and check it equals model.predict().
 *
 *   node --import tsx examples/seed/manual.ts
 */
import { loadModel } from "../../src/node.js";
import { here, seedWindows } from "./windows.js";

const model = await loadModel(`${here}model.keras`);
// [windows, lookBack, features] as nested arrays: windows[k][t] is the feature row at step t.
const windows = seedWindows().toArray() as number[][][];

// W, U, b, Wout, bout = model.get_weights()
const [W, U, b, Wout, bout] = model.getWeights();
const units = U.shape[0]; // 3
const features = W.shape[0]; // 3

/** Column block `gate` (0=i, 1=f, 2=c, 3=o) of a [rows, 4*units] matrix, as rows of numbers. */
const gateColumns = (m: { shape: readonly number[]; data: Float32Array | Int32Array }, gate: number): number[][] =>
  Array.from({ length: m.shape[0] }, (_, r) =>
    Array.from({ length: units }, (_, j) => m.data[r * 4 * units + gate * units + j]),
  );
const [W_i, W_f, W_c, W_o] = [0, 1, 2, 3].map((g) => gateColumns(W, g));
const [U_i, U_f, U_c, U_o] = [0, 1, 2, 3].map((g) => gateColumns(U, g));
const [b_i, b_f, b_c, b_o] = [0, 1, 2, 3].map((g) => Array.from(b.data.subarray(g * units, (g + 1) * units)));

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
/** x·Wg + h·Ug + bg for one gate. */
const affine = (x: number[], Wg: number[][], h: number[], Ug: number[][], bg: number[]) =>
  bg.map(
    (bias, j) => bias + x.reduce((s, xk, k) => s + xk * Wg[k][j], 0) + h.reduce((s, hk, k) => s + hk * Ug[k][j], 0),
  );

function lstmByHand(window: number[][]): number {
  let h = new Array<number>(units).fill(0);
  let c = new Array<number>(units).fill(0);
  for (const x of window) {
    const i = affine(x, W_i, h, U_i, b_i).map(sigmoid);
    const f = affine(x, W_f, h, U_f, b_f).map(sigmoid);
    const g = affine(x, W_c, h, U_c, b_c).map(Math.tanh);
    const o = affine(x, W_o, h, U_o, b_o).map(sigmoid);
    c = c.map((cj, j) => f[j] * cj + i[j] * g[j]);
    h = o.map((oj, j) => oj * Math.tanh(c[j]));
  }
  // The Dense(1) head: y = h·Wout + bout
  return h.reduce((s, hj, j) => s + hj * Wout.data[j], bout.data[0]);
}

const [predicted] = model.predict(windows);
console.log(`LSTM(${units}) over ${windows[0].length} steps of ${features} features, then Dense(1)\n`);
console.log("window   by hand      model.predict   difference");
let worst = 0;
windows.forEach((window, k) => {
  const manual = lstmByHand(window);
  const difference = Math.abs(manual - predicted.data[k]);
  worst = Math.max(worst, difference);
  const columns = [String(k).padStart(6), manual.toFixed(7).padStart(10), predicted.data[k].toFixed(7).padStart(13)];
  console.log(`${columns.join("   ")}   ${difference.toExponential(1)}`);
});
console.log(`\nlargest difference: ${worst.toExponential(2)} (float32 rounding)`);
if (worst > 1e-5) {
  console.error("the manual cell and model.predict disagree");
  process.exit(1);
}
