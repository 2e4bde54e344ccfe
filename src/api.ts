/** The public loading API, parameterized by how a string source is read (URL or path). */
import { KeraslessError, describeThrown } from "./errors.js";
import type { NamedBytes } from "./format/artifact.js";
import type { LoadFromBytes } from "./load-with.js";
import type { Model } from "./model.js";

/** File bytes, or a string: a path in Node, a URL elsewhere. */
export type ModelSource = Uint8Array | ArrayBuffer | Blob | string;

export interface LoadOptions {
  /** The weights file, for a model.json architecture (or to override a model's own weights). */
  weights?: ModelSource;
  /** A name for the model file in error messages (defaults to the path, URL or "<bytes>"). */
  name?: string;
  /**
   * Most bytes decompression may produce (the zip members of a .keras file together, or all the
   * chunks of an HDF5 file); more is an E_LIMIT error. Default: 16 MiB or 20x the file's size.
   */
  maxDecompressedBytes?: number;
  /**
   * An ONNX model's external data files by the `location` the model names. In Node, files next
   * to a model loaded from a path are read without this (from the model's folder only).
   */
  externalData?: Record<string, Uint8Array | ArrayBuffer>;
}

/** Reads the external data files of an ONNX model loaded from `source` (Node: from its folder). */
export type ExternalReader = (source: string, model: NamedBytes) => Promise<Record<string, Uint8Array> | undefined>;

export type StringReader = (source: string) => Promise<Uint8Array>;

export async function readSource(source: ModelSource, readString: StringReader, name?: string): Promise<NamedBytes> {
  if (typeof source === "string") {
    let bytes: Uint8Array;
    try {
      bytes = await readString(source);
    } catch (e) {
      if (e instanceof KeraslessError) throw e.inFile(name ?? source);
      throw new KeraslessError("E_IO", `cannot read the file (${describeThrown(e)})`, {
        file: name ?? source,
        cause: e,
      });
    }
    return { name: name ?? source, bytes };
  }
  if (source instanceof Uint8Array) return { name: name ?? "<bytes>", bytes: source };
  if (source instanceof ArrayBuffer) return { name: name ?? "<bytes>", bytes: new Uint8Array(source) };
  if (typeof Blob !== "undefined" && source instanceof Blob) {
    const fileName = (source as { name?: unknown }).name;
    return {
      name: name ?? (typeof fileName === "string" ? fileName : "<blob>"),
      bytes: new Uint8Array(await source.arrayBuffer()),
    };
  }
  throw new KeraslessError("E_INPUT", "loadModel() takes a Uint8Array, an ArrayBuffer, a Blob or a string");
}

/** loadModel for an entry point: how it reads a string source, and which layers it runs. */
export function makeLoadModel(
  readString: StringReader,
  loadModelFromBytes: LoadFromBytes,
  readExternal?: ExternalReader,
): (source: ModelSource, options?: LoadOptions) => Promise<Model> {
  return async (source, options = {}) => {
    const model = await readSource(source, readString, options.name);
    const weights = options.weights === undefined ? undefined : await readSource(options.weights, readString);
    const externalData = await onnxExternalData(source, model, options, readExternal);
    return loadModelFromBytes(model, weights, { maxDecompressedBytes: options.maxDecompressedBytes, externalData });
  };
}

/** The external data files of an ONNX model: as given in `options`, else read next to a path source. */
export async function onnxExternalData(
  source: ModelSource,
  model: NamedBytes,
  options: LoadOptions,
  readExternal: ExternalReader | undefined,
): Promise<Record<string, Uint8Array> | undefined> {
  const given = options.externalData;
  if (given === undefined) return typeof source === "string" ? readExternal?.(source, model) : undefined;
  const files: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(given)) files[name] = new Uint8Array(bytes);
  return files;
}

/** Reads a URL with fetch (browsers, Deno, Bun, workers). */
export const fetchBytes: StringReader = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new KeraslessError("E_IO", `HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
};
