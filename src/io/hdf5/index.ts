/**
 * A bounds-checked reader for the part of HDF5 that Keras and h5py write: superblock v0-v3,
 * object headers v1/v2 with continuations, old-style groups (symbol tables) and compact link
 * messages, soft links, numeric and string datatypes, contiguous/compact/chunked storage with the
 * deflate, shuffle and fletcher32 filters. Every address, size and count a file states is checked
 * against the bytes present before anything is read or allocated; structures that can point back
 * at themselves (B-trees, object header continuations, links) are followed at most once.
 * One file per section of the HDF5 specification; every read of the file's bytes goes through
 * reader.ts. Decisions and measurements: docs/decisions.md ("HDF5 reader").
 */
import { KeraslessError, type ErrorCode } from "../../errors.js";
import { attributeValue, attributes } from "./attributes.js";
import { readDataset } from "./datasets.js";
import { dataspace } from "./datatypes.js";
import { groupLinks, type Link } from "./links.js";
import { MSG_DATASPACE, objectHeader, requireMessage, type ObjectHeader } from "./object-header.js";
import { Hdf5Reader } from "./reader.js";
import { isHdf5, readSuperblock } from "./superblock.js";

export { isHdf5 };

export interface H5Dataset {
  readonly path: string;
  readonly shape: number[];
  /** The values converted to float32, row-major. */
  readFloat32(): Float32Array;
}

export interface Hdf5Limits {
  /** Most bytes the chunks of the file's datasets may inflate to, all together. */
  maxDecompressedBytes: number;
}

/** What every group of one open file shares: its reader (caches and budgets) and its root group. */
interface OpenFile {
  readonly reader: Hdf5Reader;
  readonly limits: Hdf5Limits;
  root: H5Group | undefined;
}

/** Opens an HDF5 file held in memory; `file` names it in errors. */
export function openHdf5(bytes: Uint8Array, file: string, limits?: Hdf5Limits): H5Group {
  if (!isHdf5(bytes)) throw new KeraslessError("E_HDF5", "not an HDF5 file (bad signature)", { file });
  const effective = limits ?? { maxDecompressedBytes: Math.max(16 * 1024 * 1024, 20 * bytes.length) };
  const reader = new Hdf5Reader(bytes, file, effective.maxDecompressedBytes);
  const rootAddress = readSuperblock(reader);
  const open: OpenFile = { reader, limits: effective, root: undefined };
  open.root = new H5Group(open, rootAddress, "/", []);
  return open.root;
}

const MAX_SOFT_LINK_HOPS = 16;

/** A group: its members (by name) and attributes. Paths may have several parts ("a/b/c"). */
export class H5Group {
  readonly path: string;
  private readonly open: OpenFile;
  private readonly address: number;
  /** Object header addresses from the root down to this group's parent (link cycle detection). */
  private readonly ancestors: readonly number[];
  private memberList: ReadonlyMap<string, Link> | undefined;
  private readonly children = new Map<string, H5Group | DatasetNode>();

  /** @internal */
  constructor(open: OpenFile, address: number, path: string, ancestors: readonly number[]) {
    this.open = open;
    this.address = address;
    this.path = path;
    this.ancestors = ancestors;
  }

  keys(): string[] {
    return Array.from(this.members().keys());
  }

  /** How many members the group has (without listing them). */
  memberCount(): number {
    return this.members().size;
  }

  has(path: string): boolean {
    return this.resolve(path) !== undefined;
  }

  isGroup(path: string): boolean {
    return this.resolve(path) instanceof H5Group;
  }

  group(path: string): H5Group {
    const child = this.resolveOrFail(path);
    if (!(child instanceof H5Group)) throw this.error(`"${joinPath(this.path, path)}" is a dataset, expected a group`);
    return child;
  }

  dataset(path: string): H5Dataset {
    const child = this.resolveOrFail(path);
    if (child instanceof H5Group) throw this.error(`"${joinPath(this.path, path)}" is a group, expected a dataset`);
    return child;
  }

  /** The names of this group's attributes. */
  attributeNames(): string[] {
    return Array.from(attributes(this.open.reader, this.header(), this.path).keys());
  }

  /** An attribute's value (strings stripped of their padding, scalars unwrapped); undefined if absent. */
  attr(name: string): unknown {
    const attribute = attributes(this.open.reader, this.header(), this.path).get(name);
    return attribute === undefined ? undefined : attributeValue(this.open.reader, attribute, name, this.path);
  }

