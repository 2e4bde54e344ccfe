/**
 * ConvLSTM1D, ConvLSTM2D, ConvLSTM3D: the fixture cases against Keras (the LRCN and next-frame
 * patterns with them), on the plain TypeScript kernels too, streaming step by step, and load-time
 * checks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModelFromBytes } from "../../src/load.js";
import { kernelPath, setKernelPath } from "../../src/kernels/wasm.js";
import { Tensor } from "../../src/tensor.js";
import { assertClose, listFixtures, matchesKeras, type Fixture, type FixtureTensor } from "../helpers.js";
import { layerNamed, loadEdited, rejects } from "./edited-fixture.js";

// The fixture cases of this family, against Keras.
matchesKeras([
  "convlstm2d_variants",
  "convlstm1d_3d",
  "convlstm_channels_first",
  "convlstm_initial_state",
  "convlstm_masking",
  "convlstm_masking_frames",
  "convlstm_stateful",
  "convlstm_bidirectional",
  "lrcn_time_distributed",
  "convlstm_next_frame",
]);

const fixtures = (name: string): Fixture[] => ["keras3", "keras2"].flatMap((suite) => listFixtures(`${suite}/${name}`));

function load(fixture: Fixture) {
  const format = fixture.formats[0];
  const read = (file: string) => ({ name: file, bytes: new Uint8Array(readFileSync(join(fixture.dir, file))) });
  return loadModelFromBytes(read(format.model), format.weights ? read(format.weights) : undefined);
}

const usesConvLstm = (fixture: Fixture): boolean =>
  /"ConvLSTM[123]D"/.test(readFileSync(join(fixture.dir, "model.json"), "utf8"));

test("every ConvLSTM fixture matches Keras on the plain TypeScript kernels too", () => {
  const selected = kernelPath();
  try {
    setKernelPath("js");
    const cases = [...listFixtures("keras3"), ...listFixtures("keras2")].filter(usesConvLstm);
    assert.ok(cases.length >= 14, `only ${cases.length} fixtures use ConvLSTM`);
    for (const fixture of cases) {
      const model = load(fixture);
      fixture.chunks.forEach((chunk, c) => {
        const outputs = model.predict(chunk.inputs.map((t) => ({ shape: t.shape, data: t.data })));
        chunk.outputs.forEach((want, i) => assertClose(outputs[i], want, `js: ${fixture.id} #${c}.${i}`));
      });
    }
  } finally {
    setKernelPath(selected);
  }
});

/** Step t of x [batch, time, ...] as [batch, ...]. */
function stepOf(x: FixtureTensor, t: number): Tensor {
  const [batch, time, ...rest] = x.shape;
  const inner = rest.reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * inner);
  for (let b = 0; b < batch; b++)
    for (let j = 0; j < inner; j++) data[b * inner + j] = x.data[(b * time + t) * inner + j];
  return new Tensor([batch, ...rest], data);
}

test("streaming ConvLSTM models step by step gives predict's sequence (masks and stateful chunks too)", () => {
  for (const fixture of [
    "convlstm_masking",
    "convlstm_masking_frames",
    "convlstm_stateful",
    "lrcn_time_distributed",
  ].flatMap(fixtures)) {
    const model = load(fixture);
    const stream = model.stream();
    fixture.chunks.forEach((chunk, c) => {
      const time = chunk.inputs[0].shape[1];
      for (let t = 0; t < time; t++) {
        const outputs = stream.step(chunk.inputs.map((x) => stepOf(x, t)));
        chunk.outputs.forEach((want, k) => {
          // A sequence output streams one step: Keras' output without its time axis.
          const sequence = outputs[k].rank === want.shape.length - 1;
          const what = `${fixture.id} chunk ${c} step ${t} output ${k}`;
          if (sequence) {
            const step = stepOf(want, t);
            assertClose(outputs[k], { ...want, shape: [...step.shape], data: Array.from(step.data) }, what);
          } else if (t === time - 1) assertClose(outputs[k], want, what);
        });
      }
    });
  }
});

test("a ConvLSTM reading its sequence backwards is refused by stream(), naming it", () => {
  const [fixture] = fixtures("convlstm2d_variants");
  rejects(
    () => load(fixture).stream(),
    "E_UNSUPPORTED",
    /layer "dilated_backwards" \(ConvLSTM2D\) reads the sequence from its end/,
  );
});

test("ConvLSTM options Keras refuses, and shapes that do not fit, are named at load time", () => {
  rejects(
    () =>
      loadEdited("convlstm2d_variants", (layers) => {
        layerNamed(layers, "valid").config.padding = "causal";
        layerNamed(layers, "strides_relu").config.dilation_rate = [2, 2];
      }),
    "E_UNSUPPORTED",
    new RegExp(
      String.raw`layer "valid" \(ConvLSTM2D\): padding="causal" is not supported[\s\S]*` +
        String.raw`layer "strides_relu" \(ConvLSTM2D\): strides > 1 together with dilation_rate > 1`,
    ),
  );
  rejects(
    () => loadEdited("convlstm2d_variants", (layers) => void (layerNamed(layers, "valid").config.kernel_size = [6, 3])),
    "E_INPUT_SHAPE",
    /layer "valid" \(ConvLSTM2D\): an input of 5 on spatial axis 0 is smaller than the kernel's span/,
  );
  rejects(
    () =>
      loadEdited("convlstm_initial_state", (layers) => {
        const input = layerNamed(layers, "h0").config;
        input.batch_shape = [null, 3, 3, 3];
      }),
    "E_CONFIG",
    /\(ConvLSTM2D\): initial state of shape \[None, 3, 3, 3\] does not match the state shape \[None, 3, 2, 3\]/,
  );
});

test("the ConvLSTM weights are Keras' (kernel, recurrent_kernel, bias) and the plan names its convolutions", () => {
  const [fixture] = fixtures("convlstm_next_frame");
  const model = load(fixture);
  const shapes = model.getWeights().map((w) => [...w.shape]);
  assert.deepEqual(shapes.slice(0, 3), [[3, 3, 1, 16], [3, 3, 4, 16], [16]]);
  const plan = model.kernelPlans().find((p) => p.layer === "convlstm_1");
  assert.ok(plan !== undefined);
  assert.match(plan.why.join("; "), /input convolution: .+; recurrent convolution: /);
});

test("a mask per position that does not fit the states is refused, naming the layer (Keras fails too)", () => {
  const [fixture] = listFixtures("keras3/convlstm_masking_frames");
  const model = loadEdited(
    "convlstm_masking_frames",
    (layers) => void (layerNamed(layers, "convlstm_1").config.padding = "valid"),
  );
  rejects(
    () => model.predict(fixture.inputs.map((t) => ({ shape: t.shape, data: t.data }))),
    "E_UNSUPPORTED",
    /layer "convlstm_1" \(ConvLSTM2D\): gets a mask of shape \[4, 5, 4, 3\]; masks are per step/,
  );
});
