/**
 * The Node entry point: like the core entry, but a string source is a file path
 * (or an http(s) URL, which is fetched).
 * @module kerasless in Node
 */
import { readFile } from "node:fs/promises";
import { fetchBytes, makeLoadModel } from "./api.js";

export * from "./exports.js";
export { setKernelThreads } from "./node/kernel-threads.js";

const readPathOrUrl = async (source: string): Promise<Uint8Array> =>
  /^https?:\/\//.test(source) ? fetchBytes(source) : new Uint8Array(await readFile(source));

/** Loads a `.keras`, legacy `.h5`, or `model.json` (+ `options.weights`) model from a path or bytes. */
export const loadModel = makeLoadModel(readPathOrUrl);
