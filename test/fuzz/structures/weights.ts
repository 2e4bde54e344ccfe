/**
 * Legacy .h5 model files whose weight lookup names one dataset many times: every layer's
 * "kernel" is a hard link to one compressed dataset (generator for test/format/weights-budgets.test.ts
 * and the structure-aware fuzzer).
 */
import { zlibSync } from "fflate";
import { H5Builder, VLEN_STRING, attribute, vlenRefs } from "../../io/hdf5-builder.js";

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
export function sharedKernelFile(layers: number, width: number, weightNames: string[]): Uint8Array {
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
