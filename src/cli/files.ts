/** Reading tensors from .npy/.json files, for the command line (outputs: outputs.ts). */
import { readFile, writeFile } from "node:fs/promises";
import { KeraslessError, describeThrown } from "../errors.js";
import { isNpy, parseNpy } from "../io/npy.js";

/** A tensor read from a file, with where it came from (for messages). */
export interface FileTensor {
  shape: number[];
  dtype: "float32" | "int32";
  data: Float32Array | Int32Array;
  /** The file it was read from. */
  file: string;
  /** Which tensor of the file, e.g. `outputs[1]`, when the file holds several. */
  where?: string;
  name?: string;
}

export async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new KeraslessError("E_IO", `cannot read the file (${describeThrown(e)})`, { file, cause: e });
  }
}

export async function writeBytes(file: string, bytes: Uint8Array | string): Promise<void> {
  try {
    await writeFile(file, bytes);
  } catch (e) {
    throw new KeraslessError("E_IO", `cannot write the file (${describeThrown(e)})`, { file, cause: e });
  }
}

export async function readText(file: string): Promise<string> {
  const text = new TextDecoder("utf-8").decode(await readBytes(file));
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

/**
 * The tensors a file holds: one for a .npy or a `{shape, dtype, data}` JSON file; for an
 * io.json-style file (`{"inputs": [...], "outputs": [...]}`), its list for `role`, refused
 * before any tensor is read when it holds more than the `max` the model has.
 */
export async function readTensors(file: string, role: "inputs" | "outputs", max: number): Promise<FileTensor[]> {
  const bytes = await readBytes(file);
  if (isNpy(bytes)) return [{ ...parseNpy(bytes, file), file }];
  const text = new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "");
  if (!/^\s*[{[]/.test(text)) {
    const csv = /\.(?:csv|tsv|txt)$/i.test(file) ? "; a CSV file is read with --csv FILE --features A,B,C" : "";
    throw new KeraslessError(
      "E_FORMAT",
      `not a tensor file (expected a .npy file or JSON {"shape", "dtype", "data"})${csv}`,
      { file },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new KeraslessError("E_FORMAT", `not valid JSON (${describeThrown(e)})`, { file });
  }
  if (!isObject(json))
    throw new KeraslessError("E_FORMAT", 'expected a JSON object {"shape", "dtype", "data"}', { file });
  if ("shape" in json || "data" in json) return [jsonTensor(json, file)];
  if (Array.isArray(json.inputs) || Array.isArray(json.outputs)) {
    const list = json[role];
    if (!Array.isArray(list)) {
      throw new KeraslessError(
        "E_FORMAT",
        `has no "${role}" list (it has "${role === "inputs" ? "outputs" : "inputs"}")`,
        { file },
      );
    }
    if (list.length > max) {
      const has = `the model has ${max} ${max === 1 ? role.slice(0, -1) : role}`;
      throw new KeraslessError("E_INPUT", `holds ${list.length} tensors in "${role}", ${has}`, { file });
    }
    return list.map((item, i) => {
      const where = `${role}[${i}]`;
      if (!isObject(item))
        throw new KeraslessError("E_FORMAT", `${where} is not a {"shape", "dtype", "data"} object`, { file });
      return jsonTensor(item, file, where);
    });
  }
  throw new KeraslessError("E_FORMAT", 'expected {"shape", "dtype", "data"} or {"inputs": [...], "outputs": [...]}', {
    file,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

function jsonTensor(json: Record<string, unknown>, file: string, where?: string): FileTensor {
  const fail = (problem: string): never => {
    throw new KeraslessError("E_FORMAT", where === undefined ? problem : `${where}: ${problem}`, { file });
  };
  const { shape, data } = json;
  const dtype = json.dtype ?? "float32";
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    return fail('"shape" must be a list of sizes');
  if (!Array.isArray(data)) return fail('"data" must be a flat list of numbers (row-major)');
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (data.length !== size)
    return fail(`"shape" [${shape.join(", ")}] needs ${size} values, "data" has ${data.length}`);
  let values: Float32Array | Int32Array;
  if (dtype === "float32" || dtype === "float64") {
    values = new Float32Array(size);
  } else if (dtype === "int32" || dtype === "int64") {
    values = new Int32Array(size);
  } else {
    return fail(`"dtype" must be "float32" or "int32", got ${JSON.stringify(dtype)}`);
  }
  for (let i = 0; i < size; i++) {
    const raw = data[i];
    const v =
      typeof raw === "number"
        ? raw
        : typeof raw === "string" && Object.hasOwn(NON_FINITE, raw)
          ? NON_FINITE[raw]
          : undefined;
    if (v === undefined) return fail(`"data"[${i}] is not a number: ${JSON.stringify(raw)}`);
    if (values instanceof Int32Array && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647)) {
      return fail(`"data"[${i}] = ${v} is not a 32-bit integer, but "dtype" is ${String(dtype)}`);
    }
    values[i] = v;
  }
  const name = typeof json.name === "string" ? json.name : undefined;
  return {
    shape: [...(shape as number[])],
    dtype: values instanceof Int32Array ? "int32" : "float32",
    data: values,
    file,
    where,
    name,
  };
}

/** How a tensor from a file is named in messages: `file` or `file (outputs[1])`. */
export function describeSource(t: FileTensor): string {
  return t.where === undefined ? t.file : `${t.file} (${t.where})`;
}
