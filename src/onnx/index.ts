/**
 * The ONNX front end: importing this module (the package's "kerasless/onnx" entry) lets
 * loadModel() read .onnx files. The Node entry imports it already.
 * @module kerasless/onnx
 */
import { registerOnnxFrontEnd } from "./front-end.js";
import { externalLocations, isOnnx, loadOnnx } from "./load.js";

registerOnnxFrontEnd({ accepts: isOnnx, load: loadOnnx, externalLocations });

export { onnxOps } from "./ops/registry.js";
export type { OpDefinition } from "./ops/types.js";
