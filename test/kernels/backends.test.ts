/**
 * Every fixture whose model has a Dense, convolution (any rank, transposed, depthwise, separable,
 * ConvLSTM) or MultiHeadAttention layer, loaded with each matrix-product backend and each convolution way
 * forced, matches Keras. (The fixtures' layers are small, so the size-based choice alone would
 * leave some ways unexercised.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convBackends, forceConvBackend } from "../../src/kernels/conv/index.js";
import { forceGemmBackend, gemmBackends } from "../../src/kernels/gemm/index.js";
import { loadModelFromBytes } from "../../src/load.js";
import { assertClose, listFixtures } from "../helpers.js";

const uses = (dir: string, pattern: RegExp): boolean => {
  try {
    return pattern.test(readFileSync(join(dir, "model.json"), "utf8"));
  } catch {
    return false;
  }
};

/** The `backend` of the model's top-level layers that report one. */
function backends(model: unknown): string[] {
  const { graph } = model as { graph: { layers: readonly { backend?: unknown }[] } };
  return graph.layers.flatMap((layer) => (typeof layer.backend === "string" ? [layer.backend] : []));
}

function matchesKeras(pattern: RegExp, force: () => void, label: string): void {
  let checked = 0;
  let reported = 0;
  for (const suite of ["keras3", "keras2"]) {
    for (const fixture of listFixtures(suite).filter((f) => uses(f.dir, pattern))) {
      const format = fixture.formats[0];
      const read = (name: string) => ({
        name: join(fixture.dir, name),
        bytes: new Uint8Array(readFileSync(join(fixture.dir, name))),
      });
      force();
      try {
        const model = loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
        reported += backends(model).filter((backend) => backend === `${label} (forced)`).length;
        fixture.chunks.forEach((chunk, c) => {
          const outputs = model.predict(chunk.inputs.map((t) => ({ shape: t.shape, data: t.data })));
          chunk.outputs.forEach((want, i) => assertClose(outputs[i], want, `${label}: ${fixture.id} #${c}.${i}`));
        });
      } finally {
        forceGemmBackend(null);
        forceConvBackend(null);
      }
      checked++;
    }
  }
  assert.ok(checked > 0, `no fixture uses ${pattern}`);
  assert.ok(reported > 0, `no layer reported running on ${label}`);
}

for (const backend of gemmBackends()) {
  test(`fixtures with Dense / attention projections match Keras on the ${backend} product`, () =>
    matchesKeras(/"(Dense|MultiHeadAttention)"/, () => forceGemmBackend(backend), backend));
}

for (const backend of convBackends()) {
  test(`fixtures with convolutions match Keras on ${backend}`, () =>
    matchesKeras(
      /"(Conv[123]D(Transpose)?|ConvLSTM[123]D|DepthwiseConv[12]D|SeparableConv[12]D)"/,
      () => forceConvBackend(backend),
      backend,
    ));
}
