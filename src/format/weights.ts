/**
 * Puts the weights of a file into a built graph, the way Keras finds them:
 *  - Keras 3 (.keras, .weights.h5): by object path. A model's layers are `layers/<snake_case
 *    class name>` with a per-class counter (lstm, lstm_1, ...) in `model.layers` order; a layer's
 *    variables are `<path>/vars/<i>`, a recurrent layer's are on its cell (`<path>/cell/vars/<i>`).
 *  - legacy .h5: the layers with weights, in order, matched to the file's `layer_names` that have
 *    weights; each layer's datasets are those its `weight_names` attribute lists.
 */
import { KeraslessError } from "../errors.js";
import { Graph, ModelLayer } from "../graph/graph.js";
import type { H5Group } from "../io/hdf5.js";
import type { Layer } from "../layers/layer.js";
import type { WeightFile } from "./artifact.js";

/** Keras' naming.to_snake_case for class names. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, "")
    .replace(/(.)([A-Z][a-z]+)/g, "$1_$2")
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

export function loadWeights(graph: Graph, weights: WeightFile): void {
  try {
    if (weights.layout === "object-path") loadObjectPath(graph, weights.root, "");
    else loadLegacy(graph, weights.root);
  } catch (e) {
    if (e instanceof KeraslessError) throw e.inFile(weights.file);
    throw e;
  }
}

function loadObjectPath(graph: Graph, root: H5Group, prefix: string): void {
  const used = new Map<string, number>();
  for (const layer of graph.layers) {
    const base = toSnakeCase(layer instanceof ModelLayer ? layer.graph.className : layer.className);
    const count = used.get(base);
    used.set(base, count === undefined ? 0 : count + 1);
    const path = `${prefix}layers/${count === undefined ? base : `${base}_${count + 1}`}`;
    if (layer instanceof ModelLayer) {
      loadObjectPath(layer.graph, root, `${path}/`);
      continue;
    }
    if (layer.weightSpecs.length === 0) continue;
    // Each owner's vars are numbered from 0; together they are the layer's weights in order.
    const owners = layer.variableOwners.map((owner) => {
      const varsPath = `${path}${owner ? `/${owner}` : ""}/vars`;
      if (!root.isGroup(varsPath)) throw layer.error("E_WEIGHTS_MISSING", `no weights at "${varsPath}" in the weights file`);
      const vars = root.group(varsPath);
      return { varsPath, vars, count: vars.keys().length };
    });
    const varCount = owners.reduce((n, o) => n + o.count, 0);
    if (varCount !== layer.weightSpecs.length) {
      const where = owners.map((o) => `"${o.varsPath}"`).join(", ");
      throw layer.error("E_WEIGHTS_MISSING", `the file has ${varCount} variable(s) at ${where}, the config implies ${layer.weightSpecs.length}`);
    }
    const values = owners.flatMap(({ vars, count }) => Array.from({ length: count }, (_, i) => readDataset(vars, String(i), layer)));
    layer.setWeights(values);
  }
}

function loadLegacy(graph: Graph, root: H5Group): void {
  const layerNames = root.stringListAttr("layer_names");
  if (layerNames === undefined) throw new KeraslessError("E_HDF5", 'the weights group has no "layer_names" attribute');
  const fileLayers: { name: string; group: H5Group; weightNames: string[] }[] = [];
  for (const name of layerNames) {
    if (!root.isGroup(name)) throw new KeraslessError("E_HDF5", `layer_names lists "${name}", but the file has no such group`);
    const group = root.group(name);
    const weightNames = group.stringListAttr("weight_names") ?? [];
    if (weightNames.length > 0) fileLayers.push({ name, group, weightNames });
  }
  const modelLayers: Layer[] = graph.layers.filter((l) => l.weightSpecs.length > 0);
  if (fileLayers.length !== modelLayers.length) {
    throw new KeraslessError(
      "E_WEIGHTS_MISSING",
      `the file has weights for ${fileLayers.length} layer(s) (${fileLayers.map((l) => l.name).join(", ")}), the model has ${modelLayers.length} layer(s) with weights (${modelLayers.map((l) => l.name).join(", ")})`,
    );
  }
  modelLayers.forEach((layer, i) => {
    const { group, weightNames } = fileLayers[i];
    layer.setWeights(weightNames.map((w) => readDataset(group, w, layer)));
  });
}

/** A weight's values; a damaged dataset is reported with the layer it belongs to. */
function readDataset(group: H5Group, name: string, layer: Layer): { shape: number[]; data: Float32Array } {
  try {
    const dataset = group.dataset(name);
    return { shape: dataset.shape, data: dataset.readFloat32() };
  } catch (e) {
    if (e instanceof KeraslessError && e.layer === undefined) {
      throw new KeraslessError(e.code, `layer "${layer.name}" (${layer.className}): ${e.problem}`, { file: e.file, layer: layer.name, cause: e });
    }
    throw e;
  }
}
