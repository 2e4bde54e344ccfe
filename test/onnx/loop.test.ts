/** ONNX Loop on hand-made graphs: the spec's modes, outer-scope values, aliasing, nesting, limits. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadModelFromBytes } from "../../src/load.js";
import "../../src/onnx/index.js";
import { rejects } from "../helpers.js";
import {
  growingModel,
  nestedModel,
  recurrenceModel,
  recurrenceReference,
  refusedModel,
  swapModel,
  whileModel,
} from "./loop-models.js";

const load = (b: Uint8Array) => loadModelFromBytes({ name: "loop.onnx", bytes: b });

function close(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 + 1e-5 * Math.abs(want[i]), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

test("a time-step recurrence: M from the input's shape, outer values, scan outputs stacked on axis 0", () => {
  const model = load(recurrenceModel());
  for (const time of [5, 1, 0]) {
    const x = Array.from({ length: time * 3 }, (_, i) => Math.sin(i + 1));
    const [h, ys] = model.predict({ shape: [time, 3], data: x });
    const want = recurrenceReference(x, time);
    assert.deepEqual(h.shape, [3]);
    assert.deepEqual(ys.shape, [time, 3]);
    close(h.data, want.h, `h (T=${time})`);
    close(ys.data, want.ys, `ys (T=${time})`);
  }
});

test("a while loop ends on its condition, whatever M claims; integer scan outputs", () => {
  const [acc, is] = load(whileModel(4)).predict({ shape: [1], data: [10] });
  assert.deepEqual([...acc.data], [16]);
  assert.deepEqual(is.shape, [4]);
  assert.deepEqual([...is.data], [0, 1, 2, 3]);
  // The trip count stops it first.
  const [acc2, is2] = load(whileModel(100, 3)).predict({ shape: [1], data: [0] });
  assert.deepEqual([...acc2.data], [3]);
  assert.deepEqual([...is2.data], [0, 1, 2]);
});

test("carried outputs that are the body's inputs, swapped: no input overwritten before it is read", () => {
  for (const [trips, swapped] of [
    [3, true],
    [2, false],
    [0, false],
  ] as const) {
    const [p, q] = load(swapModel(trips)).predict([
      { shape: [2], data: [1, 2] },
      { shape: [2], data: [3, 4] },
    ]);
    assert.deepEqual([...p.data], swapped ? [3, 4] : [1, 2], `M=${trips}`);
    assert.deepEqual([...q.data], swapped ? [1, 2] : [3, 4], `M=${trips}`);
  }
});

test("a carried value that changes shape is refused when the call binds the body", () => {
  // Bound nodes read fixed buffers: values keep their shapes through a loop (as in every exporter's RNN loop).
  rejects(() => load(growingModel(3)).predict({ shape: [1], data: [7] }), "E_INPUT_SHAPE", /shape \[1\] became \[2\]/);
});

test("nested loops: the innermost body reads the outermost graph's input", () => {
  const model = load(nestedModel(3, 3));
  const [s] = model.predict({ shape: [1], data: [0.5] });
  assert.deepEqual([...s.data], [13.5]);
  // The summary lists the bodies' nodes under their Loop.
  const names = model.summaryData().rows.map((r) => `${r.name} ${r.className}`);
  assert.deepEqual(names, [
    "loop3 Loop",
    "loop3/c_out Identity",
    "loop3/loop2 Loop",
    "loop3/loop2/c_out Identity",
    "loop3/loop2/loop1 Loop",
    "loop3/loop2/loop1/c_out Identity",
    "loop3/loop2/loop1/s_out Add",
  ]);
});

test("unsupported ops in a body, and a loop that never ends, are reported at load in one error", () => {
  rejects(
    () => load(refusedModel()),
    "E_UNSUPPORTED",
    /node "with_foo\/foo_node" \(Foo\): op not supported; node "endless" \(Loop\): no trip count nor condition/,
  );
});

test("loops that would run for ever end in E_LIMIT: one huge M, nested huge Ms", () => {
  rejects(
    () => load(nestedModel(1, 2 ** 40)).predict({ shape: [1], data: [0] }),
    "E_LIMIT",
    /over 16777216 loop node runs/,
  );
  rejects(
    () => load(nestedModel(4, 2 ** 40)).predict({ shape: [1], data: [0] }),
    "E_LIMIT",
    /over 16777216 loop node runs/,
  );
});
