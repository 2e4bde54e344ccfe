/**
 * Stands in for pako in the browser bundle. jsfive's sources import pako only for `inflate` (the
 * HDF5 deflate filter, a zlib stream); fflate, which kerasless already ships for .keras zips,
 * decodes the same streams, so the bundle carries one inflate implementation instead of two
 * (docs/decisions.md, "Browser bundle").
 */
import { unzlibSync } from "fflate";

export function inflate(zlibStream: Uint8Array): Uint8Array {
  return unzlibSync(zlibStream);
}
