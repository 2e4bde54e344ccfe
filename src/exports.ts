// Everything both main entry points (kerasless in Node and elsewhere) export besides loadModel.
export * from "./exports-common.js";
export { loadModelFromBytes } from "./load.js";
export { supportedLayers } from "./layers/registry.js";
