/**
 * The Node entry point: like the core entry, but a string source is a file path
 * (or an http(s) URL, which is fetched), and loadModelPool() splits large batches over threads.
 * @module kerasless in Node
 */
import { makeLoadModel } from "./api.js";
import { loadModelFromBytes } from "./load.js";
import { readPathOrUrl } from "./node/read.js";
import { onnxExternalFiles } from "./node/onnx-external.js";
import "./onnx/index.js"; // Node reads .onnx files out of the box

export * from "./exports.js";
export { loadModelPool, ModelPool, type PoolOptions } from "./node/pool.js";
export { setKernelThreads } from "./node/kernel-threads.js";

/** Loads a `.keras`, legacy `.h5`, `model.json` (+ `options.weights`) or `.onnx` model from a path or bytes. */
export const loadModel = makeLoadModel(readPathOrUrl, loadModelFromBytes, onnxExternalFiles);
