/** .onnx bytes to a Model: detection, decoding, the graph, and the Model API over it. */
import { KeraslessError } from "../errors.js";
import { ProtoReader } from "../io/protobuf.js";
import { normalizeInputs, type PredictInput, type TensorInfo } from "../inputs.js";
import { Model, type LayerInfo, type ModelEngine } from "../model.js";
import { ModelStream, type StreamOptions } from "../stream.js";
import type { LayerRow, SummaryData } from "../summary.js";
import { Tensor } from "../tensor.js";
import { OnnxGraph } from "./graph.js";
import { OnnxStepGraph } from "./stream.js";
import { decodeModel, nodeLabel, nodeName } from "./proto.js";
import type { ExternalFiles } from "./values.js";

/**
 * True for what is probably an ONNX file: named .onnx, or starting as a ModelProto does
 * (ir_version, field 1, a small varint, then a length-delimited field) when no other format matched.
 */
export function isOnnx(bytes: Uint8Array, name: string): boolean {
  if (/\.onnx$/i.test(name)) return true;
  return bytes.length > 2 && bytes[0] === 0x08 && bytes[1] >= 3 && bytes[1] <= 20 && (bytes[2] & 7) === 2;
}

/** The external data files an ONNX model names (for a reader that must fetch them first). */
export function externalLocations(bytes: Uint8Array, name: string): string[] {
  const model = decodeModel(ProtoReader.of(bytes, name));
  const locations = new Set<string>();
  for (const t of model.graph?.initializers ?? []) {
    const location = t.externalData?.get("location");
    if (location !== undefined) locations.add(location);
  }
  return [...locations];
}

export function loadOnnx(bytes: Uint8Array, file: string, externalData?: Record<string, Uint8Array>): Model {
  try {
    const proto = decodeModel(ProtoReader.of(bytes, file));
    const external: ExternalFiles | null =
      externalData === undefined
        ? null
        : (location) => {
            if (!Object.hasOwn(externalData, location))
              throw new KeraslessError("E_WEIGHTS_MISSING", `the external data file "${location}" was not given`);
            return externalData[location];
          };
    const graph = OnnxGraph.fromModel(proto, external);
    const version = proto.producerName === "" ? undefined : `${proto.producerName} ${proto.producerVersion}`.trim();
    return new Model(new OnnxEngine(graph), { format: "onnx", kerasVersion: version, kerasMajor: 3 });
  } catch (e) {
    if (e instanceof KeraslessError) throw e.inFile(file);
    throw e;
  }
}

class OnnxEngine implements ModelEngine {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];

  constructor(private readonly graph: OnnxGraph) {
    this.name = graph.name;
    this.inputs = graph.inputs;
    this.outputs = graph.outputs;
  }

  predict(given: PredictInput): Tensor[] {
    return this.graph.run(normalizeInputs(given, this.inputs, false));
  }

  stream(options?: StreamOptions): ModelStream {
    return new ModelStream(new OnnxStepGraph(this.graph), options);
  }

  summaryData(): SummaryData {
    // The nodes left after folding constants at load: what runs per call; a Loop's body nodes
    // follow it, named "loop/node", with the weights they read.
    const rows = summaryRows(this.graph);
    const params = rows.reduce((n, r) => n + r.params, 0);
    return { name: this.name, className: "ONNX", rows, trainableParams: params, nonTrainableParams: 0 };
  }

  layers(): LayerInfo[] {
    return this.graph.nodes.map((node) => ({
      name: nodeName(node),
      className: node.opType,
      getWeights: () => [],
    }));
  }

  getWeights(): Tensor[] {
    return [];
  }

  /** The nodes that run per call with a planned kernel (recurrent ops, products, convolutions). */
  kernelPlans(): { layer: string; className: string; backend: string; why: readonly string[] }[] {
    return this.graph.plan.flatMap(({ node, kernel, absorbed }) =>
      kernel.plan === undefined
        ? []
        : [
            {
              layer: nodeName(node),
              className: node.opType,
              backend: kernel.plan.backend,
              why:
                absorbed === undefined
                  ? kernel.plan.why
                  : [...kernel.plan.why, `absorbs ${nodeLabel(absorbed)}, which does not run`],
            },
          ],
    );
  }
}

/** Summary rows of a graph's runtime nodes, each subgraph's rows after its node (named "node/..."). */
function summaryRows(graph: OnnxGraph, prefix = ""): LayerRow[] {
  return graph.plan.flatMap(({ node, kernel: { subgraph } }) => {
    const name = prefix + nodeName(node);
    const row: LayerRow = {
      name,
      className: node.opType,
      outputShapes: node.outputs.filter((o) => o !== "").map((o) => graph.statedShapes.get(o) ?? [null]),
      params: graph.parameters.get(nodeName(node)) ?? 0,
      connectedTo: node.inputs.filter((n) => n !== ""),
    };
    return [row, ...(subgraph ? summaryRows(subgraph, `${name}/`) : [])];
  });
}
