/**
 * A narrow, typed view of an HDF5 file, backed by jsfive (pure JavaScript, runs in any runtime;
 * see docs/decisions.md). Everything jsfive throws (sometimes plain strings) becomes an E_HDF5
 * KeraslessError naming the object path.
 */
import * as jsfive from "jsfive";
import { KeraslessError, rethrowAs } from "../errors.js";

export interface H5Dataset {
  readonly path: string;
  readonly shape: number[];
  /** The values converted to float32, row-major. */
  readFloat32(): Float32Array;
}

export class H5Group {
  readonly path: string;
  private readonly handle: jsfive.Group;
  private readonly file: string;
  private memberNames: Set<string> | undefined;
  private readonly children = new Map<string, H5Group | jsfive.Dataset>();

  constructor(group: jsfive.Group, path: string, file: string) {
    this.handle = group;
    this.path = path;
    this.file = file;
  }

  keys(): string[] {
    return [...this.members()];
  }

  has(path: string): boolean {
    return this.resolve(path) !== undefined;
  }

  isGroup(path: string): boolean {
    return this.resolve(path) instanceof H5Group;
  }

  group(path: string): H5Group {
    const child = this.require(path);
    if (!(child instanceof H5Group)) throw this.error(`"${joinPath(this.path, path)}" is a dataset, expected a group`);
    return child;
  }

  dataset(path: string): H5Dataset {
    const child = this.require(path);
    const fullPath = joinPath(this.path, path);
    if (child instanceof H5Group) throw this.error(`"${fullPath}" is a group, expected a dataset`);
    const file = this.file;
    let shape: number[];
    try {
      shape = [...child.shape];
    } catch (e) {
      rethrowAs("E_HDF5", `cannot read the shape of dataset "${fullPath}"`, e, file);
    }
    return {
      path: fullPath,
      shape,
      readFloat32(): Float32Array {
        try {
          const values = child.value;
          const out = new Float32Array(values.length);
          for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
          return out;
        } catch (e) {
          rethrowAs("E_HDF5", `cannot read dataset "${fullPath}"`, e, file);
        }
      },
    };
  }

  /** An attribute, with fixed-length strings stripped of their NUL padding; undefined if absent. */
  attr(name: string): unknown {
    let attrs: Record<string, unknown>;
    try {
      attrs = this.handle.attrs;
    } catch (e) {
      rethrowAs("E_HDF5", `cannot read the attributes of "${this.path}"`, e, this.file);
    }
    if (!Object.prototype.hasOwnProperty.call(attrs, name)) return undefined;
    return cleanStrings(attrs[name]);
  }

  /** A string-list attribute, joining the `name0`, `name1`, ... chunks Keras writes for long lists. */
  stringListAttr(name: string): string[] | undefined {
    const whole = this.attr(name);
    if (whole !== undefined) return toStringList(whole, name, this);
    const parts: string[] = [];
    for (let i = 0; this.attr(`${name}${i}`) !== undefined; i++) {
      parts.push(...toStringList(this.attr(`${name}${i}`), `${name}${i}`, this));
    }
    return parts.length > 0 ? parts : undefined;
  }

  error(problem: string): KeraslessError {
    return new KeraslessError("E_HDF5", problem, { file: this.file });
  }

  private members(): Set<string> {
    if (this.memberNames === undefined) {
      try {
        this.memberNames = new Set(this.handle.keys);
      } catch (e) {
        rethrowAs("E_HDF5", `cannot list the members of "${this.path}"`, e, this.file);
      }
    }
    return this.memberNames;
  }

  private require(path: string): H5Group | jsfive.Dataset {
    const child = this.resolve(path);
    if (child === undefined) throw this.error(`"${joinPath(this.path, path)}" is not in the file`);
    return child;
  }

  /**
   * Walks `path` one member at a time through cached child groups: jsfive would re-parse every
   * group from the root for each multi-part path, and each group's member list is read once.
   */
  private resolve(path: string): H5Group | jsfive.Dataset | undefined {
    let node: H5Group | jsfive.Dataset | undefined = this;
    for (const part of path.split("/")) {
      if (part === "") continue;
      if (!(node instanceof H5Group)) return undefined;
      node = node.child(part);
    }
    return node;
  }

  private child(name: string): H5Group | jsfive.Dataset | undefined {
    if (!this.members().has(name)) return undefined;
    let child = this.children.get(name);
    if (child === undefined) {
      let handle: jsfive.Group | jsfive.Dataset;
      try {
        handle = this.handle.get(name);
      } catch (e) {
        rethrowAs("E_HDF5", `cannot open "${joinPath(this.path, name)}"`, e, this.file);
      }
      child = handle instanceof jsfive.Group ? new H5Group(handle, joinPath(this.path, name), this.file) : handle;
      this.children.set(name, child);
    }
    return child;
  }
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/**
 * The file length the superblock declares (base address + end-of-file address), or undefined
 * when this layout is not one kerasless checks. jsfive reads truncated files without complaint.
 */
function declaredLength(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[8];
  const offsetSize = version <= 1 ? bytes[13] : bytes[9];
  if (offsetSize !== 8) return undefined;
  // v0/v1: base address at 24, end-of-file at 40 (v1 has 4 more header bytes); v2/v3: base at 12, end at 28.
  const [base, end] = version === 0 ? [24, 40] : version === 1 ? [28, 44] : version <= 3 ? [12, 28] : [-1, -1];
  if (base < 0 || end + 8 > bytes.length) return undefined;
  const read = (at: number): number => view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  return read(base) + read(end);
}

export function openHdf5(bytes: Uint8Array, file: string): H5Group {
  if (!isHdf5(bytes)) throw new KeraslessError("E_HDF5", "not an HDF5 file (bad signature)", { file });
  const length = declaredLength(bytes);
  if (length !== undefined && length > bytes.length) {
    throw new KeraslessError("E_HDF5", `the file is truncated: its header says ${length} bytes, it has ${bytes.length}`, { file });
  }
  // jsfive wants an ArrayBuffer holding exactly the file.
  const buffer =
    bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer
      : bytes.slice().buffer;
  try {
    return new H5Group(new jsfive.File(buffer, file), "/", file);
  } catch (e) {
    rethrowAs("E_HDF5", "cannot open the HDF5 file", e, file);
  }
}

function joinPath(parent: string, name: string): string {
  return parent.endsWith("/") ? parent + name : `${parent}/${name}`;
}

function cleanStrings(value: unknown): unknown {
  if (typeof value === "string") return value.replace(/\0+$/, "");
  if (value instanceof Uint8Array) return new TextDecoder().decode(value).replace(/\0+$/, "");
  if (Array.isArray(value)) return value.map(cleanStrings);
  return value;
}

function toStringList(value: unknown, name: string, where: H5Group): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (!list.every((v) => typeof v === "string")) {
    throw where.error(`attribute "${name}" of "${where.path}" is not a list of strings`);
  }
  return list as string[];
}
