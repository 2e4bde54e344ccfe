/** predict() and stream() inputs of an ONNX model, validated against the graph's inputs. */
import { KeraslessError } from "../errors.js";
import { normalizeInputs, type InputValue, type PredictInput, type TensorInfo } from "../inputs.js";
import { Tensor } from "../tensor.js";

/**
 * Like normalizeInputs, but each input checked on its own: ONNX inputs need not share a batch
 * axis (a time-first x and [layers, batch, units] states).
 */
export function onnxInputs(given: PredictInput, infos: readonly TensorInfo[]): Tensor[] {
  if (infos.length === 1) return normalizeInputs(given, infos);
  if (Array.isArray(given)) {
    if (given.length !== infos.length)
      throw new KeraslessError(
        "E_INPUT",
        `the model has ${infos.length} inputs (${infos.map((i) => i.name).join(", ")}), got a list of ${given.length}`,
      );
    return infos.map((info, i) => normalizeInputs(given[i] as InputValue, [info])[0]);
  }
  const record = given as Record<string, InputValue>;
  if (typeof record !== "object" || record === null || given instanceof Tensor)
    throw new KeraslessError("E_INPUT", `the model has ${infos.length} inputs: pass a list or a record keyed by name`);
  const unknown = Object.keys(record).filter((k) => !infos.some((i) => i.name === k));
  if (unknown.length > 0) throw new KeraslessError("E_INPUT", `unknown input name(s) ${unknown.join(", ")}`);
  return infos.map((info) => {
    if (!Object.hasOwn(record, info.name)) throw new KeraslessError("E_INPUT", `input "${info.name}" is missing`);
    return normalizeInputs(record[info.name], [info])[0];
  });
}
