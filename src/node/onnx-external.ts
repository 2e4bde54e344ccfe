/**
 * An ONNX model's external data files in Node: read from the model's own folder only. A
 * `location` that is absolute, climbs out of the folder, or resolves (through links) outside it
 * is an error, so a model file cannot make kerasless read other files.
 */
import { readFile, realpath } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { KeraslessError } from "../errors.js";
import type { NamedBytes } from "../format/artifact.js";
import { onnxFrontEnd } from "../onnx/front-end.js";

/** The external data files of an ONNX model loaded from a path (none for URLs and other formats). */
export async function onnxExternalFiles(
  source: string,
  model: NamedBytes,
): Promise<Record<string, Uint8Array> | undefined> {
  if (/^https?:\/\//.test(source) || !onnxFrontEnd?.accepts(model.bytes, model.name)) return undefined;
  const locations = onnxFrontEnd.externalLocations(model.bytes, model.name);
  return locations.length === 0 ? undefined : readOnnxExternal(source, locations);
}

export async function readOnnxExternal(modelPath: string, locations: string[]): Promise<Record<string, Uint8Array>> {
  const folder = await realpath(dirname(resolve(modelPath)));
  const files: Record<string, Uint8Array> = {};
  for (const location of locations) {
    const refuse = (why: string): never => {
      throw new KeraslessError("E_FORMAT", `external data location "${location}" ${why}`, { file: modelPath });
    };
    if (location.includes("\0")) refuse("contains a NUL character");
    if (isAbsolute(location) || /^[a-z]:|^[\\/]/i.test(location)) refuse("is an absolute path");
    const path = resolve(folder, location);
    if (!inside(folder, path)) refuse("leaves the model's folder");
    let real: string;
    try {
      real = await realpath(path);
    } catch (e) {
      throw new KeraslessError("E_IO", `cannot read the external data file "${location}" next to the model`, {
        file: modelPath,
        cause: e,
      });
    }
    if (!inside(folder, real)) refuse("links to a file outside the model's folder");
    files[location] = new Uint8Array(await readFile(real));
  }
  return files;
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== "" && !isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`);
}
