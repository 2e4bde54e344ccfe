/**
 * Structure-aware generators of Keras 3 model configs: valid JSON that a hostile file could hold,
 * shaped to stress what is linear in the graph code (fan-in, fan-out, long chains, deep nesting
 * of models, many outputs, duplicate names, shared layers). Each takes a size and returns the
 * serialized model (`{"class_name", "config"}`), as model.json or a .keras config.json holds it.
 */
type Json = Record<string, unknown>;

/** A Keras 3 `__keras_tensor__` reference to output `index` of call `node` of `layer`. */
export function tensor(layer: string, node = 0, index = 0, dtype = "float32"): Json {
  return { class_name: "__keras_tensor__", config: { shape: null, dtype, keras_history: [layer, node, index] } };
}

export function inputLayer(name: string, batchShape: (number | null)[]): Json {
  return {
    class_name: "InputLayer",
    name,
    config: { name, batch_shape: batchShape, dtype: "float32" },
    inbound_nodes: [],
  };
}

/** A layer entry called once per element of `calls` (each a list of positional tensors). */
export function layer(className: string, name: string, config: Json, calls: Json[][]): Json {
  return {
    class_name: className,
    name,
    config: { name, ...config },
    inbound_nodes: calls.map((args) => ({ args: args.length === 1 ? args : [args], kwargs: {} })),
  };
}

export function functional(
  name: string,
  layers: Json[],
  inputs: [string, number, number][],
  outputs: [string, number, number][],
): Json {
  return { class_name: "Functional", config: { name, layers, input_layers: inputs, output_layers: outputs } };
}

const relu = { activation: "relu" };

/** n Activation layers, each reading the previous one: a long chain (deep wiring). */
export function chain(n: number): Json {
  const layers = [inputLayer("in", [null, 4])];
  for (let i = 0; i < n; i++) layers.push(layer("Activation", `a${i}`, relu, [[tensor(i === 0 ? "in" : `a${i - 1}`)]]));
  return functional("chain", layers, [["in", 0, 0]], [[`a${n - 1}`, 0, 0]]);
}

/** n Activation layers all reading the input, each a model output: fan-out and many outputs. */
export function fanOut(n: number): Json {
  const layers = [inputLayer("in", [null, 4])];
  for (let i = 0; i < n; i++) layers.push(layer("Activation", `a${i}`, relu, [[tensor("in")]]));
  const outputs: [string, number, number][] = [];
  for (let i = 0; i < n; i++) outputs.push([`a${i}`, 0, 0]);
  return functional("fan_out", layers, [["in", 0, 0]], outputs);
}

/** One Add call whose single inbound node references the input n times (refused: Add takes 1 to 64). */
export function fanIn(n: number): Json {
  const refs: Json[] = [];
  for (let i = 0; i < n; i++) refs.push(tensor("in"));
  const layers = [inputLayer("in", [null, 4]), layer("Add", "add", {}, [refs])];
  return functional("fan_in", layers, [["in", 0, 0]], [["add", 0, 0]]);
}

/** The same output listed n times: n outputs of one name, made unique one by one. */
export function duplicateOutputs(n: number): Json {
  const layers = [inputLayer("in", [null, 4]), layer("Activation", "a", relu, [[tensor("in")]])];
  const outputs: [string, number, number][] = [];
  for (let i = 0; i < n; i++) outputs.push(["a", 0, 0]);
  return functional("duplicate_outputs", layers, [["in", 0, 0]], outputs);
}

/** One Activation layer called n times in a chain: a shared layer with many calls. */
export function sharedCalls(n: number): Json {
  const calls: Json[][] = [];
  for (let i = 0; i < n; i++) calls.push([i === 0 ? tensor("in") : tensor("a", i - 1)]);
  const layers = [inputLayer("in", [null, 4]), layer("Activation", "a", relu, calls)];
  return functional("shared", layers, [["in", 0, 0]], [["a", n - 1, 0]]);
}

/**
 * Models nested `depth` levels deep, each level calling the level below `callsPerLevel` times in
 * a chain: the innermost model is one Activation, so a run makes callsPerLevel^depth calls.
 */
