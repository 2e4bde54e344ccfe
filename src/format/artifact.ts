/**
 * Turns the bytes of the files Keras writes into one description: the model config, the Keras
 * version that wrote it, and where its weights are.
 *   .keras            zip with config.json, metadata.json, model.weights.h5 (object-path layout)
 *   .h5 (legacy)      HDF5 with a model_config attribute and model_weights/<layer> groups
 *   model.json + weights   to_json() output plus a legacy .h5 or a Keras 3 .weights.h5
 */
import { KeraslessError } from "../errors.js";
import { isObject } from "../layers/config.js";
import { H5Group, isHdf5, openHdf5 } from "../io/hdf5/index.js";
import { decodeUtf8, parseJson } from "../io/json.js";
import { defaultDecompressionCap, isZip, readZip } from "../io/zip.js";
import type { KerasMajor } from "../kernels/activations.js";

export interface WeightFile {
  /** "object-path": Keras 3 layout (layers/<snake_case>/vars/<i>); "legacy": weight_names attributes. */
  readonly layout: "object-path" | "legacy";
  readonly root: H5Group;
  readonly file: string;
}

export interface ModelArtifact {
  readonly file: string;
  readonly format: "keras" | "h5" | "json";
  /** As the file states it; undefined when it does not. */
  readonly kerasVersion: string | undefined;
  readonly kerasMajor: KerasMajor;
  readonly modelConfig: unknown;
  readonly weights: WeightFile;
}

export interface NamedBytes {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ReadOptions {
  /**
   * Most bytes that decompression may produce: zip members of a .keras file together, or the
   * chunks of all datasets of one HDF5 file together. Default: 16 MiB or 20x the file's size,
   * whichever is more.
   */
  maxDecompressedBytes?: number;
}

/** The decompression cap for a file of `size` bytes. */
function capFor(size: number, options: ReadOptions): number {
  const cap = options.maxDecompressedBytes;
  if (cap === undefined) return defaultDecompressionCap(size);
  if (!(typeof cap === "number" && cap >= 0))
    throw new KeraslessError("E_INPUT", `maxDecompressedBytes must be a non-negative number, got ${String(cap)}`);
  return cap;
}

export function readArtifact(model: NamedBytes, weights?: NamedBytes, options: ReadOptions = {}): ModelArtifact {
  const { bytes, name } = model;
  if (bytes.length === 0) throw new KeraslessError("E_FORMAT", "the file is empty", { file: name });
  if (isZip(bytes)) return withoutExtraWeights(readKerasZip(bytes, name, options), weights, options);
  if (isHdf5(bytes)) return withoutExtraWeights(readLegacyH5(bytes, name, options), weights, options);
  if (looksLikeJson(bytes)) {
    if (weights === undefined) {
      throw new KeraslessError("E_FORMAT", "this is a model.json architecture file: pass its weights file too", {
        file: name,
      });
    }
    return readJsonWithWeights(bytes, name, weights, options);
  }
  throw new KeraslessError(
    "E_FORMAT",
    "not a Keras model file (expected a .keras zip, an HDF5 .h5 file or a model.json)",
    { file: name },
  );
}

function withoutExtraWeights(
  artifact: ModelArtifact,
  weights: NamedBytes | undefined,
  options: ReadOptions,
): ModelArtifact {
  if (weights === undefined) return artifact;
  // Keras' model.load_weights() on a complete model: the separate file's weights win.
  return { ...artifact, weights: openWeightFile(weights, options) };
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes.subarray(0, 64)) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b;
  }
  return false;
}

