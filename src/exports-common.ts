// What every entry point exports besides loadModel, loadModelFromBytes and supportedLayers (which
// depend on the layers an entry point runs).
export { KeraslessError, type ErrorCode } from "./errors.js";
export { Tensor, type DType, type NestedArray, type TensorData } from "./tensor.js";
export { Model, type LayerInfo } from "./model.js";
export { ModelStream, type StreamOptions, type StreamState } from "./stream.js";
export type { TensorInfo, TensorLike, InputValue, PredictInput } from "./inputs.js";
export type { SummaryData, LayerRow } from "./summary.js";
export type { ModelSource, LoadOptions } from "./api.js";
export type { LoadBytesOptions } from "./load-with.js";
export type { ReadOptions } from "./format/artifact.js";
export type { LayerDefinition } from "./layers/registry-types.js";
export { activationNames } from "./kernels/activations.js";
export {
  setKernelPath,
  kernelPath,
  kernelThreads,
  useKernelModule,
  type KernelPath,
  type WasmFeatures,
} from "./kernels/wasm.js";
