/**
 * One test per bug the fuzzer (or a hostile-file test) found, with the minimized input built
 * here. docs/robustness.md lists them with the run that found each.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { FIXTURES } from "../helpers.js";

const seed = `${FIXTURES}seed/`;
const weights = { name: "model.weights.h5", bytes: new Uint8Array(readFileSync(`${seed}model.weights.h5`)) };
const seedJson = (): string => readFileSync(`${seed}model.json`, "utf8");
const load = (json: string) =>
  loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(json) }, weights);

function rejects(fn: () => unknown, code: string, pattern: RegExp): KeraslessError {
  try {
    fn();
  } catch (e) {
    assert.ok(
      e instanceof KeraslessError,
      `expected a KeraslessError, got ${e instanceof Error ? e.stack : String(e)}`,
    );
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test("bug 1 (fuzz seed 1 #1748): a layer call whose arguments hold no tensor is a config error, not TypeError", () => {
  // The fuzzer flipped one bit: "__keras_tensor__" -> "_keras_tensor__" in a Keras 3 Dense's inbound node.
  const dir = `${FIXTURES}keras3/dropout_family/`;
  const json = readFileSync(`${dir}model.json`, "utf8").replace(/"__keras_tensor__"/g, '"_keras_tensor__"');
  const w = { name: "model.weights.h5", bytes: new Uint8Array(readFileSync(`${dir}model.weights.h5`)) };
  rejects(
    () => loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(json) }, w),
    "E_CONFIG",
    /layer "\w+" \(Dense\): a call of this layer has no tensor inputs/,
  );
});

test("bug 2 (fuzz seed 2 #13009, #18043): error messages stay on one line when they quote a file's bytes", () => {
  // A model.json spliced with binary data: the JSON parser's message quotes a newline and control bytes.
  const text = seedJson();
  const broken = `${text.slice(0, 200)}M9]\u0001!8h\n\u001f8${text.slice(200)}`;
  const error = rejects(() => load(broken), "E_CONFIG", /^model\.json: the model JSON is not valid JSON/);
  const controls = [...error.message].filter((c) => c.charCodeAt(0) < 0x20 || c === "\u2028" || c === "\u2029");
  assert.deepEqual(controls, []);
  // A layer name with a line break, quoted in an unsupported-layer message.
  const json = JSON.parse(text);
  json.config.layers[1].class_name = "NoSuchLayer";
  json.config.layers[1].config.name = "two\nlines\u2028here";
  const named = rejects(
    () => load(JSON.stringify(json)),
    "E_UNSUPPORTED",
    /layer "two\\nlines\\u2028here" \(NoSuchLayer\)/,
  );
  assert.doesNotMatch(named.message, /[\n\u2028]/);
});

test("bug 12 (review): call keywords named __proto__ are plain keys, not the keyword object's prototype", async () => {
  const { parseModelConfig } = await import("../../src/graph/config.js");
  const tensor = {
    class_name: "__keras_tensor__",
    config: { shape: [null, 3], dtype: "float32", keras_history: ["x", 0, 0] },
  };
  const kwargs = JSON.parse('{"__proto__": {"training": true}, "constructor": {"prototype": {"polluted": 1}}}');
  const spec = parseModelConfig({
    class_name: "Functional",
    config: {
      name: "m",
      layers: [
        { class_name: "InputLayer", name: "x", config: { name: "x", batch_shape: [null, 3] }, inbound_nodes: [] },
        {
          class_name: "Dense",
          name: "d",
          config: { name: "d", units: 2 },
          inbound_nodes: [{ args: [tensor], kwargs }],
        },
      ],
      input_layers: [["x", 0, 0]],
      output_layers: [["d", 0, 0]],
    },
  });
  const constants = spec.layers[1].inboundNodes[0].keywords.constants;
  assert.equal(Object.getPrototypeOf(constants), Object.prototype);
  assert.deepEqual(Object.keys(constants).sort(), ["__proto__", "constructor"]);
  assert.equal((constants as Record<string, unknown>).training, undefined);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("bug 13 (fuzz seed 20261127 #32150): an input layer missing from input_layers is a config error", () => {
  // The fuzzer flipped a bit of a name in input_layers: the model listed one input twice, and a
  // layer read the other input layer, which then ran with no value.
  const dir = `${FIXTURES}keras2/attention_concat/`;
  const json = JSON.parse(readFileSync(`${dir}model.json`, "utf8"));
  json.config.input_layers = [json.config.input_layers[1], json.config.input_layers[1]];
  const w = { name: "weights.h5", bytes: new Uint8Array(readFileSync(`${dir}weights.h5`)) };
  rejects(
    () => loadModelFromBytes({ name: "model.json", bytes: new TextEncoder().encode(JSON.stringify(json)) }, w),
    "E_CONFIG",
    /layer "x" \(InputLayer\): is read by other layers but is not one of the model's inputs/,
  );
});