  /** A string-list attribute, joining the `name0`, `name1`, ... chunks Keras writes for long lists. */
  stringListAttr(name: string): readonly string[] | undefined {
    const whole = this.attr(name);
    if (whole !== undefined) return this.toStringList(whole, name);
    const parts: string[] = [];
    for (let i = 0; ; i++) {
      const part = this.attr(`${name}${i}`);
      if (part === undefined) break;
      // A loop, not push(...list): a list of 200k names would overflow the stack as arguments.
      for (const item of this.toStringList(part, `${name}${i}`)) parts.push(item);
    }
    return parts.length > 0 ? parts : undefined;
  }

  error(problem: string, code: ErrorCode = "E_HDF5"): KeraslessError {
    return this.open.reader.error(code, problem);
  }

  private header(): ObjectHeader {
    return objectHeader(this.open.reader, this.address, this.path);
  }

  private toStringList(value: unknown, name: string): readonly string[] {
    const list: readonly unknown[] = Array.isArray(value) ? value : [value];
    if (!list.every((v) => typeof v === "string"))
      throw this.error(`attribute "${name}" of "${this.path}" is not a list of strings`);
    return list as readonly string[];
  }

  private members(): ReadonlyMap<string, Link> {
    this.memberList ??= groupLinks(this.open.reader, this.header(), this.path);
    return this.memberList;
  }

  private resolveOrFail(path: string): H5Group | DatasetNode {
    const child = this.resolve(path);
    if (child === undefined) throw this.error(`"${joinPath(this.path, path)}" is not in the file`);
    return child;
  }

  /** Walks `path` one member at a time, through cached children. */
  private resolve(path: string, hops = 0): H5Group | DatasetNode | undefined {
    let node: H5Group | DatasetNode | undefined = path.startsWith("/") ? this.root() : this;
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (!(node instanceof H5Group)) return undefined;
      node = node.child(part, hops);
    }
    return node;
  }

  /** The one root group of the file, whose members are read once however many links lead to it. */
  private root(): H5Group {
    return this.open.root ?? this;
  }

  private child(name: string, hops: number): H5Group | DatasetNode | undefined {
    const cached = this.children.get(name);
    if (cached !== undefined) return cached;
    const link = this.members().get(name);
    if (link === undefined) return undefined;
    const path = joinPath(this.path, name);
    let child: H5Group | DatasetNode | undefined;
    if (link.kind === "soft") {
      // A soft link names a path, absolute or relative to this group; links to links are followed a few times.
      if (hops >= MAX_SOFT_LINK_HOPS)
        throw this.error(
          `soft link "${path}" -> "${link.target}": more than ${MAX_SOFT_LINK_HOPS} soft links ` +
            `in a row (a link cycle?)`,
        );
      child = this.resolve(link.target, hops + 1);
      if (child === undefined)
        throw this.error(`soft link "${path}" points to "${link.target}", which is not in the file`);
      if (child instanceof H5Group && (child.address === this.address || this.ancestors.includes(child.address))) {
        throw this.error(`link cycle: soft link "${path}" -> "${link.target}" points back to its own ancestor group`);
      }
    } else if (link.kind === "unsupported") {
      throw this.error(`"${path}" is ${link.why}, which kerasless does not read`, "E_UNSUPPORTED");
    } else {
      const lineage = [...this.ancestors, this.address];
      if (lineage.includes(link.address))
        throw this.error(
          `link cycle: "${path}" points back to its own ancestor group (object header at byte ${link.address})`,
        );
      const header = objectHeader(this.open.reader, link.address, path);
      child = header.messages.some((m) => m.type === MSG_DATASPACE)
        ? new DatasetNode(this.open, header, path)
        : new H5Group(this.open, link.address, path, lineage);
    }
    this.children.set(name, child);
    return child;
  }
}

class DatasetNode implements H5Dataset {
  readonly path: string;
  readonly shape: number[];
  private readonly open: OpenFile;
  private readonly header: ObjectHeader;

  constructor(open: OpenFile, header: ObjectHeader, path: string) {
    this.open = open;
    this.header = header;
    this.path = path;
    const space = dataspace(open.reader, requireMessage(open.reader, header, MSG_DATASPACE, path), path);
    this.shape = space ?? [];
  }

  readFloat32(): Float32Array {
    return readDataset(this.open.reader, this.header, this.shape, this.path, this.open.limits.maxDecompressedBytes);
  }
}

function joinPath(parent: string, name: string): string {
  return parent.endsWith("/") ? parent + name : `${parent}/${name}`;
}
