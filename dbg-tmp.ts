import { readFileSync } from "node:fs";
import { loadModelFromBytes } from "./src/load.ts";
const seedJson = JSON.parse(readFileSync("test/fixtures/seed/model.json", "utf8"));
const w = { name: "w.h5", bytes: new Uint8Array(readFileSync("test/fixtures/seed/model.weights.h5")) };
const input = { shape: [1, 4, 3], data: new Float32Array(12) };
const variants: [string, any][] = [
  ["RepeatVector", { module: "keras.layers", class_name: "RepeatVector", config: { name: "rep", n: 2 ** 31 } }],
  ["UpSampling1D", { module: "keras.layers", class_name: "UpSampling1D", config: { name: "up", size: 2 ** 31 } }],
  ["ZeroPadding1D", { module: "keras.layers", class_name: "ZeroPadding1D", config: { name: "pad", padding: [2 ** 31, 0] } }],
  ["Reshape", { module: "keras.layers", class_name: "Reshape", config: { name: "rs", target_shape: [2 ** 31, 0] } }],
  ["RepeatVector1e8", { module: "keras.layers", class_name: "RepeatVector", config: { name: "rep", n: 1e8 } }],
];
for (const [name, layer] of variants) {
  const j = structuredClone(seedJson);
  // after the LSTM (output [batch, 4]) for RepeatVector; before the LSTM for others
  if (name.startsWith("RepeatVector")) j.config.layers.splice(2, 0, layer, { module: "keras.layers", class_name: "Flatten", config: { name: "fl" } });
  else j.config.layers.splice(1, 0, layer);
  const t = performance.now();
  try { const m = loadModelFromBytes({ name: "m.json", bytes: new TextEncoder().encode(JSON.stringify(j)) }, w); m.predict(input); console.log(name, "ok"); }
  catch (e: any) { console.log(name, e.constructor.name, e.code, String(e.message).slice(0, 150)); }
  console.log("  ", Math.round(performance.now() - t), "ms");
}
