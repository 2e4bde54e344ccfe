/**
 * The parts of onnx.proto (IR version 3 and later) that running a model needs, decoded from the
 * wire format. Field numbers are those of onnx/onnx.proto. A field a decoder does not read is
 * skipped by ProtoReader.fields(): unknown fields, and those only counted or noted (functions,
 * sparse initializers, segments).
 */
import { ProtoReader, WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT } from "../io/protobuf.js";

export interface OnnxTensorProto {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array | null;
  floatData: number[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  /** data_location EXTERNAL: key/value pairs (location, offset, length). */
  externalData: Map<string, string> | null;
  hasSegment: boolean;
}

export interface OnnxAttribute {
  name: string;
  f: number;
  i: number;
  s: Uint8Array | null;
  t: OnnxTensorProto | null;
  /** A subgraph (the body of a Loop, the branches of an If): decoded, planned only by the ops that run it. */
  g: OnnxGraphProto | null;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  refAttrName: string;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

/** How errors name a node: `node "name" (OpType)` (its first output when it has no name). */
/** A node's name, or (exporters may leave it empty) its first named output's. */
export function nodeName(node: OnnxNode): string {
  return node.name || node.outputs.find((o) => o !== "") || "?";
}

export function nodeLabel(node: OnnxNode): string {
  return `node "${nodeName(node)}" (${node.opType})`;
}

/** A dim: a size, a symbolic name (dim_param), or unknown. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor type, or 0 for a type kerasless does not read. */
  elemType: number;
  /** null when the type gives no shape. */
  shape: OnnxDim[] | null;
}

export interface OnnxGraphProto {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensorProto[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  sparseInitializers: number;
}

export interface OnnxModelProto {
  irVersion: number;
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  graph: OnnxGraphProto | null;
  functions: number;
}

export function decodeModel(r: ProtoReader): OnnxModelProto {
  const model: OnnxModelProto = {
    irVersion: 0,
    opsets: new Map(),
    producerName: "",
    producerVersion: "",
    graph: null,
    functions: 0,
  };
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_VARINT) model.irVersion = r.int64();
    else if (field === 2 && wire === WIRE_BYTES) model.producerName = r.string();
    else if (field === 3 && wire === WIRE_BYTES) model.producerVersion = r.string();
    else if (field === 7 && wire === WIRE_BYTES) model.graph = decodeGraph(r.message());
    else if (field === 8 && wire === WIRE_BYTES) {
      const { domain, version } = decodeOpset(r.message());
      model.opsets.set(domain === "ai.onnx" ? "" : domain, version);
    } else if (field === 25 && wire === WIRE_BYTES) model.functions++;
  });
  return model;
}

function decodeOpset(r: ProtoReader): { domain: string; version: number } {
  let domain = "";
  let version = 0;
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_BYTES) domain = r.string();
    else if (field === 2 && wire === WIRE_VARINT) version = r.int64();
  });
  return { domain, version };
}

function decodeGraph(r: ProtoReader): OnnxGraphProto {
  const graph: OnnxGraphProto = {
    name: "",
    nodes: [],
    initializers: [],
    inputs: [],
    outputs: [],
    valueInfo: [],
    sparseInitializers: 0,
  };
  r.fields((field, wire) => {
    if (wire !== WIRE_BYTES) return;
    if (field === 1) graph.nodes.push(decodeNode(r.message()));
    else if (field === 2) graph.name = r.string();
    else if (field === 5) graph.initializers.push(decodeTensor(r.message()));
    else if (field === 11) graph.inputs.push(decodeValueInfo(r.message()));
    else if (field === 12) graph.outputs.push(decodeValueInfo(r.message()));
    else if (field === 13) graph.valueInfo.push(decodeValueInfo(r.message()));
    else if (field === 15) graph.sparseInitializers++;
  });
  return graph;
}

function decodeNode(r: ProtoReader): OnnxNode {
  const node: OnnxNode = { name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: [] };
  r.fields((field, wire) => {
    if (wire !== WIRE_BYTES) return;
    if (field === 1) node.inputs.push(r.string());
    else if (field === 2) node.outputs.push(r.string());
    else if (field === 3) node.name = r.string();
    else if (field === 4) node.opType = r.string();
    else if (field === 5) node.attributes.push(decodeAttribute(r.message()));
    else if (field === 7) node.domain = r.string();
  });
  if (node.domain === "ai.onnx") node.domain = "";
  return node;
}

