/**
 * Valid but unusual filter pipelines written by h5py through HDF5's own property lists
 * (tools/fixtures/hdf5_pipelines.py): deflate applied twice, after shuffle or before fletcher32.
 * The inner deflate's output can be larger than a chunk; values must equal numpy's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { openHdf5 } from "../../src/io/hdf5/index.js";
import { FIXTURES } from "../helpers.js";

interface Expected {
  filters: number[];
  shape: number[];
  data: number[];
}

const dir = `${FIXTURES}hdf5/`;
const expected = JSON.parse(readFileSync(`${dir}pipelines.json`, "utf8")) as Record<string, Expected>;
const file = openHdf5(new Uint8Array(readFileSync(`${dir}pipelines.h5`)), "pipelines.h5");

for (const [name, want] of Object.entries(expected)) {
  test(`pipelines.h5: ${name} (filters ${want.filters.join(", ")}) equals numpy's values`, () => {
    const dataset = file.dataset(name);
    assert.deepEqual(dataset.shape, want.shape);
    assert.deepEqual(Array.from(dataset.readFloat32()), want.data.map(Math.fround));
  });
}
