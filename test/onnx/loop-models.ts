/** Hand-made .onnx models with Loop nodes, for the Loop tests and the fuzzer. */
import {
  boolTensor,
  graphAttribute,
  int64Tensor,
  intAttribute,
  model,
  node,
  tensor,
  valueInfo,
  type Bytes,
  type GraphParts,
} from "./write.js";

const INT64 = 7;
const BOOL = 9;

/** The first two inputs of every body: the iteration number and the condition. */
const bodyHead = (): Bytes[] => [valueInfo("i", [], INT64), valueInfo("c", [], BOOL)];

function loop(inputs: string[], outputs: string[], body: GraphParts, name = "loop"): Bytes {
  return node("Loop", inputs, outputs, [graphAttribute("body", body)], name);
}

/**
 * x [T, 3] -> h_t = tanh(h_{t-1} * w + x_t) from h0, one iteration per row of x (M from x's
 * shape), the scan output y_t = h_t * t. Outputs: the last h [3] and every y [T, 3].
 */
export function recurrenceModel(): Uint8Array {
  const body: GraphParts = {
    nodes: [
      node("Identity", ["c"], ["c_out"]),
      node("Gather", ["x", "i"], ["xi"]),
      node("Mul", ["h", "w"], ["hw"]),
      node("Add", ["hw", "xi"], ["pre"]),
      node("Tanh", ["pre"], ["h_out"]),
      node("Cast", ["i"], ["fi"], [intAttribute("to", 1)]),
      node("Mul", ["h_out", "fi"], ["y"]),
    ],
    inputs: [...bodyHead(), valueInfo("h", [3])],
    outputs: [valueInfo("c_out", [], BOOL), valueInfo("h_out", [3]), valueInfo("y", [3])],
  };
  return model({
    nodes: [
      node("Shape", ["x"], ["s"]),
      node("Gather", ["s", "zero"], ["T"]),
      loop(["T", "", "h0"], ["h_last", "ys"], body),
    ],
    initializers: [
      int64Tensor("zero", [], [0]),
      tensor("h0", [3], [0.5, -0.5, 0.25]),
      tensor("w", [3], [0.9, 0.8, 0.7]),
    ],
    inputs: [valueInfo("x", ["time", 3])],
    outputs: [valueInfo("h_last", [3]), valueInfo("ys", ["time", 3])],
  });
}

/** What recurrenceModel computes, in float64 (the test's tolerance covers float32). */
export function recurrenceReference(x: number[], time: number): { h: number[]; ys: number[] } {
  let h = [0.5, -0.5, 0.25];
  const w = [0.9, 0.8, 0.7];
  const ys: number[] = [];
  for (let t = 0; t < time; t++) {
    h = h.map((v, j) => Math.tanh(v * w[j] + x[t * 3 + j]));
    ys.push(...h.map((v) => v * t));
  }
  return { h, ys };
}

/**
 * A while loop: M claims 2^62, the condition i + 1 < limit ends it. acc [1] starts at x and adds
 * each iteration number; the scan output is the iteration number itself (a view of a body input).
 */
export function whileModel(limit: number, tripCount = 2 ** 62): Uint8Array {
  const body: GraphParts = {
    nodes: [
      node("Add", ["i", "one"], ["next"]),
      node("Less", ["next", "limit"], ["c_out"]),
      node("Cast", ["i"], ["fi"], [intAttribute("to", 1)]),
      node("Add", ["acc", "fi"], ["acc_out"]),
      node("Identity", ["i"], ["iv"]),
    ],
    inputs: [...bodyHead(), valueInfo("acc", [1])],
    outputs: [valueInfo("c_out", [], BOOL), valueInfo("acc_out", [1]), valueInfo("iv", [], INT64)],
  };
  return model({
    nodes: [loop(["M", "start", "x"], ["acc", "is"], body)],
    initializers: [
      int64Tensor("M", [], [tripCount]),
      boolTensor("start", [], [true]),
      int64Tensor("one", [], [1]),
      int64Tensor("limit", [], [limit]),
    ],
    inputs: [valueInfo("x", [1])],
    outputs: [valueInfo("acc", [1]), valueInfo("is", ["n"], INT64)],
  });
}