function decodeAttribute(r: ProtoReader): OnnxAttribute {
  const a: OnnxAttribute = {
    name: "",
    f: 0,
    i: 0,
    s: null,
    t: null,
    g: null,
    floats: [],
    ints: [],
    strings: [],
    refAttrName: "",
  };
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_BYTES) a.name = r.string();
    else if (field === 2 && wire === WIRE_FIXED32) a.f = r.float32();
    else if (field === 3 && wire === WIRE_VARINT) a.i = r.int64();
    else if (field === 4 && wire === WIRE_BYTES) a.s = r.bytesField();
    else if (field === 5 && wire === WIRE_BYTES) a.t = decodeTensor(r.message());
    else if (field === 6 && wire === WIRE_BYTES) {
      // Nesting is bounded by the reader (a message bomb ends in an E_FORMAT error).
      a.g = decodeGraph(r.message());
    } else if (field === 7) r.repeated(wire, WIRE_FIXED32, (x) => x.float32(), a.floats);
    else if (field === 8) r.repeated(wire, WIRE_VARINT, (x) => x.int64(), a.ints);
    else if (field === 9 && wire === WIRE_BYTES) a.strings.push(r.bytesField());
    else if (field === 21 && wire === WIRE_BYTES) a.refAttrName = r.string();
  });
  return a;
}

export function decodeTensor(r: ProtoReader): OnnxTensorProto {
  const t: OnnxTensorProto = {
    name: "",
    dims: [],
    dataType: 0,
    rawData: null,
    floatData: [],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    externalData: null,
    hasSegment: false,
  };
  let location = 0;
  const external = new Map<string, string>();
  r.fields((field, wire) => {
    if (field === 1) r.repeated(wire, WIRE_VARINT, (x) => x.int64(), t.dims);
    else if (field === 2 && wire === WIRE_VARINT) t.dataType = r.int64();
    else if (field === 3) t.hasSegment = true;
    else if (field === 4) r.repeated(wire, WIRE_FIXED32, (x) => x.float32(), t.floatData);
    else if (field === 5) r.repeated(wire, WIRE_VARINT, (x) => x.int64(), t.int32Data);
    else if (field === 7) r.repeated(wire, WIRE_VARINT, (x) => x.int64(), t.int64Data);
    else if (field === 8 && wire === WIRE_BYTES) t.name = r.string();
    else if (field === 9 && wire === WIRE_BYTES) t.rawData = r.bytesField();
    else if (field === 10) r.repeated(wire, 1, (x) => x.float64(), t.doubleData);
    else if (field === 13 && wire === WIRE_BYTES) {
      const [key, value] = decodeEntry(r.message());
      external.set(key, value);
    } else if (field === 14 && wire === WIRE_VARINT) location = r.int64();
  });
  if (location === 1) t.externalData = external;
  return t;
}

function decodeEntry(r: ProtoReader): [string, string] {
  let key = "";
  let value = "";
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_BYTES) key = r.string();
    else if (field === 2 && wire === WIRE_BYTES) value = r.string();
  });
  return [key, value];
}

function decodeValueInfo(r: ProtoReader): OnnxValueInfo {
  const info: OnnxValueInfo = { name: "", elemType: 0, shape: null };
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_BYTES) info.name = r.string();
    else if (field === 2 && wire === WIRE_BYTES) decodeType(r.message(), info);
  });
  return info;
}

function decodeType(r: ProtoReader, info: OnnxValueInfo): void {
  r.fields((field, wire) => {
    if (field !== 1 || wire !== WIRE_BYTES) return;
    // TypeProto.tensor_type: its element type and shape.
    const t = r.message();
    t.fields((f, w) => {
      if (f === 1 && w === WIRE_VARINT) info.elemType = t.int64();
      else if (f === 2 && w === WIRE_BYTES) info.shape = decodeShape(t.message());
    });
  });
}

function decodeShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  r.fields((field, wire) => {
    if (field !== 1 || wire !== WIRE_BYTES) return;
    const d = r.message();
    let dim: OnnxDim = null;
    d.fields((f, w) => {
      if (f === 1 && w === WIRE_VARINT) dim = d.int64();
      else if (f === 2 && w === WIRE_BYTES) dim = d.string() || null;
    });
    dims.push(dim);
  });
  return dims;
}
