/**
 * Legacy .h5 weight lookup against files that name one dataset many times (issue 18): repeated
 * names are refused, counts are compared before anything is read, and datasets reached under
 * several names (hard links) are charged to the file's budget on every read.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { zlibSync } from "fflate";
import { KeraslessError } from "../../src/errors.js";
import { loadModelFromBytes } from "../../src/load.js";
import { H5Builder, VLEN_STRING, attribute, vlenRefs } from "../io/hdf5-builder.js";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A Sequential model of `layers` bias-free Dense(width) layers, in Keras 2's to_json form. */
function denseConfig(layers: number, width: number): string {
  const dense = Array.from({ length: layers }, (_, i) => ({
    class_name: "Dense",
    config: { name: `d${i}`, units: width, activation: "linear", use_bias: false },
  }));
  return JSON.stringify({
    class_name: "Sequential",
    config: {
      name: "s",
      layers: [{ class_name: "InputLayer", config: { batch_input_shape: [null, width], name: "in" } }, ...dense],
    },
    keras_version: "2.15.0",
    backend: "tensorflow",
  });
}

/**
 * A legacy .h5 whose layers all reach one compressed width x width kernel of zeros (by hard
 * links named "kernel"), each listing `weightNames` in its weight_names attribute.
 */
function sharedKernelFile(layers: number, width: number, weightNames: string[]): Uint8Array {
  const b = new H5Builder();
  const kernel = b.chunkedDataset(
    [width, width],
    [width, width],
    [[[0, 0, 0], zlibSync(new Uint8Array(4 * width * width))]],
    [1],
  );
  const layerNames = Array.from({ length: layers }, (_, i) => `d${i}`);
  const strings = [...layerNames, ...weightNames].map(encode);
  const heap = b.globalHeap([encode(denseConfig(layers, width)), encode("2.15.0"), ...strings]);
  const ref = (i: number): [number, number, number] => [strings[i].length, heap, 3 + i];
  const weightRefs = vlenRefs(weightNames.map((_, k) => ref(layers + k)));
  const groups = layerNames.map((name): [string, number] => [
    name,
    b.group([["kernel", kernel]], [attribute("weight_names", VLEN_STRING, [weightNames.length], weightRefs)]),
  ]);
  const layerRefs = vlenRefs(layerNames.map((_, i) => ref(i)));
  const weights = b.group(groups, [attribute("layer_names", VLEN_STRING, [layers], layerRefs)]);
  const config = encode(denseConfig(layers, width));
  const root = b.group(
    [["model_weights", weights]],
    [
      attribute("model_config", VLEN_STRING, [], vlenRefs([[config.length, heap, 1]])),
      attribute("keras_version", VLEN_STRING, [], vlenRefs([[6, heap, 2]])),
    ],
  );
  return b.finish(root);
}

function load(bytes: Uint8Array): unknown {
  const start = performance.now();
  try {
    return loadModelFromBytes({ name: "shared.h5", bytes });
  } catch (e) {
    if (!(e instanceof KeraslessError)) throw e;
    return e;
  } finally {
    assert.ok(performance.now() - start < 2000, "within 2 s");
  }
}

test("an honest legacy file built here loads (the generator is valid)", () => {
  const model = load(sharedKernelFile(1, 8, ["kernel"]));
  assert.ok(!(model instanceof Error), String(model));
});

test("weight_names listing one dataset twice is refused before anything is read", () => {
  const outcome = load(sharedKernelFile(1, 2048, ["kernel", "kernel"]));
  assert.ok(outcome instanceof KeraslessError);
  assert.equal(outcome.code, "E_HDF5");
  assert.match(outcome.message, /the weight_names of layer "d0" list one weight twice/);
});

test("one compressed dataset reached by 20 layers is inflated within the file's budget, not 20 times", () => {
  const before = process.memoryUsage().arrayBuffers;
  const bytes = sharedKernelFile(20, 2048, ["kernel"]);
  assert.ok(bytes.length < 64 * 1024);
  const outcome = load(bytes);
  assert.ok(outcome instanceof KeraslessError, "E_LIMIT expected");
  assert.equal(outcome.code, "E_LIMIT");
  assert.match(outcome.message, /inflate to more than|bytes of dataset values/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 128 * 1024 * 1024);
});
