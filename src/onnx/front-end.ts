/**
 * The ONNX front end is registered rather than imported, so that a browser bundle of the core
 * leaves it out (about 19 KB gzip): the Node entry registers it, browsers import "kerasless/onnx".
 * Without it, a .onnx file is not recognised (E_FORMAT, as any unknown file).
 */
import type { Model } from "../model.js";

export interface OnnxFrontEnd {
  /** True for what is probably an ONNX file (checked after the Keras formats). */
  accepts(bytes: Uint8Array, file: string): boolean;
  load(bytes: Uint8Array, file: string, externalData?: Record<string, Uint8Array>): Model;
  /** The external data files a model names. */
  externalLocations(bytes: Uint8Array, file: string): string[];
}

export let onnxFrontEnd: OnnxFrontEnd | null = null;

export function registerOnnxFrontEnd(frontEnd: OnnxFrontEnd): void {
  onnxFrontEnd = frontEnd;
}
