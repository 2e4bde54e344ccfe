/**
 * HDF5 layouts written by h5py 3.14 / HDF5 1.14.6 (tools/fixtures/hdf5_layouts.py): chunked,
 * compressed, checksummed, compact, big-endian, float16/64, integer data; string and number
 * attributes; hard and soft links; the 1.8+ "latest" format. Values must equal numpy's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { KeraslessError } from "../../src/errors.js";
import { openHdf5 } from "../../src/io/hdf5/index.js";
import { FIXTURES } from "../helpers.js";

interface Expected {
  datasets?: Record<string, { shape: number[]; data: number[] }>;
  attributes?: Record<string, Record<string, unknown>>;
  unsupported?: string;
}

const dir = `${FIXTURES}hdf5/`;
const expected = JSON.parse(readFileSync(`${dir}expected.json`, "utf8")) as Record<string, Expected>;

for (const [name, want] of Object.entries(expected)) {
  const file = openHdf5(new Uint8Array(readFileSync(`${dir}${name}`)), name);
  for (const [path, dataset] of Object.entries(want.datasets ?? {})) {
    test(`${name}: dataset ${path} equals numpy's values`, () => {
      const d = file.dataset(path);
      assert.deepEqual(d.shape, dataset.shape);
      assert.deepEqual([...d.readFloat32()], dataset.data.map(Math.fround));
    });
  }
  for (const [path, attributes] of Object.entries(want.attributes ?? {})) {
    test(`${name}: attributes of ${path} equal h5py's`, () => {
      const group = file.group(path);
      for (const [attr, value] of Object.entries(attributes)) assert.deepEqual(group.attr(attr), value, attr);
    });
  }
  if (want.unsupported !== undefined) {
    test(`${name}: dense link storage is reported as unsupported, with the group's name`, () => {
      assert.throws(
        () => file.group(want.unsupported!).keys(),
        (e: unknown) =>
          e instanceof KeraslessError &&
          e.code === "E_UNSUPPORTED" &&
          /group "\/many": its links are in dense storage/.test(e.message),
      );
    });
  }
}
