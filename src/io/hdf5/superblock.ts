/** The superblock (HDF5 specification, section II.A): format version, address sizes, root group. */
import { KeraslessError } from "../../errors.js";
import { UNDEFINED, type Hdf5Reader } from "./reader.js";

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Reads the superblock at the start of the file, sets the reader's base address; returns the root group's address. */
export function readSuperblock(r: Hdf5Reader): number {
  r.need(0, 16, "the superblock");
  const version = r.u8(8);
  let offsetSize: number;
  let lengthSize: number;
  let fields: number;
  if (version === 0 || version === 1) {
    offsetSize = r.u8(13);
    lengthSize = r.u8(14);
    fields = version === 0 ? 24 : 28;
  } else if (version === 2 || version === 3) {
    offsetSize = r.u8(9);
    lengthSize = r.u8(10);
    fields = 12;
  } else {
    throw r.fail("E_UNSUPPORTED", 8, `superblock version ${version} (kerasless reads versions 0 to 3)`);
  }
  if (offsetSize !== 8 || lengthSize !== 8) {
    throw r.fail(
      "E_UNSUPPORTED",
      13,
      `${offsetSize}-byte addresses and ${lengthSize}-byte lengths (kerasless reads files with ` +
        `8-byte ones, as h5py writes)`,
    );
  }
  const base = r.address(fields, "the base address");
  const endOfFile = r.address(fields + 16, "the end-of-file address");
  if (base === UNDEFINED || endOfFile === UNDEFINED)
    throw r.fail("E_HDF5", fields, "the superblock has no base or end-of-file address");
  r.base = base;
  // jsfive-era lesson: a truncated file parses into a partial tree unless its length is checked.
  if (base + endOfFile > r.bytes.length) {
    throw new KeraslessError(
      "E_HDF5",
      `the file is truncated: its header says ${base + endOfFile} bytes, it has ${r.bytes.length}`,
      { file: r.file },
    );
  }
  // v0/v1: the root group's symbol table entry follows the four addresses; its second field is the object header.
  const root =
    version <= 1
      ? r.address(fields + 32 + 8, "the root group address")
      : r.address(fields + 24, "the root group address");
  if (root === UNDEFINED) throw r.fail("E_HDF5", fields, "the superblock has no root group");
  return root;
}
