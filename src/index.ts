/**
 * kerasless: run Keras models from the files Keras writes, in any JavaScript runtime.
 * This entry uses no Node built-ins; a string source is fetched as a URL.
 * @module kerasless
 */
import { fetchBytes, makeLoadModel } from "./api.js";
import { loadModelFromBytes } from "./load.js";

export * from "./exports.js";

/** Loads a `.keras`, legacy `.h5`, or `model.json` (+ `options.weights`) model. */
export const loadModel = makeLoadModel(fetchBytes, loadModelFromBytes);
