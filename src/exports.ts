// Everything both entry points export besides loadModel.
export { KeraslessError, type ErrorCode } from "./errors.js";
export { Tensor, type DType, type NestedArray, type TensorData } from "./tensor.js";
export { Model, type LayerInfo } from "./model.js";
export { ModelStream, type StreamOptions, type StreamState } from "./stream.js";
export type { TensorInfo, TensorLike, InputValue, PredictInput } from "./inputs.js";
export type { SummaryData, LayerRow } from "./summary.js";
export type { ModelSource, LoadOptions } from "./api.js";
export { loadModelFromBytes, type LoadBytesOptions } from "./load.js";
export type { ReadOptions } from "./format/artifact.js";
export { supportedLayers, type LayerDefinition } from "./layers/registry.js";
export { activationNames } from "./kernels/activations.js";
export {
  setKernelPath,
  kernelPath,
  kernelThreads,
  useKernelModule,
  type KernelPath,
  type WasmFeatures,
} from "./kernels/wasm.js";