export function nestedModels(depth: number, callsPerLevel = 2): Json {
  let inner = functional(
    "m0",
    [inputLayer("x0", [null, 4]), layer("Activation", "act", relu, [[tensor("x0")]])],
    [["x0", 0, 0]],
    [["act", 0, 0]],
  );
  for (let level = 1; level <= depth; level++) {
    const child = `m${level - 1}`;
    const x = `x${level}`;
    const calls: Json[][] = [];
    for (let c = 0; c < callsPerLevel; c++) calls.push([c === 0 ? tensor(x) : tensor(child, c - 1)]);
    const entry = { ...inner, name: child, inbound_nodes: calls.map((args) => ({ args, kwargs: {} })) };
    // Endpoints count a nested Functional's own node first, so call c is node c + 1.
    inner = functional(`m${level}`, [inputLayer(x, [null, 4]), entry], [[x, 0, 0]], [[child, callsPerLevel, 0]]);
  }
  return inner;
}

/** A weightful layer shared by two inputs of different widths (Keras refuses it at build). */
export function sharedAcrossWidths(className: string, config: Json, rank = 3): Json {
  const shape = (width: number): (number | null)[] => (rank === 3 ? [null, 6, width] : [null, width]);
  const layers = [
    inputLayer("narrow", shape(4)),
    inputLayer("wide", shape(8)),
    layer(className, "shared", config, [[tensor("narrow")], [tensor("wide")]]),
  ];
  return functional(
    "shared_widths",
    layers,
    [
      ["narrow", 0, 0],
      ["wide", 0, 0],
    ],
    [
      ["shared", 0, 0],
      ["shared", 1, 0],
    ],
  );
}

/** A model the generators above can be grown with: name → (size → config). */
export const GROWABLE: Readonly<Record<string, (n: number) => Json>> = {
  chain,
  fanOut,
  fanIn,
  duplicateOutputs,
  sharedCalls,
};

/** A small deterministic PRNG (mulberry32), so that a failing case is found again by its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const DAG_LAYERS: [string, Json][] = [
  ["Activation", relu],
  ["Activation", { activation: "tanh" }],
  ["Dropout", { rate: 0.5 }],
  ["Add", {}],
  ["Maximum", {}],
  ["Concatenate", { axis: -1 }],
];

/**
 * A random DAG of weightless layers over one [None, 4] input: each layer reads 1 to 3 earlier
 * tensors (fan-in), tensors are read many times (fan-out), outputs are drawn with repeats, and
 * the whole may be nested in models called several times. Valid or not, a load must end in a
 * model or a KeraslessError within the budget.
 */
export function randomDag(seed: number, size: number): Json {
  const rand = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const names = ["in"];
  const layers = [inputLayer("in", [null, 4])];
  for (let i = 0; i < size; i++) {
    const [className, config] = pick(DAG_LAYERS);
    const arity = className === "Activation" || className === "Dropout" ? 1 : 1 + Math.ceil(rand() * 2);
    const args: Json[] = [];
    for (let k = 0; k < arity; k++) args.push(tensor(pick(names)));
    layers.push(layer(className, `l${i}`, config, [args]));
    names.push(`l${i}`);
  }
  const outputs: [string, number, number][] = [];
  const outputCount = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < outputCount; k++) outputs.push([pick(names.slice(1).concat(["in"])), 0, 0]);
  let model = functional(`dag${seed}`, layers, [["in", 0, 0]], outputs);
  const levels = Math.floor(rand() * 3);
  for (let level = 0; level < levels && outputs.length === 1; level++) {
    const calls = 1 + Math.floor(rand() * 3);
    const child = `inner${level}`;
    const x = `x${level}`;
    const callArgs: Json[][] = [];
    for (let c = 0; c < calls; c++) callArgs.push([c === 0 ? tensor(x) : tensor(child, c - 1)]);
    const entry = { ...model, name: child, inbound_nodes: callArgs.map((args) => ({ args, kwargs: {} })) };
    model = functional(`outer${level}`, [inputLayer(x, [null, 4]), entry], [[x, 0, 0]], [[child, calls, 0]]);
  }
  return model;
}
