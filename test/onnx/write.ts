/** A minimal protobuf writer for hand-made (and hand-broken) .onnx files in tests. */
export type Bytes = number[];

export function varint(n: number): Bytes {
  const out: Bytes = [];
  let v = BigInt.asUintN(64, BigInt(n));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

export const int = (field: number, n: number): Bytes => [...varint(field * 8), ...varint(n)];
export const bytes = (field: number, body: Bytes): Bytes => [...varint(field * 8 + 2), ...varint(body.length), ...body];
export const str = (field: number, text: string): Bytes => bytes(field, [...new TextEncoder().encode(text)]);
export const float32 = (field: number, x: number): Bytes => {
  const b = new Uint8Array(new Float32Array([x]).buffer);
  return [...varint(field * 8 + 5), ...b];
};

export function tensor(name: string, dims: number[], values: number[], extra: Bytes = []): Bytes {
  const raw = [...new Uint8Array(new Float32Array(values).buffer)];
  return [...dims.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, name), ...bytes(9, raw), ...extra];
}

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): Bytes {
  const shape = dims.flatMap((d) => bytes(1, typeof d === "number" ? int(1, d) : str(2, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, elemType), ...bytes(2, shape)]))];
}

export function node(opType: string, inputs: string[], outputs: string[], attributes: Bytes[] = [], name = ""): Bytes {
  return [
    ...inputs.flatMap((i) => str(1, i)),
    ...outputs.flatMap((o) => str(2, o)),
    ...str(3, name || outputs[0]),
    ...str(4, opType),
    ...attributes.flatMap((a) => bytes(5, a)),
  ];
}

export const intAttribute = (name: string, value: number): Bytes => [...str(1, name), ...int(3, value), ...int(20, 2)];
export const floatAttribute = (name: string, value: number): Bytes => [
  ...str(1, name),
  ...float32(2, value),
  ...int(20, 1),
];

export interface GraphParts {
  nodes: Bytes[];
  initializers?: Bytes[];
  inputs: Bytes[];
  outputs: Bytes[];
}

/** A GraphProto's fields. */
export function graph(parts: GraphParts, name = "test_graph"): Bytes {
  return [
    ...parts.nodes.flatMap((n) => bytes(1, n)),
    ...str(2, name),
    ...(parts.initializers ?? []).flatMap((t) => bytes(5, t)),
    ...parts.inputs.flatMap((i) => bytes(11, i)),
    ...parts.outputs.flatMap((o) => bytes(12, o)),
  ];
}

/** A graph attribute (a Loop's body). */
export const graphAttribute = (name: string, parts: GraphParts): Bytes => [
  ...str(1, name),
  ...bytes(6, graph(parts, name)),
  ...int(20, 5),
];

export function model(parts: GraphParts, opset = 17, irVersion = 8): Uint8Array {
  const g = graph(parts);
  return Uint8Array.from([...int(1, irVersion), ...str(2, "test"), ...bytes(7, g), ...bytes(8, int(2, opset))]);
}

/** x [2, 3] -> Relu -> y: the smallest runnable model. */
export function reluModel(): Uint8Array {
  return model({
    nodes: [node("Relu", ["x"], ["y"])],
    inputs: [valueInfo("x", ["batch", 3])],
    outputs: [valueInfo("y", ["batch", 3])],
  });
}

/** An int64 initializer. */
export function int64Tensor(name: string, dims: number[], values: number[]): Bytes {
  const raw = [...new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer)];
  return [...dims.flatMap((d) => int(1, d)), ...int(2, 7), ...str(8, name), ...bytes(9, raw)];
}

/** A bool initializer. */
export function boolTensor(name: string, dims: number[], values: boolean[]): Bytes {
  return [...dims.flatMap((d) => int(1, d)), ...int(2, 9), ...str(8, name), ...bytes(9, values.map(Number))];
}
