/**
 * The ONNX front end is registered rather than imported, so that a browser bundle of the core
 * leaves it out (about 18 KB gzip): the Node entry registers it, browsers import "kerasless/onnx".
 * Detection stays here: it is a few bytes, and a .onnx file without the front end gets a clear error.
 */
import { KeraslessError } from "../errors.js";
import type { Model } from "../model.js";

export interface OnnxFrontEnd {
  load(bytes: Uint8Array, file: string, externalData?: Record<string, Uint8Array>): Model;
  /** The external data files a model names. */
  externalLocations(bytes: Uint8Array, file: string): string[];
}

let registered: OnnxFrontEnd | null = null;

export function registerOnnxFrontEnd(frontEnd: OnnxFrontEnd): void {
  registered = frontEnd;
}

export function onnxFrontEnd(file: string): OnnxFrontEnd {
  if (registered === null)
    throw new KeraslessError("E_UNSUPPORTED", 'an ONNX model: import "kerasless/onnx" to load it', { file });
  return registered;
}

/**
 * True for what is probably an ONNX file: named .onnx, or starting as a ModelProto does
 * (ir_version, field 1, a small varint, then a length-delimited field) when no other format matched.
 */
export function isOnnx(bytes: Uint8Array, name: string): boolean {
  if (/\.onnx$/i.test(name)) return true;
  return bytes.length > 2 && bytes[0] === 0x08 && bytes[1] >= 3 && bytes[1] <= 20 && (bytes[2] & 7) === 2;
}