function readKerasZip(bytes: Uint8Array, file: string, options: ReadOptions): ModelArtifact {
  const members = readZip(
    bytes,
    file,
    (n) =>
      n === "config.json" ||
      n === "metadata.json" ||
      n === "model.weights.h5" ||
      n === "model.weights.npz" ||
      n === "model.weights.json",
    {
      maxDecompressedBytes: capFor(bytes.length, options),
    },
  );
  const config = members.get("config.json");
  if (config === undefined) throw new KeraslessError("E_FORMAT", "the .keras archive has no config.json", { file });
  const metadataBytes = members.get("metadata.json");
  const metadata = metadataBytes === undefined ? {} : parseJson(decodeUtf8(metadataBytes), "metadata.json", file);
  const weightsBytes = members.get("model.weights.h5");
  if (weightsBytes === undefined) {
    const why = members.has("model.weights.npz")
      ? "its weights are in model.weights.npz, which kerasless does not read yet"
      : members.has("model.weights.json")
        ? "its weights are sharded (model.weights.json), which kerasless does not read yet"
        : "it has no model.weights.h5";
    throw new KeraslessError(
      members.has("model.weights.h5") ? "E_FORMAT" : "E_UNSUPPORTED",
      `the .keras archive cannot be loaded: ${why}`,
      { file },
    );
  }
  const modelConfig = parseJson(decodeUtf8(config), "config.json", file);
  const kerasVersion =
    isObject(metadata) && typeof metadata.keras_version === "string" ? metadata.keras_version : undefined;
  return {
    file,
    format: "keras",
    kerasVersion,
    kerasMajor: majorOf(kerasVersion, modelConfig),
    modelConfig,
    weights: {
      layout: "object-path",
      root: openHdf5(weightsBytes, `${file}:model.weights.h5`, {
        maxDecompressedBytes: capFor(weightsBytes.length, options),
      }),
      file: `${file}:model.weights.h5`,
    },
  };
}

function readLegacyH5(bytes: Uint8Array, file: string, options: ReadOptions): ModelArtifact {
  const root = openHdf5(bytes, file, { maxDecompressedBytes: capFor(bytes.length, options) });
  const configText = root.attr("model_config");
  if (configText === undefined) {
    const isWeightsOnly = root.attr("layer_names") !== undefined || root.has("layers") || root.has("vars");
    throw new KeraslessError(
      "E_FORMAT",
      isWeightsOnly
        ? "this HDF5 file holds weights only: load the model's architecture (model.json or .keras) " +
            "and pass this file as its weights"
        : "this HDF5 file has no model_config attribute, so it is not a saved Keras model",
      { file },
    );
  }
  if (typeof configText !== "string")
    throw new KeraslessError("E_HDF5", "the model_config attribute is not a string", { file });
  const modelConfig = parseJson(configText, "the model_config attribute", file);
  const kerasVersion = stringAttr(root, "keras_version");
  if (!root.isGroup("model_weights"))
    throw new KeraslessError("E_FORMAT", "the .h5 file has a model config but no model_weights group", { file });
  return {
    file,
    format: "h5",
    kerasVersion,
    kerasMajor: majorOf(kerasVersion, modelConfig),
    modelConfig,
    weights: { layout: "legacy", root: root.group("model_weights"), file },
  };
}

function readJsonWithWeights(
  bytes: Uint8Array,
  file: string,
  weights: NamedBytes,
  options: ReadOptions,
): ModelArtifact {
  const json = parseJson(decodeUtf8(bytes), "the model JSON", file);
  const weightFile = openWeightFile(weights, options);
  // to_json() output is {"class_name", "config", "keras_version", "backend"}; a .keras config.json has no version.
  let kerasVersion = isObject(json) && typeof json.keras_version === "string" ? json.keras_version : undefined;
  kerasVersion ??= stringAttr(weightFile.root, "keras_version");
  return {
    file,
    format: "json",
    kerasVersion,
    kerasMajor: majorOf(kerasVersion, json),
    modelConfig: json,
    weights: weightFile,
  };
}

function openWeightFile({ bytes, name }: NamedBytes, options: ReadOptions): WeightFile {
  if (!isHdf5(bytes)) {
    throw new KeraslessError(
      "E_FORMAT",
      isZip(bytes)
        ? "expected an HDF5 weights file, got a zip (.keras): load that file as the model instead"
        : "the weights file is not an HDF5 file",
      { file: name },
    );
  }
  const root = openHdf5(bytes, name, { maxDecompressedBytes: capFor(bytes.length, options) });
  if (root.attr("layer_names") !== undefined) return { layout: "legacy", root, file: name };
  if (root.isGroup("model_weights")) return { layout: "legacy", root: root.group("model_weights"), file: name };
  return { layout: "object-path", root, file: name };
}

function stringAttr(group: H5Group, name: string): string | undefined {
  const v = group.attr(name);
  return typeof v === "string" ? v : undefined;
}

/**
 * The Keras major version whose semantics apply. Files state it; when one does not, a config
 * with Keras 3's `module` keys is Keras 3, anything else Keras 2.
 */
function majorOf(version: string | undefined, config: unknown): KerasMajor {
  const major = version === undefined ? NaN : Number.parseInt(version, 10);
  if (major === 2 || major === 1) return 2;
  if (major >= 3) return 3;
  return isObject(config) && typeof config.module === "string" ? 3 : 2;
}