/** (a, b) -> (b, a), M times: carried outputs that are the body's own inputs, swapped. */
export function swapModel(tripCount: number): Uint8Array {
  const body: GraphParts = {
    nodes: [node("Identity", ["c"], ["c_out"])],
    inputs: [...bodyHead(), valueInfo("a", [2]), valueInfo("b", [2])],
    outputs: [valueInfo("c_out", [], BOOL), valueInfo("b", [2]), valueInfo("a", [2])],
  };
  return model({
    nodes: [loop(["M", "", "x", "y"], ["p", "q"], body)],
    initializers: [int64Tensor("M", [], [tripCount])],
    inputs: [valueInfo("x", [2]), valueInfo("y", [2])],
    outputs: [valueInfo("p", [2]), valueInfo("q", [2])],
  });
}

/** A carried value that grows by one element per iteration (v = [x, 0, 1, ...]): it runs node by node. */
export function growingModel(tripCount: number): Uint8Array {
  const body: GraphParts = {
    nodes: [
      node("Identity", ["c"], ["c_out"]),
      node("Cast", ["i"], ["fi"], [intAttribute("to", 1)]),
      node("Unsqueeze", ["fi", "axes"], ["u"]),
      node("Concat", ["v", "u"], ["v_out"], [intAttribute("axis", 0)]),
      node("Identity", ["fi"], ["f"]),
    ],
    initializers: [int64Tensor("axes", [1], [0])],
    inputs: [...bodyHead(), valueInfo("v", ["n"])],
    outputs: [valueInfo("c_out", [], BOOL), valueInfo("v_out", ["n"]), valueInfo("f", [])],
  };
  return model({
    nodes: [loop(["M", "", "x"], ["v", "fs"], body)],
    initializers: [int64Tensor("M", [], [tripCount])],
    inputs: [valueInfo("x", [1])],
    outputs: [valueInfo("v", ["n"]), valueInfo("fs", ["m"])],
  });
}

/**
 * Loops in loops, `depth` levels of M each (the innermost adds the graph input x to the carried
 * s): s = M^depth * x. The innermost body reads x from the outermost graph.
 */
export function nestedModel(depth: number, tripCount: number): Uint8Array {
  let body: GraphParts = {
    nodes: [node("Identity", ["c"], ["c_out"]), node("Add", ["s", "x"], ["s_out"])],
    inputs: [...bodyHead(), valueInfo("s", [1])],
    outputs: [valueInfo("c_out", [], BOOL), valueInfo("s_out", [1])],
  };
  for (let level = 1; level < depth; level++)
    body = {
      nodes: [node("Identity", ["c"], ["c_out"]), loop(["M", "", "s"], ["s_out"], body, `loop${level}`)],
      inputs: [...bodyHead(), valueInfo("s", [1])],
      outputs: [valueInfo("c_out", [], BOOL), valueInfo("s_out", [1])],
    };
  return model({
    nodes: [loop(["M", "", "s0"], ["s"], body, `loop${depth}`)],
    initializers: [int64Tensor("M", [], [tripCount]), tensor("s0", [1], [0])],
    inputs: [valueInfo("x", [1])],
    outputs: [valueInfo("s", [1])],
  });
}

/** A Loop whose body has an op kerasless does not run, and one with neither M nor cond. */
export function refusedModel(): Uint8Array {
  const body = (op: string): GraphParts => ({
    nodes: [node("Identity", ["c"], ["c_out"]), node(op, ["s"], ["s_out"], [], `${op.toLowerCase()}_node`)],
    inputs: [...bodyHead(), valueInfo("s", [1])],
    outputs: [valueInfo("c_out", [], BOOL), valueInfo("s_out", [1])],
  });
  return model({
    nodes: [loop(["M", "", "x"], ["s"], body("Foo"), "with_foo"), loop(["", "", "s"], ["t"], body("Relu"), "endless")],
    initializers: [int64Tensor("M", [], [2])],
    inputs: [valueInfo("x", [1])],
    outputs: [valueInfo("t", [1])],
  });
}
