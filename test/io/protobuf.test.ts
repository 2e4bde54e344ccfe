import assert from "node:assert/strict";
import { test } from "node:test";
import { KeraslessError } from "../../src/errors.js";
import { ProtoReader, WIRE_BYTES, WIRE_VARINT } from "../../src/io/protobuf.js";

// Field 1 varint 150, field 2 fixed64, field 3 bytes "abc", field 4 fixed32, field 5 varint 7.
const message = Uint8Array.from([
  0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 3, 0x61, 0x62, 0x63, 0x25, 1, 2, 3, 4, 0x28, 0x07,
]);

test("fields() skips every field the decoder does not read, of each wire type", () => {
  const r = ProtoReader.of(message, "m.onnx");
  const seen: [number, number][] = [];
  let last = -1;
  r.fields((field, wire) => {
    seen.push([field, wire]);
    if (field === 5) last = r.int64();
  });
  assert.deepEqual(seen, [
    [1, 0],
    [2, 1],
    [3, 2],
    [4, 5],
    [5, 0],
  ]);
  assert.equal(last, 7);
  assert.ok(r.done);
});

test("fields() does not skip a field the decoder read", () => {
  const r = ProtoReader.of(message, "m.onnx");
  const read: (number | string)[] = [];
  r.fields((field, wire) => {
    if (wire === WIRE_VARINT) read.push(r.int64());
    else if (field === 3 && wire === WIRE_BYTES) read.push(r.string());
  });
  assert.deepEqual(read, [150, "abc", 7]);
});

test("fields() refuses an unknown wire type and a field running past the end", () => {
  const refused = (bytes: number[], problem: RegExp): void =>
    assert.throws(
      () => ProtoReader.of(Uint8Array.from(bytes), "m.onnx").fields(() => {}),
      (e: unknown) => e instanceof KeraslessError && e.code === "E_FORMAT" && problem.test(e.message),
    );
  refused([0x0b, 0x00], /unknown wire type 3/);
  refused([0x1a, 5, 0x61], /runs past the end/);
  refused([0x21, 1, 2, 3], /runs past the end/);
  refused([0x00], /field key 0/);
});
