/**
 * Puts the weights of a file into a built graph, the way Keras finds them:
 *  - Keras 3 (.keras, .weights.h5): by object path. A model's layers are `layers/<snake_case
 *    class name>` with a per-class counter (lstm, lstm_1, ...) in `model.layers` order; a layer's
 *    variables are `<path>/vars/<i>`, a recurrent layer's are on its cell (`<path>/cell/vars/<i>`).
 *  - legacy .h5: the layers with weights, in order, matched to the file's `layer_names` that have
 *    weights; each layer's datasets are those its `weight_names` attribute lists.
 */
import { KeraslessError } from "../errors.js";
import { ModelLayer } from "../graph/model-layer.js";
import type { GraphView as Graph } from "../graph/types.js";
import type { H5Group } from "../io/hdf5/index.js";
import type { Layer } from "../layers/layer.js";
import type { WeightFile } from "./artifact.js";

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
  const objectPaths = graph.objectPaths();
  for (const [i, layer] of graph.layers.entries()) {
    const path = `${prefix}${objectPaths[i]}`;
    if (layer instanceof ModelLayer) {
      loadObjectPath(layer.graph, root, `${path}/`);
      continue;
    }
    if (layer.weightSpecs.length === 0) continue;
    // Wrappers keep their weights in several groups (forward_layer/cell/vars, backward_layer/...),
    // MultiHeadAttention in one per projection; each group's vars are numbered from 0.
    const groups: string[] = [];
    const found = new Map<string, H5Group>();
    const paths = layer.weightPaths((group) => {
      const varsPath = `${path}/${group}`;
      const vars = varsGroup(root, varsPath);
      if (vars === null) throw layer.error("E_WEIGHTS_MISSING", `no weights at "${varsPath}" in the weights file`);
      groups.push(`"${varsPath}"`);
      found.set(group, vars);
      return vars.memberCount();
    });
    if (paths.length !== layer.weightSpecs.length) {
      throw layer.error(
        "E_WEIGHTS_MISSING",
        `the file has ${paths.length} variable(s) at ${groups.join(", ")}, ` +
          `the config implies ${layer.weightSpecs.length}`,
      );
    }
    layer.setWeights(paths.map((p) => readDataset(found.get(parentOf(p))!, p.slice(p.lastIndexOf("/") + 1), layer)));
  }
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/**
 * The group of variables at `varsPath` ("layers/lstm/cell/vars"), or null. tf.keras 2.13+ and
 * tf_keras join an object's path with os.path.join, so on Windows they write it as one group
 * named "layers\\lstm\\cell" at the root of the file, holding "vars" (Keras 3 writes "/" there).
 */
function varsGroup(root: H5Group, varsPath: string): H5Group | null {
  if (root.isGroup(varsPath)) return root.group(varsPath);
  const owner = parentOf(varsPath);
  if (owner === "" || varsPath.slice(owner.length) !== "/vars") return null;
  const windows = `${owner.replaceAll("/", "\\")}/vars`;
  return root.isGroup(windows) ? root.group(windows) : null;
}

function loadLegacy(graph: Graph, root: H5Group): void {
  const layerNames = root.stringListAttr("layer_names");
  if (layerNames === undefined) throw new KeraslessError("E_HDF5", 'the weights group has no "layer_names" attribute');
  const fileLayers: { name: string; group: H5Group; weightNames: readonly string[] }[] = [];
  // Keras writes each layer and each of its weights once; a file repeating one would have its
  // datasets read (and inflated) again for every mention.
  const seenLayers = new Set<string>();
  for (const name of layerNames) {
    if (seenLayers.has(name)) throw new KeraslessError("E_HDF5", `layer_names lists "${name}" twice`);
    seenLayers.add(name);
    if (!root.isGroup(name))
      throw new KeraslessError("E_HDF5", `layer_names lists "${name}", but the file has no such group`);
    const group = root.group(name);
    const weightNames = group.stringListAttr("weight_names") ?? [];
    if (new Set(weightNames).size !== weightNames.length)
      throw new KeraslessError("E_HDF5", `the weight_names of layer "${name}" list one weight twice`);
    if (weightNames.length > 0) fileLayers.push({ name, group, weightNames });
  }
  const modelLayers: Layer[] = graph.layers.filter((l) => l.weightSpecs.length > 0);
  if (fileLayers.length !== modelLayers.length) {
    throw new KeraslessError(
      "E_WEIGHTS_MISSING",
      `the file has weights for ${fileLayers.length} layer(s) (${fileLayers.map((l) => l.name).join(", ")}), ` +
        `the model has ${modelLayers.length} layer(s) with weights (${modelLayers.map((l) => l.name).join(", ")})`,
    );
  }
  // Counts are compared for every layer before any dataset is read.
  modelLayers.forEach((layer, i) => {
    const count = fileLayers[i].weightNames.length;
    if (count !== layer.weightSpecs.length) {
      const expected = layer.weightSpecs.map((s) => s.name).join(", ");
      throw layer.error(
        "E_WEIGHTS_MISSING",
        `the file has ${count} weight(s) for this layer, the config implies ${layer.weightSpecs.length} (${expected})`,
      );
    }
  });
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
      throw new KeraslessError(e.code, `layer "${layer.name}" (${layer.className}): ${e.problem}`, {
        file: e.file,
        layer: layer.name,
        cause: e,
      });
    }
    throw e;
  }
}
